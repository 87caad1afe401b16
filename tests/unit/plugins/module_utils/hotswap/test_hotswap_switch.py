# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""container_hotswap with balancers (_switch.py): the switch inside the run, the re-check before
capacity is removed, every rollback branch, rolling member mode - fake engine, fake balancer,
fake clock (nothing really waits)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _switch
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UP, ApplyError, BalancerConnectionError, Change, Member)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import build_spec
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import HotswapError, Runner
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeAdapter, FakeClock)

from fake_engine import CRASHES, NEVER_READY, FakeClient, fake_wait_ready
from hotswap_helpers import NEW_ID, SERVICE, desired, engine_with, params, state_of

A, C, P = hs.ACTIVE, hs.CANDIDATE, hs.PREVIOUS
RUN, EXITED = 'running', 'exited'
HAPROXY = dict(balancer='haproxy', backend='app', members=dict(blue='b', green='g'),
               connection=dict(haproxy_socket='/run/haproxy/admin.sock', poll_interval=0.5))
ROLLING = dict(balancer='haproxy', backend='app', member='m',
               connection=dict(haproxy_socket='/run/haproxy/admin.sock', poll_interval=0.5))


def blue_green(blue=ENABLED, green=DRAINED, blue_health=UP, green_health=DOWN, weight=100):
    return [Member('b', blue, weight=weight, health=blue_health, serving=blue == ENABLED and blue_health != DOWN),
            Member('g', green, weight=weight, health=green_health, serving=green == ENABLED and green_health != DOWN)]


def one_member(state=ENABLED, others=True):
    members = [Member('m', state, weight=100, health=UP, serving=state == ENABLED)]
    if others:
        members.append(Member('other', ENABLED, weight=100, health=UP, serving=True))
    return members


class Deploy(object):
    """One run of the runner with the balancer hooks on the fakes."""

    def __init__(self, found, adapters, entries=None, phase=hs.PRESENT, want=None, keep=None, wait=None,
                 **options):
        self.clock = FakeClock()
        entries = entries if entries is not None else [HAPROXY] * len(adapters)
        self.params = params(balancers=entries, state=phase, **options)
        spec = build_spec(self.params)
        self.want = want or desired(spec)
        self.api = engine_with(found, self.want)
        self.api.images['app:never'] = NEVER_READY
        self.api.images['app:crash'] = CRASHES
        self.before = state_of(self.api)
        self.plan = hs.plan_phase(self.before, self.want if phase not in (hs.ROLLED_BACK,) else None, phase,
                                  keep_previous=keep)
        self.warnings = []
        validated = _switch.validate(self.params, SERVICE)
        self.switch = _switch.build(validated, None, self.params, False, clock=self.clock,
                                    sleep=self.clock.sleep, adapters=adapters)
        self.switch.warn = self.warnings.append
        self.switch.read_before()
        client = FakeClient(self.api)
        self.runner = Runner(DockerEngine(client, clock=self.clock), SERVICE, spec, self.want, self.params['readiness'],
                             docker=client, wait_ready=wait or fake_wait_ready(self.api), clock=self.clock,
                             sleep=self.clock.sleep, hooks=_switch.Hooks(self.switch, self.plan))

    def run(self):
        return self.runner.run(self.plan, self.before)

    def fails(self):
        with pytest.raises(HotswapError) as err:
            self.run()
        return err.value.msg

    def after(self):
        return state_of(self.api)


def states(adapter):
    return dict((name, (m.state, m.weight)) for name, m in adapter.members.items())


# ------------------------------------------------------------------ blue/green: the switch

def test_switch_enables_the_candidate_waits_until_up_then_drains_the_old_one_then_retires_it():
    adapter = FakeAdapter(blue_green(), health={'g': [DOWN, DOWN, UP]}, active={'b': [4, 2, 0]})
    deploy = Deploy({A: ('blue', RUN, False)}, [adapter])
    deploy.run()
    assert adapter.applies() == [[Change('g', ENABLED)], [Change('b', DRAINED)]]
    assert states(adapter) == {'b': (DRAINED, 100), 'g': (ENABLED, 100)}
    after = deploy.after()
    assert after.active.slot == 'green' and after.active.image_id == NEW_ID and after.previous is None
    report = deploy.switch.results()['balancers'][0]
    assert report['active_at_switch'] == 4 and report['drain_seconds'] == 0.5
    assert report['up_seconds'] > 0
    assert deploy.switch.reasserted == []


class Logged(FakeAdapter):
    """The fake balancer, logging its changes into the fake engine's call list (one timeline), and
    able to fail or to lose its state: ``fail_applies``: {apply number (1-based): error};
    ``on_read``: callable(adapter, read number) run before each read."""

    def __init__(self, members, api=None, fail_applies=None, on_read=None, **kwargs):
        FakeAdapter.__init__(self, members, **kwargs)
        self.api = api
        self.fail_applies = dict(fail_applies or {})
        self.on_read = on_read
        self.reads = 0

    def read(self, backend):
        self.reads += 1
        if self.on_read is not None:
            self.on_read(self, self.reads)
        return FakeAdapter.read(self, backend)

    def apply(self, backend, changes):
        number = len(self.applies()) + 1
        if self.api is not None:
            self.api.calls.append(('balancer', (tuple((c.name, c.state, c.weight) for c in changes),), {}))
        if number in self.fail_applies:
            self.calls.append(('apply', list(changes)))
            raise self.fail_applies[number]
        FakeAdapter.apply(self, backend, changes)


def timeline(api):
    """Engine mutations and balancer changes in the order they happened."""
    out = []
    for method, args, dummy in api.calls:
        if method == 'balancer':
            out.append(' '.join('%s%s%s' % (n, '' if s is None else '=' + s, '' if w is None else '@%s' % w)
                                for n, s, w in args[0]))
        elif method in ('create_container', 'start', 'stop', 'remove_container', 'rename'):
            out.append(method)
    return out


def attach(deploy, adapter):
    adapter.api = deploy.api
    return deploy


def test_the_old_container_stops_only_after_the_switch_and_drain():
    adapter = Logged(blue_green(), health={'g': [UP]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter]), adapter)
    deploy.run()
    assert timeline(deploy.api) == ['create_container', 'start', 'g=enabled', 'b=drained', 'rename', 'rename',
                                    'stop', 'remove_container']


def test_first_deploy_enables_the_new_member_and_parks_the_other_slot():
    adapter = Logged(blue_green(blue=DISABLED, green=ENABLED, blue_health=DOWN, green_health=DOWN),
                     health={'b': [UP], 'g': [DOWN]})
    deploy = attach(Deploy({}, [adapter]), adapter)
    deploy.run()
    assert timeline(deploy.api) == ['create_container', 'start', 'b=enabled', 'g=drained', 'rename']
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}


def test_candidate_not_reported_up_puts_the_balancer_back_and_removes_the_candidate():
    adapter = Logged(blue_green(), health={'g': [DOWN]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], healthy_timeout=2), adapter)
    msg = deploy.fails()
    assert msg.startswith("Service web: switch to web-candidate failed: balancers[0] (haproxy backend 'app'): "
                          "backend 'app' of the fake balancer: member(s) meant to be enabled are not healthy "
                          "after healthy_timeout=2s")
    assert ("Then: balancers put back: haproxy backend 'app' (b enabled, g drained); web-candidate was removed; "
            "the active container web (slot blue, image app:v1, running) was left untouched.") in msg
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}
    assert timeline(deploy.api)[-3:] == ['g=drained', 'stop', 'remove_container']   # balancer first
    after = deploy.after()
    assert after.candidate is None and after.active.slot == 'blue' and after.active.running


def test_drain_timeout_fails_by_default_and_nothing_is_lost():
    adapter = Logged(blue_green(), health={'g': [UP]}, active={'b': [3]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], drain_timeout=5), adapter)
    msg = deploy.fails()
    assert "still active after drain_timeout=5s" in msg and "'b' 3 active" in msg
    assert "balancers put back: haproxy backend 'app' (b enabled, g drained); web-candidate was removed" in msg
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}
    assert deploy.after().active.slot == 'blue' and deploy.after().candidate is None


def test_on_drain_timeout_close_retires_the_old_container_and_counts_what_remained():
    adapter = Logged(blue_green(), health={'g': [UP]}, active={'b': [5, 4, 2]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], drain_timeout=3, on_drain_timeout='close'),
                    adapter)
    deploy.run()
    assert deploy.switch.long_lived == dict(open_at_switch=5, open_at_deadline=2, closed=2)
    assert deploy.after().active.slot == 'green'
    assert deploy.runner.report['retired'][0]['name'] == 'web-previous'
    assert any('still active after drain_timeout=3s' in w for w in deploy.warnings)


def test_watch_keeps_the_old_member_at_weight_1_then_drains_it_with_its_weight_back():
    adapter = Logged(blue_green(), health={'g': [UP]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], watch=2), adapter)
    deploy.run()
    assert timeline(deploy.api) == ['create_container', 'start', 'g=enabled b@1', 'b=drained@100',
                                    'rename', 'rename', 'stop', 'remove_container']
    assert states(adapter) == {'b': (DRAINED, 100), 'g': (ENABLED, 100)}


def test_a_failed_watch_puts_the_weights_back_and_removes_the_candidate():
    api_holder = {}

    def crash_during_watch(checks, timeout, interval, success_threshold, **kwargs):
        if success_threshold > 1:          # the watch (4 polls of 0.5 s)
            return _result(False, 'container web-candidate exited (exit code 1)')
        return _result(True, 'Ready')
    adapter = Logged(blue_green(), health={'g': [UP]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], watch=2, wait=crash_during_watch), adapter)
    api_holder['api'] = deploy.api
    msg = deploy.fails()
    assert ('switch to web-candidate failed: watch of web-candidate (2s, the old container kept as the fallback): '
            'container web-candidate exited (exit code 1)') in msg
    assert "balancers put back: haproxy backend 'app' (b enabled, g drained)" in msg
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}
    assert timeline(deploy.api)[2:5] == ['g=enabled b@1', 'b@100 g=drained', 'stop']


def _result(ok, msg):
    from ansible_collections.zerodowntime.deploy.plugins.module_utils._readiness import ReadinessResult
    return ReadinessResult(ok, 0.1, 1, [], msg, not ok)


@pytest.mark.parametrize('after, phase, timeline_', [
    # a reload seen by the re-check right before the stop (after the renames)
    ('rename', 'stopping web-previous',
     ['create_container', 'start', 'g=enabled', 'b=drained', 'rename', 'rename', 'b=drained', 'stop',
      'remove_container']),
    # a restart while the old container stopped, seen by the last look
    ('stop', 'after retiring the old container',
     ['create_container', 'start', 'g=enabled', 'b=drained', 'rename', 'rename', 'stop', 'remove_container',
      'b=drained']),
])
def test_a_member_the_balancer_put_back_into_rotation_is_drained_again(after, phase, timeline_):
    def lose_state_once(adapter, number):
        if adapter.api is not None and not adapter.lost and any(c[0] == after for c in adapter.api.calls):
            adapter.lost = True
            adapter.members['b'].state = ENABLED
    adapter = Logged(blue_green(), health={'g': [UP]}, on_read=lose_state_once, active={'b': [0]})
    adapter.lost = False
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter]), adapter)
    deploy.run()
    assert deploy.switch.reasserted == [dict(
        balancer='haproxy', backend='app', member='b', phase=phase,
        found=dict(state=ENABLED, weight=100, status=''), wanted=dict(state=DRAINED, weight=None))]
    assert timeline(deploy.api) == timeline_
    assert states(adapter) == {'b': (DRAINED, 100), 'g': (ENABLED, 100)}
    assert any('lost the state this run holds' in w for w in deploy.warnings)


def _restarting_after_the_stop(unanswered):
    """on_read: once the old container stopped, the balancer restarts - ``unanswered`` reads
    refused - and comes back with the old member in rotation."""
    def on_read(adapter, number):
        if adapter.api is None or not any(c[0] == 'stop' for c in adapter.api.calls):
            return
        if adapter.refused < unanswered:
            adapter.refused += 1
            raise BalancerConnectionError('Cannot connect to the HAProxy runtime API: connection refused')
        if adapter.refused == unanswered:
            adapter.refused += 1
            adapter.members['b'].state = ENABLED
    return on_read


def test_a_balancer_restarting_at_the_last_look_is_waited_for_then_reasserted():
    adapter = Logged(blue_green(), health={'g': [UP]}, on_read=_restarting_after_the_stop(3), active={'b': [0]})
    adapter.refused = 0
    adapter.persistence = lambda: 'server-state file: not seen'
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter]), adapter)
    deploy.run()
    assert deploy.switch.results()['balancers'][0]['persistence'] == 'server-state file: not seen'
    assert [e['phase'] for e in deploy.switch.reasserted] == ['after retiring the old container']
    assert states(adapter) == {'b': (DRAINED, 100), 'g': (ENABLED, 100)}
    restarts = deploy.switch.results()['balancers'][0]['restarts']
    assert [r['phase'] for r in restarts] == ['after retiring the old container']
    assert restarts[0]['unreachable_seconds'] > 0 and 'connection refused' in restarts[0]['error']


def test_a_balancer_gone_at_the_last_look_fails_saying_the_containers_are_in_place():
    adapter = Logged(blue_green(), health={'g': [UP]}, on_read=_restarting_after_the_stop(1000), active={'b': [0]})
    adapter.refused = 0
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], healthy_timeout=2), adapter)
    msg = deploy.fails()
    assert msg.startswith("Service web: putting the balancers into their end state failed: balancers[0] (haproxy "
                          "backend 'app'): ")
    assert 'the balancer did not answer for 2s' in msg and 'connection refused' in msg
    assert 'The containers are in place (active: web, slot green); run again to converge the balancers.' in msg
    assert deploy.after().active.slot == 'green'


def test_a_balancer_that_cannot_be_put_back_keeps_the_candidate_and_says_so():
    adapter = Logged(blue_green(), health={'g': [DOWN]},
                     fail_applies={2: ApplyError('the runtime API refused: permission denied')})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], healthy_timeout=1), adapter)
    msg = deploy.fails()
    assert ("balancers that could NOT be put back - check them: balancers[0] (haproxy backend 'app'): Changing "
            "backend 'app' of the fake balancer failed during the first transaction: the runtime API refused: "
            "permission denied") in msg
    assert ('web-candidate was kept: a balancer could not be put back and may still send it requests' in msg)
    assert deploy.after().candidate is not None and deploy.after().candidate.running


def test_two_balancers_the_second_refuses_the_switch_the_first_is_put_back_the_second_left_alone():
    first = Logged(blue_green(), health={'g': [UP]})
    second = Logged(blue_green(), fail_applies={1: BalancerConnectionError('connection refused')})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [first, second], entries=[HAPROXY, dict(HAPROXY, backend='api')]),
                    first)
    msg = deploy.fails()
    assert "switch to web-candidate failed: balancers[1] (haproxy backend 'api')" in msg
    assert "balancers put back: haproxy backend 'app' (b enabled, g drained); web-candidate was removed" in msg
    assert states(first) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}
    assert second.applies() == [[Change('g', ENABLED)]]        # refused: nothing to put back there


def test_an_unreachable_balancer_fails_before_any_change():
    adapter = Logged(blue_green())

    def down(dummy_adapter, dummy_number):
        raise BalancerConnectionError('HAProxy runtime API at /run/haproxy/admin.sock: connection refused')
    adapter.on_read = down
    with pytest.raises(_switch.SwitchSpecError) as err:
        Deploy({A: ('blue', RUN, False)}, [adapter])
    assert str(err.value) == ("container_hotswap: service web: balancers[0] (haproxy backend 'app'): HAProxy runtime API at "
                              "/run/haproxy/admin.sock: connection refused Nothing was changed.")


def test_candidate_not_ready_never_touches_the_balancers():
    adapter = Logged(blue_green())
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter],
                           want=desired(image='app:never', image_id=NEVER_READY)), adapter)
    msg = deploy.fails()
    assert 'ready web-candidate failed' in msg and 'balancers put back' not in msg
    assert adapter.applies() == []


def test_same_version_converges_the_balancers_and_changes_nothing_when_they_are_right():
    adapter = Logged(blue_green())
    deploy = Deploy({A: ('blue', RUN, True)}, [adapter])
    deploy.run()
    assert adapter.applies() == [] and deploy.switch.changed is False


def test_same_version_puts_the_active_member_back_into_rotation():
    adapter = Logged(blue_green(blue=DRAINED, green=DRAINED))
    deploy = Deploy({A: ('blue', RUN, True)}, [adapter])
    deploy.run()
    assert adapter.applies() == [[Change('b', ENABLED)]] and deploy.switch.changed is True


def test_staged_parks_the_candidates_member():
    adapter = Logged(blue_green(green=ENABLED, green_health=UP))
    deploy = Deploy({A: ('blue', RUN, False)}, [adapter], phase=hs.STAGED)
    deploy.run()
    assert deploy.after().candidate.slot == 'green'
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}


def test_rolled_back_swaps_back_to_the_previous_container_through_the_balancer():
    adapter = Logged(blue_green(blue=ENABLED, green=DRAINED, green_health=DOWN), health={'g': [UP]})
    deploy = attach(Deploy({A: ('blue', RUN, True), P: ('green', EXITED, False)}, [adapter],
                           phase=hs.ROLLED_BACK), adapter)
    deploy.run()
    assert timeline(deploy.api) == ['start', 'g=enabled', 'b=drained', 'rename', 'rename', 'stop',
                                    'remove_container']
    after = deploy.after()
    assert after.active.slot == 'green' and after.active.image_id == 'sha256:v1' and after.candidate is None
    assert not any(c[0] == 'pull' for c in deploy.api.calls)


def test_rolled_back_whose_switch_fails_stops_the_previous_again():
    adapter = Logged(blue_green(), health={'g': [DOWN]})
    deploy = attach(Deploy({A: ('blue', RUN, True), P: ('green', EXITED, False)}, [adapter],
                           phase=hs.ROLLED_BACK, healthy_timeout=1), adapter)
    msg = deploy.fails()
    assert 'switch to web-previous failed' in msg and 'web-previous was stopped again' in msg
    assert "balancers put back: haproxy backend 'app' (b enabled, g drained)" in msg
    assert states(adapter) == {'b': (ENABLED, 100), 'g': (DRAINED, 100)}
    assert deploy.after().active.slot == 'blue'


def test_stop_timeout_0_stays_0_when_a_rollback_stops_the_previous_again():
    adapter = Logged(blue_green(), health={'g': [DOWN]})
    deploy = Deploy({A: ('blue', RUN, True), P: ('green', EXITED, False)}, [adapter], phase=hs.ROLLED_BACK,
                    healthy_timeout=1)
    deploy.api.by_name('web-previous')['Config']['StopTimeout'] = 0
    deploy.before = state_of(deploy.api)
    deploy.fails()
    assert [c[2]['timeout'] for c in deploy.api.calls if c[0] == 'stop'] == [0]


# ------------------------------------------------------------------ rolling member mode

def test_rolling_drains_first_rechecks_before_the_stop_and_enables_at_the_end():
    adapter = Logged(one_member(), active={'m': [2, 0]})
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], entries=[ROLLING]), adapter)
    deploy.run()
    assert timeline(deploy.api) == ['m=drained', 'create_container', 'start', 'rename', 'rename', 'stop',
                                    'remove_container', 'm=enabled']
    assert deploy.switch.results()['balancers'][0]['active_at_switch'] == 2
    assert states(adapter)['m'] == (ENABLED, 100)


def test_rolling_with_the_current_container_does_not_drain_and_changes_nothing():
    adapter = Logged(one_member())
    deploy = Deploy({A: ('blue', RUN, True)}, [adapter], entries=[ROLLING])
    deploy.run()
    assert adapter.applies() == [] and deploy.switch.changed is False


def test_rolling_with_the_current_container_enables_a_drained_member():
    adapter = Logged(one_member(state=DRAINED))
    deploy = Deploy({A: ('blue', RUN, True)}, [adapter], entries=[ROLLING])
    deploy.run()
    assert adapter.applies() == [[Change('m', ENABLED)]]


def test_rolling_candidate_not_ready_puts_the_member_back():
    adapter = Logged(one_member())
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], entries=[ROLLING],
                           want=desired(image='app:never', image_id=NEVER_READY)), adapter)
    msg = deploy.fails()
    # the member reaches whichever container listens: the candidate goes before it is put back
    assert "web-candidate was removed; balancers put back: haproxy backend 'app' (m enabled); the active" in msg
    assert states(adapter)['m'] == (ENABLED, 100)
    assert timeline(deploy.api) == ['m=drained', 'create_container', 'start', 'stop', 'remove_container',
                                    'm=enabled']


def test_rolling_last_member_guard_fails_before_any_change():
    adapter = Logged(one_member(others=False))
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], entries=[ROLLING]), adapter)
    msg = deploy.fails()
    assert "Refusing to take 'm' out of rotation" in msg
    assert timeline(deploy.api) == [] and deploy.after().active.image_id == 'sha256:v1'


def test_rolling_reload_while_replacing_is_reasserted_before_the_old_container_stops():
    def reload_after_create(adapter, dummy_number):
        if adapter.api is not None and not adapter.reloaded and any(c[0] == 'create_container' for c in adapter.api.calls):
            adapter.reloaded = True
            adapter.members['m'].state = ENABLED
    adapter = Logged(one_member(), on_read=reload_after_create)
    adapter.reloaded = False
    deploy = attach(Deploy({A: ('blue', RUN, False)}, [adapter], entries=[ROLLING]), adapter)
    deploy.run()
    assert [e['member'] for e in deploy.switch.reasserted] == ['m']
    assert timeline(deploy.api) == ['m=drained', 'create_container', 'start', 'rename', 'rename', 'm=drained',
                                    'stop', 'remove_container', 'm=enabled']


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize('entry, options, msg', [
    (dict(HAPROXY, connection=dict(haproxy_socket='/s', bogus=1)), {},
     "balancers[0] (haproxy backend 'app'): connection: unknown option(s) bogus (known: apache_ca_path"),
    (dict(HAPROXY, member='m'), {},
     "balancers[0] (haproxy backend 'app'): members (blue/green switch) and member (rolling mode) are mutually "
     "exclusive. Nothing was changed."),
    (dict(balancer='haproxy', backend='app', connection=dict(haproxy_socket='/s')), {},
     "balancers[0] (haproxy backend 'app'): one of members"),
    (dict(HAPROXY, connection={}), {},
     "balancers[0] (haproxy backend 'app'): connection: balancer is haproxy but all of the following are "
     "missing: haproxy_socket. Nothing was changed."),
    (dict(HAPROXY, members=dict(blue='x', green='x')), {},
     "members.blue and members.green are both 'x'"),
    (HAPROXY, dict(strategy='reuseport'), "members (one member per slot) needs strategy=balancer"),
    (ROLLING, dict(state='staged'), "member (rolling mode) works with state present, rolled_back, not staged"),
    (HAPROXY, dict(drain_timeout=-1), "drain_timeout: must be a number of seconds >= 0, got -1.0"),
])
def test_invalid_balancers_fail_naming_the_entry(entry, options, msg):
    with pytest.raises(_switch.SwitchSpecError) as err:
        _switch.validate(params(balancers=[entry], **options), SERVICE)
    assert str(err.value).startswith('container_hotswap: service web: ')
    assert msg in str(err.value) and str(err.value).endswith('Nothing was changed.')


def test_mixed_modes_are_refused():
    with pytest.raises(_switch.SwitchSpecError) as err:
        _switch.validate(params(balancers=[HAPROXY, dict(ROLLING, backend='other')]), SERVICE)
    assert 'every entry must use members' in str(err.value)


def test_connection_options_reach_the_adapter_and_healthy_timeout_is_per_balancer():
    validated = _switch.validate(params(balancers=[dict(HAPROXY, connection=dict(
        haproxy_socket='tcp://127.0.0.1:9999', healthy_timeout=7, request_timeout=3))], healthy_timeout=60), SERVICE)
    member_params = validated[0]['params']
    assert member_params['haproxy_socket'] == 'tcp://127.0.0.1:9999'
    assert member_params['healthy_timeout'] == 7 and member_params['request_timeout'] == 3
    assert member_params['drain_timeout'] == 300 and member_params['min_active'] == 1


def test_the_documented_connection_options_are_the_ones_accepted():
    import re
    import yaml
    from ansible_collections.zerodowntime.deploy.plugins.modules import container_hotswap
    doc = yaml.safe_load(container_hotswap.DOCUMENTATION)
    text = ' '.join(doc['options']['balancers']['suboptions']['connection']['description'])
    assert tuple(sorted(re.findall(r'C\(([a-z_]+)\)', text))) == _switch.CONNECTION_KEYS
