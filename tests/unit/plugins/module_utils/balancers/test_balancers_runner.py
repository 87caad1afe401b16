# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNCONFIRMED, UNKNOWN, UP,
    ApplyError, BalancerConnectionError, Change, Member,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import (
    ARGUMENT_SPEC, Run, RunFailure,
)
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeAdapter,
)


def params(**given):
    values = dict((name, spec.get('default')) for name, spec in ARGUMENT_SPEC.items())
    values.update(balancer='haproxy', backend='app', haproxy_socket='/run/haproxy/admin.sock')
    values.update(given)
    if values.get('ramp') is not None:
        ramp = dict(steps=[10, 25, 50, 100], pause=10.0)
        ramp.update(values['ramp'])
        values['ramp'] = ramp
    return values


def two(a_state=ENABLED, b_state=ENABLED, a_weight=1, a_health=UP, b_health=UP, config_weight=None):
    return [Member('a', a_state, weight=a_weight, health=a_health, serving=a_state == ENABLED and a_health != DOWN,
                   config_weight=config_weight),
            Member('b', b_state, weight=1, health=b_health, serving=b_state == ENABLED and b_health != DOWN)]


def run(adapter, clock, check_mode=False, diff=False, warnings=None, **given):
    return Run(adapter, params(**given), check_mode=check_mode, diff=diff, clock=clock, sleep=clock.sleep,
               warn=(warnings.append if warnings is not None else None)).run()


def test_check_mode_plans_and_makes_no_change_and_does_not_wait(clock):
    adapter = FakeAdapter(two(), active={'a': [5]})
    result = run(adapter, clock, check_mode=True, diff=True, member='a', state='drained')
    assert adapter.applies() == []
    assert clock.sleeps == []
    assert result['changed'] is True
    assert result['before']['a']['state'] == ENABLED and result['after']['a']['state'] == DRAINED
    assert result['active_start'] == {'a': 5} and result['active_end'] == {'a': 5}
    assert result['diff'] == {'before': {'a': {'state': ENABLED, 'weight': 1}},
                              'after': {'a': {'state': DRAINED, 'weight': 1}}}


def test_check_mode_of_a_ramp_reports_it(clock):
    adapter = FakeAdapter(two(a_state=DISABLED, a_weight=100, a_health=UNKNOWN, config_weight=100))
    result = run(adapter, clock, check_mode=True, member='a', state='enabled', ramp={'steps': [10, 50, 100]})
    assert result['changed'] and result['ramp'] == {'a': [10, 50, 100]} and adapter.applies() == []


def test_drain_waits_until_active_is_zero(clock):
    adapter = FakeAdapter(two(), active={'a': [3, 3, 2, 0, 0]})
    result = run(adapter, clock, member='a', state='drained', poll_interval=0.5)
    assert adapter.applies() == [[Change('a', DRAINED)]]
    assert result['changed'] is True
    assert result['active_start'] == {'a': 3} and result['active_end'] == {'a': 0}
    assert result['drain_seconds'] == 1.0 and clock.sleeps == [0.5, 0.5]
    assert result['after']['a']['state'] == DRAINED
    assert [m['name'] for m in result['members']] == ['a', 'b']


def test_counts_are_not_read_again_after_a_drain_wait(clock):
    adapter = FakeAdapter(two(), active={'a': [3, 0]})
    run(adapter, clock, member='a', state='drained')
    assert [c for c in adapter.calls if c[0] == 'active'] == [('active', ('a',)), ('active', ('a',))]


def test_already_in_state_is_unchanged_but_still_waits_for_active_requests(clock):
    adapter = FakeAdapter(two(a_state=DRAINED), active={'a': [1, 1, 0]})
    result = run(adapter, clock, member='a', state='drained')
    assert result['changed'] is False and adapter.applies() == []
    assert result['drain_seconds'] == pytest.approx(0.2)


def test_down_member_does_not_hang(clock):
    adapter = FakeAdapter(two(a_health=DOWN))
    result = run(adapter, clock, member='a', state='disabled')
    assert result['changed'] and clock.sleeps == [] and result['drain_seconds'] == 0.0


def test_drain_timeout_fails_and_says_what_was_left(clock):
    adapter = FakeAdapter(two(), active={'a': [4, 2]})
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='a', state='drained', drain_timeout=1.0)
    assert info.value.msg == (
        "backend 'app' of the fake balancer: still active after drain_timeout=1s (6 polls): 'a' 2 active. "
        "Changed by this run and left so: a drained.")
    assert info.value.result['changed'] is True and info.value.result['drain_timed_out'] is True
    assert info.value.result['active_end'] == {'a': 2}


def test_drain_timeout_proceeds_with_a_warning_when_told(clock):
    warnings = []
    adapter = FakeAdapter(two(), active={'a': [4, 2]})
    result = run(adapter, clock, warnings=warnings, member='a', state='drained', drain_timeout=1.0,
                 on_drain_timeout='proceed')
    assert result['drain_timed_out'] is True and result['changed'] is True
    assert warnings == ["backend 'app' of the fake balancer: still active after drain_timeout=1s (6 polls): "
                        "'a' 2 active. Proceeding as asked (on_drain_timeout=proceed)."]


def test_enable_waits_for_a_confirmed_health_check(clock):
    # reads after the change: verification, then the wait (unconfirmed, unconfirmed, up)
    adapter = FakeAdapter(two(a_state=DISABLED, a_health=UNKNOWN),
                          health={'a': [UNCONFIRMED, UNCONFIRMED, UNCONFIRMED, UP]})
    result = run(adapter, clock, member='a', state='enabled')
    assert result['after']['a']['health'] == UP
    assert clock.sleeps == [0.2, 0.2]


def test_enabling_a_member_that_fails_its_checks_is_not_success(clock):
    adapter = FakeAdapter(two(a_state=DISABLED, a_health=UNKNOWN), health={'a': [UNCONFIRMED, DOWN]})
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='a', state='enabled', healthy_timeout=2)
    assert info.value.msg.startswith(
        "backend 'app' of the fake balancer: member(s) meant to be enabled are not healthy after "
        "healthy_timeout=2s (11 polls); last seen: 'a' is down")
    assert info.value.msg.endswith('Changed by this run and left so: a enabled.')
    assert info.value.result['changed'] is True


def test_unknown_health_is_accepted(clock):
    adapter = FakeAdapter(two(a_state=DISABLED, a_health=UNKNOWN))
    assert run(adapter, clock, member='a', state='enabled')['changed'] and clock.sleeps == []


def test_wait_false_neither_waits_for_health_nor_drain(clock):
    adapter = FakeAdapter(two(b_health=UP), active={'a': [7]}, health={'b': [DOWN]})
    result = run(adapter, clock, members=[dict(name='a', state='drained', weight=None),
                                          dict(name='b', state='enabled', weight=None)], wait=False)
    assert clock.sleeps == [] and result['drain_seconds'] == 0.0


def test_cutover_is_one_transaction_entering_member_first(clock):
    adapter = FakeAdapter(two(b_state=DRAINED), active={'a': [2, 0]})
    result = run(adapter, clock, members=[dict(name='a', state='drained', weight=None),
                                          dict(name='b', state='enabled', weight=None)])
    assert adapter.applies() == [[Change('b', ENABLED), Change('a', DRAINED)]]
    assert result['after']['a']['state'] == DRAINED and result['after']['b']['state'] == ENABLED


def test_guard_failure_changes_nothing(clock):
    adapter = FakeAdapter(two(b_health=DOWN))
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='a', state='disabled')
    assert 'Refusing to take' in info.value.msg and info.value.msg.endswith('Nothing was changed.')
    assert adapter.applies() == [] and info.value.result['changed'] is False


def test_ramp_steps_with_pauses(clock):
    adapter = FakeAdapter(two(a_state=DISABLED, a_weight=100, a_health=UNKNOWN, config_weight=100))
    result = run(adapter, clock, member='a', state='enabled', ramp={'steps': [10, 50, 100], 'pause': 5})
    assert adapter.applies() == [[Change('a', ENABLED, 10)], [Change('a', weight=50)], [Change('a', weight=100)]]
    assert clock.sleeps == [5, 5]
    assert result['ramp'] == {'a': [10, 50, 100]} and result['after']['a']['weight'] == 100


def test_unknown_member_changes_nothing(clock):
    adapter = FakeAdapter(two())
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='c', state='drained')
    assert info.value.msg == ("Member 'c' not found in backend 'app' of the fake balancer. Members there: a, b. "
                              "Nothing was changed.")


def test_read_error_before_any_change(clock):
    class Broken(FakeAdapter):
        def read(self, backend):
            raise BalancerConnectionError('Cannot connect to the HAProxy runtime API at /x: refused.')
    with pytest.raises(RunFailure) as info:
        run(Broken(two()), clock, member='a', state='drained')
    assert info.value.msg == 'Cannot connect to the HAProxy runtime API at /x: refused. Nothing was changed.'


@pytest.mark.parametrize('partial, changed', [(False, False), (True, True)])
def test_apply_error(clock, partial, changed):
    adapter = FakeAdapter(two(), apply_error=ApplyError('the fake balancer refused it. Nothing was changed.', partial))
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='a', state='drained')
    assert info.value.msg == ("Changing backend 'app' of the fake balancer failed during the first transaction: "
                              "the fake balancer refused it. Nothing was changed.")
    assert info.value.result['changed'] is changed


def test_balancer_that_accepts_but_does_not_change_is_caught(clock):
    adapter = FakeAdapter(two(), ignore_apply=True)
    with pytest.raises(RunFailure) as info:
        run(adapter, clock, member='a', state='drained', weight=3)
    assert info.value.msg == ("the fake balancer accepted the first transaction but then reported: 'a' is enabled "
                              "(weight 1, status ), expected drained with weight 3. Changed by this run and left "
                              "so: a drained + weight 3.")


def test_idempotent_four_steps(clock):
    """check mode, real, repeat, repeat in check mode - changed True, True, False, False."""
    adapter = FakeAdapter(two())
    changed = []
    for check_mode in (True, False, False, True):
        changed.append(run(adapter, clock, check_mode=check_mode, member='a', state='disabled', weight=0)['changed'])
    assert changed == [True, True, False, False]
    assert len(adapter.applies()) == 1


def test_a_member_drained_to_zero_has_its_idle_connections_released(clock):
    adapter = FakeAdapter(two(), active={'a': [2, 0]})
    result = run(adapter, clock, member='a', state='drained')
    assert [c for c in adapter.calls if c[0] in ('active', 'release')][-2:] == [
        ('active', ('a',)), ('release', ('a',))]
    assert result['released'] == 'released a'


def test_no_release_when_the_drain_timed_out_or_in_check_mode_or_when_enabling(clock):
    adapter = FakeAdapter(two(), active={'a': [4]})
    run(adapter, clock, member='a', state='drained', drain_timeout=0.4, on_drain_timeout='proceed')
    assert not [c for c in adapter.calls if c[0] == 'release']
    adapter = FakeAdapter(two())
    run(adapter, clock, check_mode=True, member='a', state='drained')
    run(adapter, clock, member='a', state='enabled')
    assert not [c for c in adapter.calls if c[0] == 'release']
