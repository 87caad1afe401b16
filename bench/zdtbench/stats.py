"""The numbers of one run (one strategy under one load) from its samples and swaps.

Counts use every request of the run, warm-up included: a failed request is a failed request.
Throughput and latency compare the steady windows with the swap windows (zdtbench.windows);
latency is over the requests answered ``ok`` (a refused connect returns in microseconds and
would make a broken swap look fast). Times in the result are seconds from the load's start.
"""

import statistics

from zdtbench import windows
from zdtbench.collection import traffic
from zdtbench.timeline import timeline


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 3)


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def counts(samples):
    """requests, ok, failed and failures per outcome class (every class, zeros included)."""
    summary = traffic.summarize(samples)
    return dict(requests=summary['requests'], ok=summary['ok'], failed=summary['failed'],
                errors=summary['errors'])


def window_stats(samples, seconds):
    """Counts, ok throughput and ok latency (ms) of the samples of windows lasting ``seconds``."""
    result = counts(samples)
    result['seconds'] = round(seconds, 3)
    result['ok_per_s'] = round(result['ok'] / seconds, 1) if seconds > 0 else None
    result['latency_ms'] = traffic.latency_stats(
        [sample.latency for sample in samples if sample.outcome == traffic.OK])
    return result


def _swap_record(swap, region_end, samples, begin, settle):
    window, first_new, last_old = windows.mixed_version_window(samples, swap, region_end)
    in_window = windows.within(samples, [windows.Interval(swap.start, swap.end + settle)])

    def rel(value):
        return None if value is None else round(value - begin, 3)

    return dict(index=swap.index, group=getattr(swap, 'group', None), start_s=rel(swap.start), end_s=rel(swap.end),
                wall_s=round(swap.end - swap.start, 3), old_version=swap.old_version,
                new_version=swap.new_version,
                failed=sum(1 for sample in in_window if sample.outcome != traffic.OK),
                mixed_window_ms=_ms(window), first_new_s=rel(first_new), last_old_s=rel(last_old),
                phases=[dict(name=phase.name, start_s=rel(phase.start), end_s=rel(phase.end))
                        for phase in swap.phases])


def _spread(values):
    """median and max of the values that are not None (None, None when there are none)."""
    values = [value for value in values if value is not None]
    if not values:
        return dict(median=None, max=None)
    return dict(median=round(statistics.median(values), 3), max=round(max(values), 3))


def analyze(samples, swaps, begin, end, ready_reference=None, warmup=1.0, settle=0.5, bucket=0.25):
    """Everything reported about one run. samples: ordered by start; swaps: Swap records;
    begin/end: when the load started and was told to stop; ready_reference: the app's own
    start-to-ready time in seconds (None when not measured)."""
    measured_from = begin + warmup
    swap_spans = windows.swap_intervals(swaps)
    steady_spans = windows.steady_intervals(measured_from, end, swaps, settle)
    steady = window_stats(windows.within(samples, steady_spans), windows.total_length(steady_spans))
    during = window_stats(windows.within(samples, swap_spans), windows.total_length(swap_spans))
    records = [_swap_record(swap, region_end, samples, begin, settle)
               for swap, region_end in windows.swap_regions(swaps, end)]
    walls = _spread([record['wall_s'] for record in records])
    result = counts(samples)
    result.update(
        seconds=round(end - begin, 3),
        steady=steady,
        swap=during,
        throughput_ratio=_ratio(during['ok_per_s'], steady['ok_per_s']),
        p99_ratio=_ratio(during['latency_ms']['p99'], steady['latency_ms']['p99']),
        swaps=records,
        swap_wall_s=walls,
        ready_reference_s=ready_reference,
        swap_vs_ready=_ratio(walls['median'], ready_reference),
        mixed_window_ms=_spread([record['mixed_window_ms'] for record in records]),
        longest_in_flight_ms=during['latency_ms']['max'],
        timeline=timeline(samples, begin, end, bucket),
    )
    return result
