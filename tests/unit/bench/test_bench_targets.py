# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target evaluation per strategy."""

from zdtbench import targets

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import run_record

BOTH_256 = [run_record(keepalive=True), run_record(keepalive=False)]


def test_zero_failed_needs_both_256_loads_with_20_swaps():
    assert targets.zero_failed(BOTH_256)['met'] is True
    only_keepalive = targets.zero_failed(BOTH_256[:1])
    assert only_keepalive['met'] is None and 'not run at 256 clients' in only_keepalive['detail']
    too_few_swaps = targets.zero_failed([run_record(keepalive=True, swaps=6), run_record(keepalive=False, swaps=6)])
    assert too_few_swaps['met'] is None


def test_any_failure_misses_the_zero_target_whatever_the_coverage():
    result = targets.zero_failed([run_record(concurrency=4, failed_count=3)])
    assert result == dict(met=False, detail='3 failed over 1 runs')


def test_broken_runs_are_not_measurements_but_their_failures_count():
    assert targets.zero_failed(BOTH_256 + [run_record(error='boom')]) == dict(
        met=None, detail='0 failed over 3 runs (1 did not complete)')
    broken = run_record(error='boom')
    broken.update(requests=10, failed=1)
    assert targets.zero_failed(BOTH_256 + [broken])['met'] is False


def test_p99_and_throughput_use_the_worst_run():
    runs = [run_record(p99_ratio=1.5, throughput_ratio=0.95), run_record(p99_ratio=2.5, throughput_ratio=0.85)]
    assert targets.p99(runs) == dict(met=False, detail='worst swap/steady p99 2.50x')
    assert targets.throughput(runs) == dict(met=False, detail='lowest swap/steady throughput 0.85')
    assert targets.p99(runs[:1])['met'] is True and targets.throughput(runs[:1])['met'] is True


def test_missing_ratios_are_not_measured():
    run = run_record()
    run['p99_ratio'] = None
    assert targets.p99([run])['met'] is None


def test_mixed_window_against_longest_in_flight():
    assert targets.mixed_window([run_record(mixed=5.0, in_flight=10.0)])['met'] is True
    assert targets.mixed_window([run_record(mixed=50.0, in_flight=10.0)])['met'] is False
    assert targets.mixed_window([run_record(mixed=50.0)], applies=False)['met'] is None


def test_wall_time_against_the_hand_script():
    hand = [run_record(wall=1.0)]
    assert targets.wall_vs_hand([run_record(wall=1.9)], hand)['met'] is True
    result = targets.wall_vs_hand([run_record(wall=2.5)], hand)
    assert result['met'] is False and '2.50x' in result['detail']
    assert targets.wall_vs_hand([run_record()], None)['met'] is None


def test_evaluate_names_every_target():
    info = dict(hand_script=None, mixed_window_target=False)
    result = targets.evaluate(BOTH_256, info)
    assert set(result) == set(target.key for target in targets.TARGETS)
    assert result['mixed_window']['met'] is None and result['wall_vs_hand']['met'] is None


def test_wall_time_is_the_median_over_the_runs():
    runs = [run_record(wall=1.0), run_record(wall=3.0)]
    assert targets.wall_vs_hand(runs, [run_record(wall=1.0)])['detail'] == 'median swap 2.00 s vs hand 1.00 s (2.00x)'
