# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The time budget of a run: the share of swap time of each run of ours, and who honours it."""

import pytest

from zdtbench import budget, playbook
from zdtbench.strategy import BenchEnv, Strategy, StrategyError
from zdtbench.swaps import Swap

from ansible_collections.zerodowntime.deploy.tests.unit.bench.test_bench_playbook import BASE, swap_events

ENV = BenchEnv(1, (), {'v1': 'app:v1', 'v2': 'app:v2'}, 'x-', 3)


def test_no_budget_no_share():
    assert budget.swap_seconds(100.0, None, 50.0, 3) is None


def test_what_the_fixed_parts_leave_is_shared_equally():
    assert budget.swap_seconds(100.0, 1000.0, 300.0, 4) == 150.0      # (1000 - 100 - 300) / 4


def test_an_overdrawn_budget_still_lets_one_swap_run():
    assert budget.swap_seconds(990.0, 1000.0, 300.0, 4) == budget.MIN_SWAP_SECONDS


def test_fixed_seconds_count_whole_plans_that_do_not_share():
    plans = ['baseline', 'ours', 'ours']
    total = budget.fixed_seconds(plans, lambda plan: 20.0, lambda plan: 30.0 if plan == 'baseline' else None)
    assert total == 70.0


class Clocked(Strategy):
    """Each swap takes 1 s of a fake clock."""

    def __init__(self, clock):
        super(Clocked, self).__init__('clocked')
        self.clock = clock

    def swap(self, spec):
        self.clock[0] += 1.0
        return Swap(spec.index, self.clock[0] - 1.0, self.clock[0], spec.old_version, spec.new_version, [])


def test_a_strategy_starts_no_swap_after_its_share(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr('zdtbench.strategy.time.monotonic', lambda: clock[0])
    monkeypatch.setattr('zdtbench.strategy.time.sleep', lambda seconds: None)
    strategy = Clocked(clock)
    assert len(strategy.run_swaps(ENV.swap_specs(10), 0.0, seconds=2.5)) == 3     # starts at 0, 1, 2
    clock[0] = 0.0
    assert len(strategy.run_swaps(ENV.swap_specs(10), 0.0)) == 10
    clock[0] = 0.0
    assert len(strategy.run_swaps(ENV.swap_specs(10), 0.0, seconds=0.0)) == 1      # the first always runs


def playbook_strategy(monkeypatch, events, seen):
    strategy = playbook.PlaybookStrategy('bg', 'bg.yml')

    def run(action, **extra):
        seen.update(extra)
        return events

    monkeypatch.setattr(strategy, '_run', run)
    monkeypatch.setattr(playbook.time, 'time', lambda: BASE + 100.0)
    return strategy


def test_a_playbook_gets_the_deadline_and_may_do_fewer_swaps(monkeypatch):
    seen = {}
    strategy = playbook_strategy(monkeypatch, swap_events(0, 10.0) + swap_events(1, 20.0), seen)
    swaps = strategy.run_swaps(ENV.swap_specs(5), 0.5, seconds=30.0)
    assert [swap.index for swap in swaps] == [0, 1]
    assert seen['bench_swap_deadline'] == pytest.approx(BASE + 130.0) and seen['bench_swap_pause'] == 0.5


def test_without_a_budget_every_swap_must_be_reported(monkeypatch):
    seen = {}
    strategy = playbook_strategy(monkeypatch, swap_events(0, 10.0), seen)
    with pytest.raises(StrategyError, match=r'swaps \[0, 1\] asked, \[0\] reported'):
        strategy.run_swaps(ENV.swap_specs(2), 0.5)
    assert 'bench_swap_deadline' not in seen


def test_with_a_budget_the_swaps_done_are_the_first_ones(monkeypatch):
    strategy = playbook_strategy(monkeypatch, swap_events(1, 10.0), {})
    with pytest.raises(StrategyError, match=r'reported'):
        strategy.run_swaps(ENV.swap_specs(3), 0.5, seconds=10.0)
