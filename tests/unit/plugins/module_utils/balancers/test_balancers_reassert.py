# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Re-assertion: a balancer that reloads or restarts during a run and loses the states the run
set (HAProxy without a server-state file, Apache after any restart) gets them back, each time is
reported, and a balancer that keeps losing them fails the run with a message naming it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DRAINED, ENABLED, UP, BalancerConnectionError, Change, Request, make_plan,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import Run, RunFailure
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeAdapter,
)
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.test_balancers_runner import (
    params, two,
)


class ReloadingAdapter(FakeAdapter):
    """FakeAdapter whose balancer 'reloads' at given reads: ``at``: {read number (1-based):
    {member: (state, weight)}} - the states the reload leaves (what its configuration says).
    Each reload starts a new generation; ``down``: read numbers at which it does not answer."""

    keep_state_hint = 'Use a state file.'

    def __init__(self, members, at=None, down=(), **kwargs):
        FakeAdapter.__init__(self, members, **kwargs)
        self.at = dict(at or {})
        self.down = set(down)
        self.reads = 0
        self.gen = 1

    def read(self, backend):
        self.reads += 1
        if self.reads in self.down:
            self.calls.append(('read', backend))
            raise BalancerConnectionError('Cannot connect to the fake balancer: connection refused.')
        reload = self.at.get(self.reads)
        if reload is not None:
            self.gen += 1
            for name, (state, weight) in reload.items():
                self.members[name].state = state
                if weight is not None:
                    self.members[name].weight = weight
        current = FakeAdapter.read(self, backend)
        current.generation = 'pid %d' % self.gen
        return current


def make_run(adapter, clock, warnings=None, check_mode=False, **given):
    return Run(adapter, params(**given), check_mode=check_mode, clock=clock, sleep=clock.sleep,
               warn=(warnings.append if warnings is not None else None), wallclock=lambda: 1700000000.0)


def cutover(**given):
    given.setdefault('members', [dict(name='a', state='enabled', weight=None), dict(name='b', state='drained', weight=None)])
    return given


def test_a_reload_during_the_drain_is_reasserted_reported_and_the_drain_waited_again(clock):
    # reads: 1 plan, 2 verify, 3 healthy wait, 4 drain poll: the reload put b back in rotation
    # and a out (its configuration), then 5 verify the re-assertion, 6 healthy, 7 drain, 8 final.
    adapter = ReloadingAdapter(two(a_state=DISABLED, b_state=ENABLED), at={4: {'a': (DISABLED, None), 'b': (ENABLED, None)}},
                               active={'b': [0]})
    warnings = []
    result = make_run(adapter, clock, warnings, **cutover()).run()
    assert adapter.applies() == [[Change('a', ENABLED), Change('b', DRAINED)],
                                 [Change('a', ENABLED), Change('b', DRAINED)]]
    assert result['reasserted'] == [
        dict(member='a', phase='drain', at=1700000000.0, found=dict(state=DISABLED, weight=1, status=''),
             wanted=dict(state=ENABLED, weight=None)),
        dict(member='b', phase='drain', at=1700000000.0, found=dict(state=ENABLED, weight=1, status=''),
             wanted=dict(state=DRAINED, weight=None))]
    assert result['restarts'] == [dict(phase='drain', at=1700000000.0, before='pid 1', after='pid 2')]
    assert result['after']['a']['state'] == ENABLED and result['after']['b']['state'] == DRAINED
    assert result['changed'] is True
    assert warnings == [
        "backend 'app' of the fake balancer lost the state this run holds during drain (a reload or restart "
        "of the balancer?): found 'a' disabled (weight 1, status ''), wanted enabled; 'b' enabled (weight 1, "
        "status ''), wanted drained. Re-asserted it (1 of at most 3)."]


def test_a_drain_that_counts_zero_is_not_declared_done_when_the_member_is_back_in_rotation(clock):
    # The drain poll that would see 0 active is the one that sees b enabled again: not drained.
    adapter = ReloadingAdapter(two(b_state=ENABLED), at={3: {'b': (ENABLED, None)}}, active={'b': [0]})
    result = make_run(adapter, clock, member='b', state='drained').run()
    assert [r['member'] for r in result['reasserted']] == ['b']
    assert adapter.applies() == [[Change('b', DRAINED)], [Change('b', DRAINED)]]
    assert result['after']['b']['state'] == DRAINED


def test_a_reload_after_the_drain_before_the_final_read_is_caught(clock):
    # reads: 1 plan, 2 verify, 3 drain poll (0 active), 4 final check: reloaded.
    adapter = ReloadingAdapter(two(), at={4: {'b': (ENABLED, None)}}, active={'b': [0]})
    result = make_run(adapter, clock, member='b', state='drained').run()
    assert [(r['member'], r['phase']) for r in result['reasserted']] == [('b', 'drain')]
    assert result['after']['b']['state'] == DRAINED


def test_a_weight_reset_by_a_reload_is_reasserted(clock):
    adapter = ReloadingAdapter(two(), at={4: {'a': (ENABLED, 100)}})
    result = make_run(adapter, clock, member='a', state='enabled', weight=7).run()
    assert adapter.applies() == [[Change('a', weight=7)], [Change('a', weight=7)]]
    assert result['reasserted'][0]['found']['weight'] == 100
    assert result['reasserted'][0]['wanted'] == dict(state=ENABLED, weight=7)
    assert result['reasserted'][0]['phase'] == 'drain'


def test_a_weight_the_run_did_not_set_is_not_held(clock):
    # A ramp-less enable without a weight: a reload that changes the weight is not a lost state.
    adapter = ReloadingAdapter(two(a_state=DISABLED), at={3: {'a': (ENABLED, 50)}})
    result = make_run(adapter, clock, member='a', state='enabled').run()
    assert result['reasserted'] == [] and len(adapter.applies()) == 1
    assert result['restarts'][0]['before'] == 'pid 1'


def test_a_reload_that_keeps_the_state_is_seen_but_not_reasserted(clock):
    # HAProxy with a server-state file: new generation, same states.
    adapter = ReloadingAdapter(two(), at={3: {}}, active={'b': [2, 0]})
    result = make_run(adapter, clock, member='b', state='drained').run()
    assert result['reasserted'] == [] and len(adapter.applies()) == 1
    assert result['restarts'] == [dict(phase='drain', at=1700000000.0, before='pid 1', after='pid 2')]


def test_a_balancer_that_keeps_losing_the_state_fails_naming_it_and_what_it_found(clock):
    adapter = ReloadingAdapter(two(), at=dict((n, {'b': (ENABLED, None)}) for n in range(3, 40)), active={'b': [0]})
    with pytest.raises(RunFailure) as info:
        make_run(adapter, clock, member='b', state='drained', max_reassertions=2).run()
    assert info.value.msg == (
        "backend 'app' of the fake balancer lost the state this run holds again during drain, after 2 "
        "re-assertion(s) (max_reassertions=2): found 'b' enabled (weight 1, status ''), wanted drained. The "
        "balancer keeps reloading or restarting (3 reload(s)/restart(s) seen). Use a state file. Changed by "
        "this run and left so: b drained; b drained; b drained.")
    assert len(info.value.result['reasserted']) == 2 and info.value.result['changed'] is True


def test_max_reassertions_zero_fails_at_the_first_loss(clock):
    adapter = ReloadingAdapter(two(), at={3: {'b': (ENABLED, None)}})
    with pytest.raises(RunFailure, match=r"after 0 re-assertion\(s\) \(max_reassertions=0\)"):
        make_run(adapter, clock, member='b', state='drained', max_reassertions=0).run()
    assert len(adapter.applies()) == 1


def test_a_balancer_restarting_during_the_drain_is_waited_for_and_reported(clock):
    # reads 3-5 fail (restart), 6 answers with the configuration's states.
    adapter = ReloadingAdapter(two(), at={6: {'b': (ENABLED, None)}}, down=(3, 4, 5), active={'b': [0]})
    result = make_run(adapter, clock, member='b', state='drained', poll_interval=0.5).run()
    assert result['restarts'][0] == dict(phase='drain', at=1700000000.0, unreachable_seconds=1.5,
                                         error='Cannot connect to the fake balancer: connection refused.')
    assert result['restarts'][1]['after'] == 'pid 2'
    assert [r['member'] for r in result['reasserted']] == ['b']
    assert result['after']['b']['state'] == DRAINED


def test_a_balancer_that_stays_away_fails_the_drain_wait_saying_so(clock):
    adapter = ReloadingAdapter(two(), down=range(3, 100))
    with pytest.raises(RunFailure) as info:
        make_run(adapter, clock, member='b', state='drained', drain_timeout=1.0).run()
    assert info.value.msg == (
        "backend 'app' of the fake balancer: the balancer did not answer for drain_timeout=1s (6 polls): "
        "Cannot connect to the fake balancer: connection refused. Changed by this run and left so: b drained.")


def test_drain_timeout_after_a_restart_says_the_balancer_restarted(clock):
    adapter = ReloadingAdapter(two(), at={3: {}}, active={'b': [4]})
    with pytest.raises(RunFailure) as info:
        make_run(adapter, clock, member='b', state='drained', drain_timeout=1.0).run()
    assert 'The balancer reloaded or restarted 1 time(s) during the run (see restarts).' in info.value.msg


# ------------------------------------------------------------------ reassert(): for container_hotswap

def test_reassert_when_nothing_was_lost_makes_no_change_and_returns_nothing(clock):
    adapter = ReloadingAdapter(two(), active={'b': [0]})
    run = make_run(adapter, clock, member='b', state='drained')
    run.run()
    applies = len(adapter.applies())
    assert run.reassert('retire') == []
    assert len(adapter.applies()) == applies and run.result['reasserted'] == []


def test_reassert_before_retire_puts_back_what_a_reload_lost_and_waits_for_the_drain(clock):
    adapter = ReloadingAdapter(two(), active={'b': [0, 0, 3, 1, 0]})
    run = make_run(adapter, clock, member='b', state='drained', poll_interval=0.5)
    run.run()
    adapter.at[adapter.reads + 1] = {'b': (ENABLED, None)}
    before = clock.now
    done = run.reassert('retire')
    assert done == [dict(member='b', phase='retire', at=1700000000.0, found=dict(state=ENABLED, weight=1, status=''),
                         wanted=dict(state=DRAINED, weight=None))]
    assert run.result['reasserted'] == done
    assert adapter.applies()[-1] == [Change('b', DRAINED)]
    assert adapter.members['b'].state == DRAINED
    assert clock.now - before == 1.0          # waited for 3, 1 -> 0


def test_reassert_counts_against_the_same_bound_as_the_run(clock):
    adapter = ReloadingAdapter(two(), at={3: {'b': (ENABLED, None)}}, active={'b': [0]})
    run = make_run(adapter, clock, member='b', state='drained', max_reassertions=1)
    run.run()
    adapter.at[adapter.reads + 1] = {'b': (ENABLED, None)}
    with pytest.raises(RunFailure, match=r"during retire, after 1 re-assertion\(s\) \(max_reassertions=1\)"):
        run.reassert('retire')


def test_reassert_with_a_plan_of_its_own(clock):
    adapter = ReloadingAdapter(two(b_state=ENABLED), active={'b': [0]})
    plan = make_plan(adapter, adapter.read('app'), [Request('b', DRAINED)])
    run = make_run(adapter, clock, member='b', state='drained')
    done = run.reassert('retire', plan)
    assert [d['member'] for d in done] == ['b'] and adapter.members['b'].state == DRAINED


def test_reassert_in_check_mode_reports_and_changes_nothing(clock):
    adapter = ReloadingAdapter(two(b_state=ENABLED))
    plan = make_plan(adapter, adapter.read('app'), [Request('b', DRAINED)])
    run = make_run(adapter, clock, check_mode=True, member='b', state='drained')
    done = run.reassert('retire', plan)
    assert [d['member'] for d in done] == ['b']
    assert adapter.applies() == [] and clock.sleeps == []


def test_reassert_before_any_plan_does_nothing(clock):
    adapter = ReloadingAdapter(two())
    assert make_run(adapter, clock, member='b', state='drained').reassert('retire') == []
    assert adapter.calls == []


def test_reassert_failure_of_the_balancer_names_it(clock):
    adapter = ReloadingAdapter(two(), active={'b': [0]})
    run = make_run(adapter, clock, member='b', state='drained', drain_timeout=1.0)
    run.run()
    adapter.down = set(range(adapter.reads + 1, adapter.reads + 100))
    with pytest.raises(RunFailure) as info:
        run.reassert('retire')
    assert info.value.msg == (
        "backend 'app' of the fake balancer: the balancer did not answer for drain_timeout=1s (6 polls): "
        "Cannot connect to the fake balancer: connection refused. Changed by this run and left so: b drained.")


def test_a_run_without_reloads_reports_empty_lists(clock):
    result = make_run(ReloadingAdapter(two()), clock, member='b', state='drained').run()
    assert result['reasserted'] == [] and result['restarts'] == []
    assert [m['health'] for m in result['members']] == [UP, UP]


def test_a_patient_run_waits_for_a_balancer_restarting_before_its_first_read(clock):
    # container_hotswap's transactions: the balancer answered earlier in the deploy; reads 1-2
    # refused (restarting), 3 answers.
    adapter = ReloadingAdapter(two(), down=(1, 2), active={'b': [0]})
    run = Run(adapter, params(member='b', state='drained', poll_interval=0.5), clock=clock, sleep=clock.sleep,
              wallclock=lambda: 1700000000.0, patient=True)
    result = run.run()
    assert result['restarts'][0] == dict(phase='run', at=1700000000.0, unreachable_seconds=1.0,
                                         error='Cannot connect to the fake balancer: connection refused.')
    assert result['after']['b']['state'] == DRAINED


def test_a_patient_run_fails_saying_the_balancer_did_not_answer_and_changed_nothing(clock):
    adapter = ReloadingAdapter(two(), down=range(1, 100))
    run = Run(adapter, params(member='b', state='drained', healthy_timeout=2.0), clock=clock, sleep=clock.sleep,
              patient=True)
    with pytest.raises(RunFailure) as info:
        run.run()
    assert info.value.msg.startswith("backend 'app' of the fake balancer: the balancer did not answer for 2s (")
    assert 'connection refused' in info.value.msg and adapter.applies() == []


def test_balancer_members_own_first_read_fails_at_once(clock):
    adapter = ReloadingAdapter(two(), down=(1,))
    with pytest.raises(RunFailure) as info:
        make_run(adapter, clock, member='b', state='drained').run()
    assert info.value.msg == 'Cannot connect to the fake balancer: connection refused. Nothing was changed.'
    assert adapter.reads == 1 and clock.sleeps == []
