# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-strategy totals, best baseline, summary line."""

from zdtbench import compare, report

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import run_record


def test_aggregate_over_measured_runs():
    totals = compare.aggregate([run_record(failed_count=2, wall=1.0, throughput_ratio=0.8),
                                run_record(failed_count=1, wall=3.0, p99_ratio=3.0),
                                run_record(error='boom')])
    assert totals['runs'] == 2 and totals['broken_runs'] == 1
    assert totals['failed'] == 3 and totals['requests'] == 2000 and totals['swaps'] == 40
    assert totals['median_wall_s'] == 2.0
    assert totals['throughput_ratio'] == 0.8 and totals['p99_ratio'] == 3.0


def test_summary_of_a_strategy_without_a_completed_run():
    broken = run_record(error='boom')
    broken.update(requests=10, failed=1)
    totals = compare.aggregate([broken])
    assert compare.summary_line('x', totals, {}, None, None) == 'x: no run completed (1 failed of 10 requests sent)'


def test_best_baseline_fewest_failed_then_fastest():
    totals = dict(naive=dict(runs=1, failed=100, median_wall_s=0.5),
                  slow=dict(runs=1, failed=0, median_wall_s=2.0),
                  fast=dict(runs=1, failed=0, median_wall_s=1.0),
                  ours=dict(runs=1, failed=0, median_wall_s=0.1))
    assert compare.best_baseline(totals, ['naive', 'slow', 'fast']) == 'fast'
    assert compare.best_baseline(totals, []) is None


def test_summary_line_states_ratios_against_the_baseline():
    best = compare.aggregate([run_record(wall=1.0, throughput_ratio=0.9)])
    ours = compare.aggregate([run_record(wall=1.5, throughput_ratio=0.95)])
    result = dict(a=dict(met=True), b=dict(met=False), c=dict(met=None))
    line = compare.summary_line('blue_green-nginx', ours, result, 'hand', best)
    assert line.startswith('blue_green-nginx: 0 failed of 1000 requests over 20 swaps')
    assert 'median swap 1.50 s = 1.50x the best baseline' in line
    assert 'swap throughput 0.95 of steady (baseline 0.90)' in line
    assert line.endswith('targets met 1, missed 1, n/a 1')


def test_strategies_are_evaluated_with_their_hand_script():
    runs = [run_record('hand', wall=1.0, failed_count=0), run_record('ours', wall=3.0)]
    infos = dict(hand=dict(name='hand', kind='baseline', hand_script=None),
                 ours=dict(name='ours', kind='ours', hand_script='hand'))
    strategies, best = report.evaluate_strategies(runs, infos)
    assert best == 'hand'
    assert list(strategies) == ['hand', 'ours']
    assert strategies['ours']['targets']['wall_vs_hand']['met'] is False
    assert strategies['hand']['targets']['wall_vs_hand']['met'] is None
    assert strategies['ours']['wall']['vs_hand'] == 3.0 and strategies['hand']['wall']['vs_hand'] is None
