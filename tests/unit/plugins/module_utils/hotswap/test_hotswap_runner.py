# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Executing a plan: failures before the cutover, what is left as it was, the messages, the
per-slot readiness options, retire records and timings (fake engine, fake clock)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import SpecError, build_spec
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import (
    HotswapError, Runner, slot_readiness, substitute)

from fake_engine import CRASHES, NEVER_READY, APIError, FakeClient, Response, fake_wait_ready
from hotswap_helpers import NEW_ID, NEW_IMAGE, SERVICE, desired, engine_with, params, state_of

A, C, P = hs.ACTIVE, hs.CANDIDATE, hs.PREVIOUS
RUN, EXITED = 'running', 'exited'


class Clock(object):
    """A clock that advances by ``step`` seconds each time it is read."""

    def __init__(self, step=0.5):
        self.now = 0.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def execute(found, phase=hs.PRESENT, keep=False, keep_failed=False, want=None, wait=None, warmup=None,
            clock=None, api=None, **options):
    p = params(**options)
    spec = build_spec(p)
    want = want or desired(spec)
    api = engine_with(found, want, api=api)
    state = state_of(api)
    plan = hs.plan_phase(state, want if phase != hs.ROLLED_BACK else None, phase, keep_previous=keep,
                         warmup=bool(p['readiness'].get('warmup')))
    client = FakeClient(api)
    runner = Runner(DockerEngine(client, clock=Clock()), SERVICE, spec, want, p['readiness'],
                    keep_failed=keep_failed, docker=client, wait_ready=wait or fake_wait_ready(api),
                    warmup=warmup, clock=clock or Clock(), sleep=lambda s: None,
                    wait_healthy=p['wait_healthy'])
    return api, state, runner, plan


def never_ready():
    return desired(image='app:never', image_id=NEVER_READY)


def test_candidate_not_ready_is_removed_and_the_active_one_left_untouched():
    api, before, runner, plan = execute({A: ('blue', RUN, False)}, want=never_ready())
    api.images['app:never'] = NEVER_READY
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert err.value.msg == (
        'Service web: ready web-candidate failed: Not ready after 60s: status 503. Then: '
        'web-candidate was removed; the active container web (slot blue, image app:v1, running) '
        'was left untouched. Last log lines of web-candidate: app: started /web-candidate | app: exiting')
    after = state_of(api)
    assert after.candidate is None
    assert after.active.id == before.active.id and after.active.running
    assert runner.report['candidate_logs'] == ['app: started /web-candidate', 'app: exiting']
    assert [c[0] for c in api.mutations()] == ['create_container', 'start', 'stop', 'remove_container']


def test_keep_failed_keeps_the_candidate_for_debugging():
    api, before, runner, plan = execute({A: ('blue', RUN, False)}, want=never_ready(), keep_failed=True)
    api.images['app:never'] = NEVER_READY
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert 'web-candidate was kept for debugging (keep_failed=true)' in err.value.msg
    assert state_of(api).candidate.running


def test_candidate_that_exits_fails_at_once():
    want = desired(image='app:crash', image_id=CRASHES)
    api, before, runner, plan = execute({A: ('blue', RUN, False)}, want=want)
    api.images['app:crash'] = CRASHES
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert err.value.msg.startswith('Service web: ready web-candidate failed: container web-candidate '
                                    'is exited (exit code 1). Then: web-candidate was removed;')
    assert state_of(api).candidate is None


def test_create_refused_by_the_engine_changes_nothing():
    found = {A: ('blue', RUN, False), P: ('green', EXITED, False)}
    api, before, runner, plan = execute(found, keep=True)
    api.fail['create_container'] = APIError('bad mount', response=Response(400), explanation=(
        'invalid mount config for type "bind": bind source path does not exist: /nope'))
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert err.value.msg == (
        'Service web: create web-candidate failed: create container web-candidate: invalid mount config '
        'for type "bind": bind source path does not exist: /nope. Then: the active container web '
        '(slot blue, image app:v1, running) was left untouched.')
    # the old previous in the candidate slot is only removed after the create succeeded
    assert api.mutations() == [c for c in api.calls if c[0] == 'create_container']
    assert state_of(api).previous.id == before.previous.id


def test_failed_warmup_is_a_failure_before_the_cutover():
    stats = dict(failed=True, msg='Warmup: 3 of 10 requests failed')
    api, before, runner, plan = execute({A: ('blue', RUN, False)}, warmup=lambda *a, **k: stats,
                                        readiness=dict(warmup=dict(urls=['http://127.0.0.1:18301/'])))
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert err.value.msg.startswith('Service web: warmup web-candidate failed: Warmup: 3 of 10 requests '
                                    'failed. Then: web-candidate was removed;')
    assert state_of(api).active.id == before.active.id


def test_failed_warmup_goes_on_when_fail_on_error_is_off():
    stats = dict(failed=True, msg='Warmup: 3 of 10 requests failed')
    api, before, runner, plan = execute(
        {A: ('blue', RUN, False)}, warmup=lambda *a, **k: stats,
        readiness=dict(warmup=dict(urls=['http://127.0.0.1:18301/'], fail_on_error=False)))
    runner.run(plan, before)
    assert state_of(api).active.image_id == NEW_ID
    assert runner.report['warmup'] is stats


def test_restoring_a_previous_that_is_not_ready_stops_it_again():
    found = {A: ('green', RUN, True), P: ('blue', EXITED, False)}
    api, before, runner, plan = execute(found, phase=hs.ROLLED_BACK, keep=None)
    api._find(before.previous.id)['Image'] = NEVER_READY
    with pytest.raises(HotswapError) as err:
        runner.run(plan, before)
    assert err.value.msg == (
        'Service web: ready web-previous failed: Not ready after 60s: status 503. Then: web-previous was '
        'stopped again; the active container web (slot green, image app:v2, running) was left untouched.')
    after = state_of(api)
    assert after.previous.status == 'exited' and after.active.id == before.active.id


def test_readiness_gets_the_container_check_first_and_the_slot_placeholders():
    wait = fake_wait_ready(None)
    calls = []

    def recording(checks, *args, **kwargs):
        calls.append(checks)
        from ansible_collections.zerodowntime.deploy.plugins.module_utils._readiness import ReadinessResult
        return ReadinessResult(True, 0.1, 1, [], 'Ready')
    api, before, runner, plan = execute(
        {A: ('blue', RUN, False)}, wait=recording, wait_healthy=False,
        slots=dict(green=dict(env=dict(APP_PORT=18302), vars=dict(SOCK='/run/g.sock'))),
        readiness=dict(checks=[dict(type='http', url='http://127.0.0.1:${APP_PORT}/health?slot=${SLOT}',
                                    body_regex='v${2}'),
                               dict(type='unix', path='${SOCK}')]))
    runner.run(plan, before)
    checks = calls[0]
    assert checks[0] == dict(type='container', name='container web-candidate', container='web-candidate',
                             healthy=False)
    assert checks[1]['url'] == 'http://127.0.0.1:18302/health?slot=green'
    assert checks[1]['body_regex'] == 'v${2}'
    assert checks[2]['path'] == '/run/g.sock'
    assert wait.calls == []


def test_unknown_placeholder_is_an_input_error():
    with pytest.raises(SpecError) as err:
        substitute({'url': 'http://127.0.0.1:${PORT}/'}, {'SLOT': 'blue', 'APP_PORT': '1'}, 'readiness.checks[0]')
    assert str(err.value) == 'readiness.checks[0].url: unknown placeholder ${PORT} (known: APP_PORT, SLOT)'


def test_slot_readiness_keeps_the_wait_options():
    options = slot_readiness(dict(checks=None, timeout=5.0, interval=0.2, success_threshold=2,
                                  initial_delay=0.5, warmup=None), {'SLOT': 'blue'})
    assert options == dict(checks=[], warmup=None, timeout=5.0, interval=0.2, success_threshold=2,
                           initial_delay=0.5)


def test_retire_uses_the_old_containers_stop_timeout_and_reports_a_forced_kill():
    api, before, runner, plan = execute({A: ('blue', RUN, False)})
    old = api._find(before.active.id)
    old['Config'].update(StopSignal='SIGQUIT', StopTimeout=3)
    state = state_of(api)

    def slow_stop(ref, timeout=None):
        api.calls.append(('stop', (ref,), dict(timeout=timeout)))
        api._find(ref)['State'].update(Status='exited', Running=False, ExitCode=137)
    api.stop = slow_stop
    runner.clock = runner.engine.clock = Clock(step=4.0)
    runner.run(hs.plan_phase(state, runner.desired, hs.PRESENT), state)
    stops = [c for c in api.calls if c[0] == 'stop']
    assert stops[0][2] == dict(timeout=3)
    record = runner.report['retired'][0]
    assert record['signal'] == 'SIGQUIT' and record['forced'] is True and record['exit_code'] == 137
    assert record['name'] == 'web-previous'


def test_timings_are_summed_per_phase():
    api, before, runner, plan = execute({A: ('blue', RUN, False)}, clock=Clock(step=1.0))
    runner.run(plan, before)
    # each step reads the clock twice (start, end): one second per step with this clock
    assert runner.timings == dict(create=1.0, start=1.0, ready=1.0, warmup=0.0, cutover=2.0, retire=1.0)


def test_created_candidate_carries_the_labels_the_state_is_read_from():
    api, before, runner, plan = execute({}, env=dict(A='1'), stop_signal='quit', stop_timeout=30)
    runner.run(plan, before)
    create = [c for c in api.calls if c[0] == 'create_container'][0]
    labels = create[2]['labels']
    assert labels[hs.LABEL_SERVICE] == SERVICE and labels[hs.LABEL_SLOT] == 'blue'
    assert labels[hs.LABEL_IMAGE] == NEW_IMAGE
    assert labels[hs.LABEL_HASH] == runner.desired.hashes['blue']
    assert create[2]['stop_signal'] == 'SIGQUIT' and create[2]['stop_timeout'] == 30
    assert state_of(api).active.config['env'] == {'A': '1'}


def test_resolve_image_in_check_mode_never_pulls():
    from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import ImageError
    from fake_engine import FakeAPI
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, pullable={'app:v1': 'sha256:v1b', 'app:v2': 'sha256:v2'})
    engine = DockerEngine(FakeClient(api))
    assert engine.resolve_image('app:v2', 'missing', check_mode=True) == (None, True)
    assert engine.resolve_image('app:v1', 'always', check_mode=True) == ('sha256:v1', True)
    assert engine.resolve_image('app:v1', 'missing', check_mode=True) == ('sha256:v1', False)
    with pytest.raises(ImageError) as err:
        engine.resolve_image('app:v2', 'never', check_mode=True)
    assert str(err.value) == 'image app:v2 is not present on the engine and pull=never'
    assert not [c for c in api.calls if c[0] == 'pull']
    assert engine.resolve_image('app:v2', 'missing') == ('sha256:v2', True)     # a real run does pull
