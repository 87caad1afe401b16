# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Numbers of one run from samples and swaps; timeline buckets."""

import pytest

from zdtbench import stats
from zdtbench.swaps import Phase
from zdtbench.timeline import timeline

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import failed, ok, steady, swap


def one_swap_run():
    """10 s of load at 100 ok/s; a swap 4..5 s during which v1 answers at half rate, then 3 refused,
    then v2 at the full rate with slower requests."""
    samples = steady(0.0, 4.0, 0.01, 'v1')
    samples += steady(4.0, 4.5, 0.02, 'v1', latency=0.05)
    samples += [failed(4.5), failed(4.51, 'reset'), failed(4.52)]
    samples += steady(4.6, 5.0, 0.02, 'v2', latency=0.05)
    samples += steady(5.0, 10.0, 0.01, 'v2')
    samples.sort(key=lambda sample: sample.start)
    the_swap = swap(0, 4.0, 5.0, phases=[Phase('start new', 4.0, 4.4), Phase('stop old', 4.4, 5.0)])
    return stats.analyze(samples, [the_swap], begin=0.0, end=10.0, ready_reference=0.5, warmup=1.0,
                         settle=0.5, bucket=1.0)


def test_counts_cover_every_request():
    run = one_swap_run()
    assert run['requests'] == 400 + 25 + 3 + 20 + 500
    assert run['failed'] == 3
    assert run['errors']['refused'] == 2 and run['errors']['reset'] == 1


def test_steady_and_swap_windows():
    run = one_swap_run()
    # steady: 1..4 and 5.5..10 = 7.5 s at 100/s
    assert run['steady']['seconds'] == pytest.approx(7.5)
    assert run['steady']['ok_per_s'] == pytest.approx(100.0, rel=0.02)
    assert run['steady']['failed'] == 0
    # swap: 1 s with 45 ok (+ the sample starting exactly at 5.0, inclusive)
    assert run['swap']['seconds'] == pytest.approx(1.0)
    assert run['swap']['failed'] == 3
    assert run['swap']['ok'] == 46
    assert run['throughput_ratio'] == pytest.approx(0.46, rel=0.03)
    assert run['p99_ratio'] == pytest.approx(5.0)            # 50 ms vs 10 ms
    assert run['longest_in_flight_ms'] == pytest.approx(50.0)


def test_swap_record_and_ready_comparison():
    run = one_swap_run()
    record, = run['swaps']
    assert record['wall_s'] == pytest.approx(1.0)
    assert record['failed'] == 3
    assert record['mixed_window_ms'] == 0.0                   # v1's last start 4.48 < v2's first 4.6
    assert [phase['name'] for phase in record['phases']] == ['start new', 'stop old']
    assert run['swap_wall_s'] == dict(median=1.0, max=1.0)
    assert run['swap_vs_ready'] == pytest.approx(2.0)


def test_latency_is_over_ok_requests_only():
    result = stats.window_stats([ok(0.0, 0.010), ok(0.1, 0.020), failed(0.2)], 1.0)
    assert result['latency_ms']['max'] == pytest.approx(20.0)
    assert result['latency_ms']['min'] == pytest.approx(10.0)
    assert result['ok_per_s'] == 2.0


def test_window_of_no_time_has_no_rate():
    assert stats.window_stats([], 0.0)['ok_per_s'] is None


def test_run_without_swaps_has_no_swap_numbers():
    run = stats.analyze(steady(0.0, 3.0, 0.1), [], 0.0, 3.0)
    assert run['swap_wall_s'] == dict(median=None, max=None)
    assert run['throughput_ratio'] is None and run['mixed_window_ms']['max'] is None


def test_timeline_buckets_and_a_short_last_bucket():
    samples = steady(0.0, 2.5, 0.01) + [failed(1.2), failed(1.3, 'timeout')]
    samples.sort(key=lambda sample: sample.start)
    buckets = timeline(samples, 0.0, 2.5, 1.0)
    assert [bucket['t'] for bucket in buckets] == [0.0, 1.0, 2.0]
    assert buckets[0]['ok_per_s'] == pytest.approx(100.0)
    assert buckets[2]['ok_per_s'] == pytest.approx(100.0)     # 50 requests over the 0.5 s it covers
    assert buckets[1]['errors'] == dict(refused=1, timeout=1)
    assert buckets[0]['p99_ms'] == pytest.approx(10.0)
