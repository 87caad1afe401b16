# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plan from the labels and names found on the engine: one row per state and phase,
including every half-finished swap a killed run can leave behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs

from hotswap_helpers import SERVICE, desired, engine_with, state_of

A, C, P = hs.ACTIVE, hs.CANDIDATE, hs.PREVIOUS
RUN, EXITED, CREATED = 'running', 'exited', 'created'
NEW, OLD = True, False

CREATE_B = ('create', C)
STAGE = [('start', C), ('ready', C)]
CUTOVER = [('rename', A, P), ('rename', C, A)]

# (id, phase, found: role -> (slot, status, matches desired), keep_previous, expected actions)
ROWS = [
    # full swap
    ('first deploy', hs.PRESENT, {}, False, [CREATE_B] + STAGE + [('rename', C, A)]),
    ('already desired', hs.PRESENT, {A: ('blue', RUN, NEW)}, False, []),
    ('new version', hs.PRESENT, {A: ('blue', RUN, OLD)}, False,
     [CREATE_B] + STAGE + CUTOVER + [('remove', P)]),
    ('new version, keep previous', hs.PRESENT, {A: ('blue', RUN, OLD)}, True,
     [CREATE_B] + STAGE + CUTOVER + [('stop', P)]),
    ('old previous occupies the free slot', hs.PRESENT,
     {A: ('blue', RUN, OLD), P: ('green', EXITED, OLD)}, True,
     [CREATE_B, ('remove', P)] + STAGE + CUTOVER + [('stop', P)]),
    ('killed after create', hs.PRESENT, {A: ('blue', RUN, OLD), C: ('green', CREATED, NEW)}, False,
     STAGE + CUTOVER + [('remove', P)]),
    ('killed after create, before the old previous went', hs.PRESENT,
     {A: ('blue', RUN, OLD), C: ('green', CREATED, NEW), P: ('green', EXITED, OLD)}, False,
     [('remove', P)] + STAGE + CUTOVER + [('remove', P)]),
    ('killed while waiting for readiness', hs.PRESENT,
     {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, False,
     [('ready', C)] + CUTOVER + [('remove', P)]),
    ('killed while a slow starter was not healthy yet', hs.PRESENT,
     {A: ('blue', RUN, OLD), C: ('green', RUN, NEW, 'unhealthy')}, False,
     [('ready', C)] + CUTOVER + [('remove', P)]),
    ('killed between the renames', hs.PRESENT, {P: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, False,
     [('ready', C), ('rename', C, A), ('remove', P)]),
    ('killed between the renames, keep previous', hs.PRESENT,
     {P: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, True,
     [('ready', C), ('rename', C, A), ('stop', P)]),
    ('killed while retiring', hs.PRESENT, {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, False,
     [('remove', P)]),
    ('killed while retiring, keep previous', hs.PRESENT,
     {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, True, [('stop', P)]),
    ('kept previous stays', hs.PRESENT, {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, True, []),
    # keep_previous=false: a stopped previous is what a run killed between stopping and removing
    # it left behind; the re-run finishes that run's removal (it used to stay for good).
    ('killed after the stop, before the removal', hs.PRESENT,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, False, [('remove', P)]),
    ('killed after the stop, keep_previous not given', hs.PRESENT,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, None, [('remove', P)]),
    ('candidate of another version', hs.PRESENT, {A: ('blue', RUN, OLD), C: ('green', RUN, OLD)}, False,
     [('remove', C), CREATE_B] + STAGE + CUTOVER + [('remove', P)]),
    ('crashed candidate', hs.PRESENT, {A: ('blue', RUN, OLD), C: ('green', EXITED, NEW)}, False,
     [('remove', C), CREATE_B] + STAGE + CUTOVER + [('remove', P)]),
    ('candidate in the active slot', hs.PRESENT, {A: ('blue', RUN, OLD), C: ('blue', RUN, NEW)}, False,
     [('remove', C), CREATE_B] + STAGE + CUTOVER + [('remove', P)]),
    ('stale candidate while active is desired', hs.PRESENT,
     {A: ('blue', RUN, NEW), C: ('green', RUN, OLD)}, False, [('remove', C)]),
    ('desired active has exited', hs.PRESENT, {A: ('blue', EXITED, NEW)}, False,
     [CREATE_B] + STAGE + CUTOVER + [('remove', P)]),
    ('rolled back earlier: only a previous', hs.PRESENT, {P: ('blue', EXITED, OLD)}, False,
     [CREATE_B] + STAGE + [('rename', C, A), ('remove', P)]),
    # stage
    ('stage first', hs.STAGED, {}, False, [CREATE_B] + STAGE),
    ('stage new version', hs.STAGED, {A: ('blue', RUN, OLD)}, False, [CREATE_B] + STAGE),
    ('stage again', hs.STAGED, {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, False, [('ready', C)]),
    ('stage the active version', hs.STAGED, {A: ('blue', RUN, NEW)}, False, []),
    ('stage the active version, stale candidate', hs.STAGED,
     {A: ('blue', RUN, NEW), C: ('green', RUN, OLD)}, False, [('remove', C)]),
    ('stage leaves a running previous alone', hs.STAGED,
     {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, False, []),
    ('stage leaves a stopped previous alone', hs.STAGED,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, False, []),
    # promote
    ('promote', hs.PROMOTED, {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, False,
     CUTOVER + [('remove', P)]),
    ('promote, keep previous', hs.PROMOTED, {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, True,
     CUTOVER + [('stop', P)]),
    ('promote again', hs.PROMOTED, {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, True, []),
    ('promote killed between the renames', hs.PROMOTED,
     {P: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, True, [('rename', C, A), ('stop', P)]),
    ('promote killed while retiring', hs.PROMOTED,
     {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, False, [('remove', P)]),
    ('promote killed after the stop, before the removal', hs.PROMOTED,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, False, [('remove', P)]),
    ('promote without an active one', hs.PROMOTED, {C: ('blue', RUN, NEW)}, False, [('rename', C, A)]),
    # rollback
    ('roll back a staged candidate', hs.ROLLED_BACK, {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)},
     False, [('remove', C)]),
    ('roll back to the kept previous', hs.ROLLED_BACK, {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)},
     None, [('start', P), ('ready', P), ('rename', A, C), ('rename', P, A), ('remove', C)]),
    ('roll back to the kept previous, keep_previous', hs.ROLLED_BACK,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, True,
     [('start', P), ('ready', P), ('rename', A, C), ('rename', P, A), ('remove', C)]),
    ('no rollback to a stopped previous with keep_previous=false', hs.ROLLED_BACK,
     {A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, False, [('remove', P)]),
    ('roll back while the previous still runs, keep_previous=false', hs.ROLLED_BACK,
     {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, False,
     [('rename', A, C), ('rename', P, A), ('remove', C)]),
    ('roll back while the previous still runs', hs.ROLLED_BACK,
     {A: ('green', RUN, NEW), P: ('blue', RUN, OLD)}, False,
     [('rename', A, C), ('rename', P, A), ('remove', C)]),
    ('roll back between the renames', hs.ROLLED_BACK, {P: ('blue', RUN, OLD), C: ('green', RUN, NEW)},
     False, [('rename', P, A), ('remove', C)]),
    ('roll back between the renames, previous stopped', hs.ROLLED_BACK,
     {P: ('blue', EXITED, OLD), C: ('green', RUN, NEW)}, False,
     [('start', P), ('ready', P), ('rename', P, A), ('remove', C)]),
    ('roll back a stage killed before the old previous went', hs.ROLLED_BACK,
     {A: ('blue', RUN, OLD), C: ('green', CREATED, NEW), P: ('green', EXITED, OLD)}, False,
     [('remove', C), ('remove', P)]),
    ('roll back a first deploy', hs.ROLLED_BACK, {C: ('blue', RUN, NEW)}, False, [('remove', C)]),
    ('roll back an interrupted rollback', hs.ROLLED_BACK,
     {A: ('blue', RUN, OLD), C: ('green', RUN, NEW)}, False, [('remove', C)]),
    ('roll back a lone previous', hs.ROLLED_BACK, {P: ('blue', EXITED, OLD)}, False,
     [('start', P), ('ready', P), ('rename', P, A)]),
    ('nothing to roll back', hs.ROLLED_BACK, {A: ('blue', RUN, NEW)}, False, []),
    # absent
    ('absent', hs.ABSENT, {A: ('blue', RUN, NEW), C: ('green', CREATED, NEW)}, False,
     [('remove', C), ('remove', A)]),
    ('absent, all three', hs.ABSENT,
     {A: ('blue', RUN, NEW), C: ('green', RUN, OLD), P: ('green', EXITED, OLD)}, False,
     [('remove', C), ('remove', P), ('remove', A)]),
    ('absent already', hs.ABSENT, {}, False, []),
]


@pytest.mark.parametrize('phase, found, keep, expected', [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_plan_table(phase, found, keep, expected):
    want = desired()
    state = state_of(engine_with(found, want))
    plan = hs.plan_phase(state, want, phase, keep_previous=keep)
    assert plan.actions() == expected


def test_candidate_slot_is_the_free_one():
    want = desired()
    for active_slot, expected in (('blue', 'green'), ('green', 'blue')):
        state = state_of(engine_with({A: (active_slot, RUN, OLD)}, want))
        plan = hs.plan_phase(state, want, hs.PRESENT)
        assert plan.slot == expected
        assert plan.steps[0].slot == expected


def test_warmup_comes_after_ready_and_before_the_cutover():
    want = desired()
    state = state_of(engine_with({A: ('blue', RUN, OLD)}, want))
    plan = hs.plan_phase(state, want, hs.PRESENT, warmup=True)
    actions = [a[0] for a in plan.actions()]
    assert actions.index('ready') + 1 == actions.index('warmup') < actions.index('rename')


def test_a_stopped_previous_with_keep_previous_false_is_removed_with_a_note_not_restored():
    want = desired()
    state = state_of(engine_with({A: ('green', RUN, NEW), P: ('blue', EXITED, OLD)}, want))
    plan = hs.plan_phase(state, None, hs.ROLLED_BACK, keep_previous=False)
    assert plan.notes == ['Nothing to roll back for service web: web-previous is stopped and keep_previous '
                          'is false, so it is not a rollback point (a run that was to remove it was '
                          'interrupted); it is removed. Run with keep_previous=true to restore it instead.']


def test_nothing_to_roll_back_is_a_note_not_an_error():
    want = desired()
    plan = hs.plan_phase(state_of(engine_with({A: ('blue', RUN, NEW)}, want)), None, hs.ROLLED_BACK)
    assert plan.steps == []
    assert plan.notes == ['Nothing to roll back for service web: there is no web-candidate and no '
                          'web-previous container.']


@pytest.mark.parametrize('found, want_image, match', [
    ({A: ('blue', RUN, OLD)}, True, 'Nothing staged to promote for service web: there is no web-candidate'),
    ({}, True, 'Nothing to promote for service web: it has no web-candidate container. Nothing was changed.'),
    ({P: ('blue', EXITED, OLD)}, True, 'it has no web-candidate container and no active one'),
    ({A: ('blue', RUN, OLD), C: ('green', RUN, OLD)}, True,
     'Cannot promote web-candidate: it runs image app:v1 (sha256:v1)'),
    ({A: ('blue', RUN, OLD), C: ('green', EXITED, NEW)}, True,
     'Cannot promote web-candidate: it is exited, not running and ready'),
    ({A: ('blue', RUN, OLD), C: ('green', CREATED, NEW)}, False,
     'Cannot promote web-candidate: it is created, not running and ready'),
])
def test_promote_refuses_with_a_reason(found, want_image, match):
    want = desired()
    state = state_of(engine_with(found, want))
    with pytest.raises(hs.PlanError) as err:
        hs.plan_phase(state, want if want_image else None, hs.PROMOTED)
    assert match in str(err.value)
    assert str(err.value).endswith('Nothing was changed.')


def test_promote_without_image_promotes_whatever_is_staged():
    want = desired()
    state = state_of(engine_with({A: ('blue', RUN, OLD), C: ('green', RUN, OLD)}, want))
    assert hs.plan_phase(state, None, hs.PROMOTED).actions() == CUTOVER + [('remove', P)]


# ------------------------------------------------------------------ reading the state

def info(name, labels, container_id='c' * 64):
    return dict(Id=container_id, Name='/' + name, Image='sha256:x',
                Config=dict(Labels=labels, Image='app:v1'), State=dict(Status='running'))


def test_roles_come_from_names_and_slots_from_labels():
    labels = {hs.LABEL_SERVICE: SERVICE, hs.LABEL_SLOT: 'green', hs.LABEL_HASH: 'h'}
    state = hs.read_state(SERVICE, [info('web-previous', labels)])
    assert state.previous.slot == 'green'
    assert state.previous.config_hash == 'h'
    assert state.active is None and state.candidate is None


def test_foreign_container_under_the_active_name_is_refused():
    with pytest.raises(hs.StateError) as err:
        hs.read_state(SERVICE, [info('web', {})])
    assert str(err.value) == (
        'Service web: container web (cccccccccccc) holds the name of the active container but is not '
        'managed by this module (label zerodowntime.service=web is missing); rename or remove it. '
        'Nothing was changed.')


def test_container_of_another_service_under_our_name_is_refused():
    with pytest.raises(hs.StateError) as err:
        hs.read_state(SERVICE, [info('web-candidate', {hs.LABEL_SERVICE: 'api', hs.LABEL_SLOT: 'blue'})])
    assert "is for service 'api'" in str(err.value)


def test_labelled_container_under_another_name_is_refused():
    labels = {hs.LABEL_SERVICE: SERVICE, hs.LABEL_SLOT: 'blue'}
    with pytest.raises(hs.StateError) as err:
        hs.read_state(SERVICE, [info('web-old', labels)])
    assert 'its name is none of web, web-candidate, web-previous' in str(err.value)


def test_bad_slot_label_is_refused():
    with pytest.raises(hs.StateError) as err:
        hs.read_state(SERVICE, [info('web', {hs.LABEL_SERVICE: SERVICE, hs.LABEL_SLOT: 'red'})])
    assert "has slot label 'red', expected blue or green" in str(err.value)


def test_unrelated_containers_are_ignored():
    state = hs.read_state(SERVICE, [info('db', {}), info('web-hotswap-lock', {'zerodowntime.lock': SERVICE})])
    assert state.empty


# ------------------------------------------------------------------ describing and predicting

def test_simulate_describes_the_steps_and_predicts_the_result():
    want = desired()
    state = state_of(engine_with({A: ('blue', RUN, OLD)}, want))
    plan = hs.plan_phase(state, want, hs.PRESENT)
    lines, after = hs.simulate(plan, state, want, stop_timeout=10, stop_signal='SIGTERM')
    assert lines == [
        'create web-candidate in slot green (image app:v2)',
        'start web-candidate',
        'wait until web-candidate (slot green) is ready',
        'rename web to web-previous',
        'rename web-candidate to web',
        'stop web-previous (SIGTERM, up to 10s, then kill) and remove it',
    ]
    assert after[A]['slot'] == 'green' and after[A]['image_id'] == 'sha256:v2' and after[A]['id'] is None
    assert after[C] is None and after[P] is None


def test_env_values_are_hidden_in_the_diff_but_changes_show():
    before = dict(image='x', env=dict(TOKEN='s3cret-1', PORT='80', GONE='a'))
    after = dict(image='x', env=dict(TOKEN='s3cret-2', PORT='80', NEW='b'))
    old, new = hs.hide_env(before, after)
    assert old == dict(image='x', env=dict(TOKEN='(hidden, changed)', PORT='(hidden)', GONE='(hidden, changed)'))
    assert new == dict(image='x', env=dict(TOKEN='(hidden, changed)', PORT='(hidden)', NEW='(hidden, changed)'))
    assert hs.hide_env(None, after)[1]['env'] == dict(TOKEN='(hidden, changed)', PORT='(hidden, changed)',
                                                      NEW='(hidden, changed)')
    assert hs.hide_env(before, None)[1] is None
    assert before['env']['TOKEN'] == 's3cret-1'          # the configurations themselves are untouched
    tracker = hs.service_diff('web', {}, {}, {hs.ACTIVE: before}, {hs.ACTIVE: after})
    assert 's3cret' not in repr(tracker.diff()) and tracker.changed


def test_diff_tracker_only_reports_changed_fields():
    tracker = hs.DiffTracker()
    tracker.add('web.image', 'app:v1', 'app:v2')
    tracker.add('web.slot', 'blue', 'blue')
    assert tracker.changed
    assert tracker.diff() == dict(before={'web.image': 'app:v1'}, after={'web.image': 'app:v2'})
    same = hs.DiffTracker()
    same.add('web.image', 'app:v1', 'app:v1')
    assert not same.changed and same.diff() == dict(before={}, after={})
