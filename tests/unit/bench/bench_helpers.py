# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders of samples, swaps and run records for the benchmark's unit tests."""

from zdtbench.samples import Sample
from zdtbench.swaps import Phase, Swap


def ok(start, latency=0.01, version='v1'):
    return Sample(start, latency, 'ok', 200, version)


def failed(start, outcome='refused'):
    return Sample(start, 0.0001, outcome, None, None)


def steady(begin, end, step, version='v1', latency=0.01):
    """One ok request every ``step`` seconds from begin (inclusive) to end (exclusive)."""
    count = int(round((end - begin) / step))
    return [ok(begin + number * step, latency, version) for number in range(count)]


def swap(index, start, end, old='v1', new='v2', phases=None):
    return Swap(index, start, end, old, new, phases or [Phase('swap', start, end)])


def run_record(name='s', concurrency=256, keepalive=True, failed_count=0, swaps=20, p99_ratio=1.0,
               throughput_ratio=1.0, wall=1.0, mixed=0.0, in_flight=10.0, error=None):
    """A run record shaped like stats.analyze() + session.run_one() make it."""
    record = dict(strategy=name, error=error, notes=[], backends=3,
                  load=dict(concurrency=concurrency, keepalive=keepalive,
                            label='c=%d %s' % (concurrency, 'keep-alive' if keepalive else 'close')))
    if error:
        return record
    record.update(
        requests=1000, ok=1000 - failed_count, failed=failed_count,
        errors=dict(status=0, refused=failed_count, reset=0, timeout=0, closed=0, other=0),
        steady=dict(ok_per_s=100.0, latency_ms=dict(p50=1.0, p99=10.0, max=20.0)),
        swap=dict(ok_per_s=100.0 * throughput_ratio, latency_ms=dict(p50=1.0, p99=10.0 * p99_ratio, max=in_flight)),
        throughput_ratio=throughput_ratio, p99_ratio=p99_ratio,
        swaps=[dict(index=number, group=None, start_s=10.0 * number, end_s=10.0 * number + wall, wall_s=wall,
                    phases=[]) for number in range(swaps)],
        swap_wall_s=dict(median=wall, max=wall), ready_reference_s=0.5, swap_vs_ready=wall / 0.5,
        mixed_window_ms=dict(median=mixed, max=mixed), longest_in_flight_ms=in_flight, timeline=[])
    return record
