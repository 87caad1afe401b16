# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every state the engine can hold (each role absent, or in either slot, running / stopped /
created, of the desired or another version), every phase, executed on the fake engine:
each phase reaches its goal and is idempotent; a full swap killed after any step converges
when run again, and so does a rollback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import build_spec
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import Runner

from fake_engine import FakeClient, fake_wait_ready
from hotswap_helpers import SERVICE, desired, engine_with, params, state_of

A, C, P = hs.ACTIVE, hs.CANDIDATE, hs.PREVIOUS
SPEC = build_spec(params())
WANT = desired(SPEC)
READINESS = params()['readiness']


def options(statuses):
    return [None] + [(slot, status, match) for slot in hs.SLOTS for status in statuses
                     for match in (True, False)]


def all_states():
    for a, c, p in itertools.product(options(('running', 'exited')),
                                     options(('running', 'exited', 'created')),
                                     options(('running', 'exited'))):
        yield dict((role, v) for role, v in ((A, a), (C, c), (P, p)) if v is not None)


STATES = list(all_states())


def run(api, phase, keep=False, steps=None):
    """Plan from what the engine holds and execute it (or only its first ``steps`` steps)."""
    state = state_of(api)
    plan = hs.plan_phase(state, WANT if phase != hs.ROLLED_BACK else None, phase, keep_previous=keep)
    if steps is not None:
        plan = hs.Plan(plan.phase, plan.steps[:steps], plan.slot)
    client = FakeClient(api)
    runner = Runner(DockerEngine(client), SERVICE, SPEC, WANT, READINESS, docker=client,
                    wait_ready=fake_wait_ready(api), clock=lambda: 0.0, sleep=lambda s: None)
    runner.run(plan, state)
    return plan


def replan(api, phase, keep=False):
    return hs.plan_phase(state_of(api), WANT if phase != hs.ROLLED_BACK else None, phase, keep_previous=keep)


def assert_swapped(api, keep):
    state = state_of(api)
    assert WANT.matches(state.active) and state.active.running
    assert state.candidate is None
    assert state.previous is None or not state.previous.running
    assert not replan(api, hs.PRESENT, keep).changes


def test_the_table_of_states_is_complete():
    assert len(STATES) == 9 * 13 * 9


@pytest.mark.parametrize('keep', [False, True])
def test_full_swap_converges_from_every_state(keep):
    for found in STATES:
        api = engine_with(found, WANT)
        run(api, hs.PRESENT, keep)
        assert_swapped(api, keep)
        # and a second run is a no-op
        before = len(api.mutations())
        run(api, hs.PRESENT, keep)
        assert len(api.mutations()) == before, found


def test_full_swap_killed_after_any_step_converges_when_run_again():
    for found in STATES:
        total = len(replan(engine_with(found, WANT), hs.PRESENT).steps)
        for k in range(total):
            api = engine_with(found, WANT)
            run(api, hs.PRESENT, steps=k)
            run(api, hs.PRESENT)
            assert_swapped(api, False)


def test_rollback_after_a_swap_killed_at_any_step_converges():
    for found in STATES:
        total = len(replan(engine_with(found, WANT), hs.PRESENT, True).steps)
        for k in range(total):
            api = engine_with(found, WANT)
            run(api, hs.PRESENT, keep=True, steps=k)
            run(api, hs.ROLLED_BACK)
            state = state_of(api)
            assert state.candidate is None
            assert not replan(api, hs.ROLLED_BACK).changes


def test_stage_leaves_the_active_container_untouched():
    for found in STATES:
        api = engine_with(found, WANT)
        before = state_of(api)
        run(api, hs.STAGED)
        after = state_of(api)
        if before.active is not None:
            assert after.active.id == before.active.id and after.active.status == before.active.status
        if WANT.matches(before.active) and before.active.running:
            assert after.candidate is None
        else:
            assert WANT.matches(after.candidate) and after.candidate.running
        assert not replan(api, hs.STAGED).changes


def test_promote_after_stage_equals_a_full_swap():
    for found in STATES:
        api = engine_with(found, WANT)
        run(api, hs.STAGED)
        run(api, hs.PROMOTED)
        assert_swapped(api, False)
        assert not replan(api, hs.PROMOTED).changes


def test_promote_either_works_or_changes_nothing():
    for found in STATES:
        api = engine_with(found, WANT)
        try:
            run(api, hs.PROMOTED)
        except hs.PlanError:
            assert api.mutations() == []
            continue
        state = state_of(api)
        assert state.candidate is None and state.active is not None
        assert not replan(api, hs.PROMOTED).changes


@pytest.mark.parametrize('keep_previous', [None, True, False])
def test_rollback_from_every_state_is_idempotent(keep_previous):
    for found in STATES:
        api = engine_with(found, WANT)
        before = state_of(api)
        run(api, hs.ROLLED_BACK, keep=keep_previous)
        after = state_of(api)
        assert after.candidate is None
        if before.candidate is not None:
            keep = before.active or before.previous
            assert after.active is None if keep is None else after.active.id == keep.id
        elif (before.previous is not None and before.active is not None and not before.previous.running
              and keep_previous is False):
            # a stopped previous that keep_previous=false meant to remove: removed, not restored
            assert after.active.id == before.active.id and after.previous is None
        elif before.previous is not None:
            assert after.active.id == before.previous.id and after.active.running
        assert not replan(api, hs.ROLLED_BACK, keep=keep_previous).changes


def test_absent_removes_everything():
    for found in STATES:
        api = engine_with(found, WANT)
        run(api, hs.ABSENT)
        assert state_of(api).empty
