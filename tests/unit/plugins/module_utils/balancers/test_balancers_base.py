# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNKNOWN, UP,
    Backend, BalancerAdapter, BalancerInputError, BalancerResponseError, Change, GuardError, Member,
    NotFoundError, Request, make_plan, ordered, parse_number, ramp_weights,
)


class Adapter(BalancerAdapter):
    kind = 'fake'

    def describe(self):
        return 'the fake balancer'


class FoldingAdapter(Adapter):
    """Like nginx: one out-of-rotation state."""

    weight_range = (1, 100)

    def effective_state(self, state):
        return ENABLED if state == ENABLED else DISABLED


def up(name, weight=1, state=ENABLED):
    return Member(name, state, weight=weight, health=UP, serving=state == ENABLED)


def down(name, state=ENABLED):
    return Member(name, state, weight=1, health=DOWN, serving=False)


def backend(*members):
    return Backend('app', members, 'the fake balancer')


# ---------------------------------------------------------------- parse_number

@pytest.mark.parametrize('text, expected', [
    ('0', 0), ('17', 17), (' 5 ', 5), ('5.00', 5), ('2.50', 2.5), ('-200', -200),
])
def test_parse_number(text, expected):
    value = parse_number(text, 'Busy', 'here')
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize('text', ['', 'abc', '1,5', 'nan', 'inf', None])
def test_parse_number_rejects(text):
    with pytest.raises(BalancerResponseError, match="expected a number for Busy"):
        parse_number(text, 'Busy', 'here')


# ---------------------------------------------------------------- ramp

@pytest.mark.parametrize('target, steps, expected', [
    (100, [10, 25, 50, 100], [10, 25, 50, 100]),
    (4, [10, 25, 50, 100], [1, 2, 4]),
    (1, [10, 25, 50, 100], [1]),
    (200, [10, 50], [20, 100, 200]),
    (10, [100], [10]),
    (10, [150, 50], [10, 5, 10]),
])
def test_ramp_weights(target, steps, expected):
    assert ramp_weights(target, steps) == expected


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=256), st.lists(st.integers(min_value=0, max_value=200), max_size=8))
def test_ramp_weights_properties(target, steps):
    weights = ramp_weights(target, steps)
    assert weights[-1] == target
    assert all(1 <= w <= target for w in weights)
    assert all(a != b for a, b in zip(weights, weights[1:]))


# ---------------------------------------------------------------- plan

def test_plan_without_difference_changes_nothing():
    plan = make_plan(Adapter(), backend(up('a'), up('b')), [Request('a', ENABLED)])
    assert plan.changes == [] and not plan.changed
    assert plan.targets == {'a': {'state': ENABLED, 'weight': 1}}


def test_plan_drain_and_weight():
    plan = make_plan(Adapter(), backend(up('a'), up('b')), [Request('a', DRAINED, 5)])
    assert plan.changes == [Change('a', DRAINED, 5)]
    assert plan.leaving == ['a']
    assert plan.predicted_after('a')['state'] == DRAINED
    assert plan.predicted_after('a')['weight'] == 5


def test_plan_weight_only_when_different():
    plan = make_plan(Adapter(), backend(up('a', weight=5), up('b')), [Request('a', ENABLED, 5)])
    assert not plan.changed


def test_ordered_puts_members_entering_rotation_first():
    changes = [Change('old', DRAINED), Change('w', weight=3), Change('new', ENABLED), Change('x', DISABLED)]
    assert [c.name for c in ordered(changes)] == ['w', 'new', 'old', 'x']


def test_cutover_plan_enables_first_and_passes_the_guard():
    members = backend(up('blue'), up('green', state=DRAINED))
    plan = make_plan(Adapter(), members, [Request('blue', DRAINED), Request('green', ENABLED)])
    assert plan.changes == [Change('green', ENABLED), Change('blue', DRAINED)]


def test_guard_refuses_last_serving_member_and_names_backend_and_members():
    with pytest.raises(GuardError) as info:
        make_plan(Adapter(), backend(up('a'), down('b'), up('c', state=DISABLED)), [Request('a', DRAINED)])
    msg = str(info.value)
    assert "Refusing to take 'a' out of rotation in backend 'app'" in msg
    assert 'fewer than min_active=1' in msg
    assert 'b (enabled, not serving: down)' in msg
    assert 'c (disabled)' in msg
    assert msg.endswith('Nothing was changed.')


def test_guard_force_and_min_active():
    members = backend(up('a'), up('b'), up('c'))
    plan = make_plan(Adapter(), members, [Request('a', DISABLED)], min_active=2)
    assert plan.leaving == ['a']
    with pytest.raises(GuardError, match='fewer than min_active=3'):
        make_plan(Adapter(), members, [Request('a', DISABLED)], min_active=3)
    assert make_plan(Adapter(), members, [Request('a', DISABLED)], min_active=3, force=True).changed


def test_guard_refuses_cutover_to_a_member_known_down():
    members = backend(up('blue'), down('green', state=DRAINED))
    with pytest.raises(GuardError, match="'blue'"):
        make_plan(Adapter(), members, [Request('green', ENABLED), Request('blue', DRAINED)])


def test_guard_counts_entering_member_of_unknown_health():
    paused = Member('green', DISABLED, weight=1, health=UNKNOWN, serving=False)
    plan = make_plan(Adapter(), backend(up('blue'), paused),
                     [Request('green', ENABLED), Request('blue', DISABLED)])
    assert plan.changed


def test_guard_ignores_members_that_do_not_serve_anyway():
    # Draining a DOWN member, or one already drained, never trips the guard.
    assert make_plan(Adapter(), backend(down('a')), [Request('a', DRAINED)]).changes == [Change('a', DRAINED)]
    assert not make_plan(Adapter(), backend(up('a', state=DRAINED)), [Request('a', DRAINED)]).changed


def test_guard_treats_weight_zero_as_leaving_rotation():
    with pytest.raises(GuardError):
        make_plan(Adapter(), backend(up('a'), down('b')), [Request('a', ENABLED, 0)])


def test_plan_rejects_duplicates_and_weights_out_of_range():
    with pytest.raises(BalancerInputError, match="listed twice"):
        make_plan(Adapter(), backend(up('a'), up('b')), [Request('a', ENABLED), Request('a', DRAINED)])
    with pytest.raises(BalancerInputError, match=r'outside what the fake balancer accepts \(1\.\.100\)'):
        make_plan(FoldingAdapter(), backend(up('a'), up('b')), [Request('a', ENABLED, 0)])


def test_plan_unknown_member_lists_the_members():
    with pytest.raises(NotFoundError) as info:
        make_plan(Adapter(), backend(up('a'), up('b')), [Request('zz', ENABLED)])
    assert str(info.value) == ("Member 'zz' not found in backend 'app' of the fake balancer. "
                               "Members there: a, b. Nothing was changed.")


def test_folding_adapter_treats_drained_as_disabled():
    members = backend(up('a', state=DISABLED), up('b'))
    plan = make_plan(FoldingAdapter(), members, [Request('a', DRAINED)])
    assert not plan.changed
    plan = make_plan(FoldingAdapter(), backend(up('a'), up('b')), [Request('a', DRAINED)])
    assert plan.changes == [Change('a', DISABLED)]


def test_ramp_planned_only_for_members_entering_rotation():
    members = backend(Member('a', DISABLED, weight=100, health=UNKNOWN, config_weight=100), up('b'))
    plan = make_plan(Adapter(), members, [Request('a', ENABLED)], ramp_steps=[10, 50, 100])
    assert plan.changes == [Change('a', ENABLED, 10)]
    assert plan.ramps == {'a': [10, 50, 100]}
    assert plan.targets['a'] == {'state': ENABLED, 'weight': 100}
    # already in rotation: no ramp, the weight is set at once
    plan = make_plan(Adapter(), backend(up('a', weight=10), up('b')), [Request('a', ENABLED, 100)],
                     ramp_steps=[10, 50, 100])
    assert plan.changes == [Change('a', weight=100)] and plan.ramps == {}


def test_ramp_resumes_for_a_member_left_part_way_up():
    # a run killed between two steps left 'a' in rotation at 25 of its configured 100
    member = Member('a', ENABLED, weight=25, health=UP, serving=True, config_weight=100)
    plan = make_plan(Adapter(), backend(member, up('b')), [Request('a', ENABLED)],
                     ramp_steps=[10, 25, 50, 100])
    assert plan.changes == [Change('a', weight=50)]
    assert plan.ramps == {'a': [50, 100]}
    assert plan.targets['a'] == {'state': ENABLED, 'weight': 100}
    # at its configured weight: nothing to do; no ramp asked: nothing either
    member = Member('a', ENABLED, weight=100, health=UP, serving=True, config_weight=100)
    assert not make_plan(Adapter(), backend(member, up('b')), [Request('a', ENABLED)],
                         ramp_steps=[10, 100]).changed
    member = Member('a', ENABLED, weight=25, health=UP, serving=True, config_weight=100)
    assert not make_plan(Adapter(), backend(member, up('b')), [Request('a', ENABLED)]).changed
    # one step below the goal: the last step only
    member = Member('a', ENABLED, weight=99, health=UP, serving=True, config_weight=100)
    plan = make_plan(Adapter(), backend(member, up('b')), [Request('a', ENABLED)], ramp_steps=[10, 100])
    assert plan.changes == [Change('a', weight=100)] and plan.ramps == {}


def test_ramp_target_defaults_to_configured_weight():
    member = Member('a', DRAINED, weight=10, health=UP, config_weight=80)
    plan = make_plan(Adapter(), backend(member, up('b')), [Request('a', ENABLED)], ramp_steps=[25, 100])
    assert plan.ramps == {'a': [20, 80]}
    assert plan.changes == [Change('a', ENABLED, 20)]
