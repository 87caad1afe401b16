"""Which requests belong to which part of a run: steady load, swap windows, mixed versions.

A request belongs to the window in which it *started*. The swap window of a swap is its wall
time [start, end]. Steady time is the measured time (after the warm-up) minus the swap windows
and a settle margin after each (the old container may still be finishing its last requests).
"""

import bisect
import collections

Interval = collections.namedtuple('Interval', 'start end')


def swap_intervals(swaps):
    return [Interval(swap.start, swap.end) for swap in swaps]


def steady_intervals(begin, end, swaps, settle=0.0):
    """[begin, end] minus every [swap.start, swap.end + settle], in order."""
    steady = []
    cursor = begin
    for swap in sorted(swaps, key=lambda swap: swap.start):
        if swap.start > cursor:
            steady.append(Interval(cursor, min(swap.start, end)))
        cursor = max(cursor, swap.end + settle)
    if cursor < end:
        steady.append(Interval(cursor, end))
    return [interval for interval in steady if interval.end > interval.start]


def total_length(intervals):
    return sum(interval.end - interval.start for interval in intervals)


def within(samples, intervals):
    """Samples (ordered by start) that started inside one of the intervals."""
    starts = [sample.start for sample in samples]
    picked = []
    for interval in intervals:
        low = bisect.bisect_left(starts, interval.start)
        high = bisect.bisect_right(starts, interval.end)
        picked.extend(samples[low:high])
    return picked


def mixed_version_window(samples, swap, region_end):
    """How long both versions answered during one swap.

    Looks at the requests started from swap.start up to ``region_end`` (the next swap's start,
    or the end of the load): from the start of the first request answered by the new version to
    the start of the last one answered by the old version. 0 when the old version answered
    nothing after the new one had started answering; None when the new version never answered.
    Returns (window seconds or None, first_new, last_old).
    """
    region = within(samples, [Interval(swap.start, region_end)])
    new_starts = [sample.start for sample in region if sample.version == swap.new_version]
    if not new_starts:
        return None, None, None
    first_new = min(new_starts)
    old_starts = [sample.start for sample in region if sample.version == swap.old_version]
    last_old = max(old_starts) if old_starts else None
    if last_old is None or last_old <= first_new:
        return 0.0, first_new, last_old
    return last_old - first_new, first_new, last_old


def swap_regions(swaps, load_end):
    """(swap, end of its region) pairs: each swap's region lasts until the next swap starts."""
    ordered = sorted(swaps, key=lambda swap: swap.start)
    ends = [swap.start for swap in ordered[1:]] + [load_end]
    return list(zip(ordered, ends))
