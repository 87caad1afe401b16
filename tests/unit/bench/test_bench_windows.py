# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Steady / swap windows and the mixed-version window."""

import pytest

from zdtbench import windows
from zdtbench.windows import Interval

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import ok, steady, swap


def test_steady_is_the_measured_time_minus_swaps_and_settle():
    swaps = [swap(1, 5.0, 6.0), swap(0, 2.0, 3.0)]          # any order
    assert windows.steady_intervals(1.0, 10.0, swaps, settle=0.5) == [
        Interval(1.0, 2.0), Interval(3.5, 5.0), Interval(6.5, 10.0)]


def test_steady_skips_empty_gaps_and_swaps_past_the_end():
    swaps = [swap(0, 2.0, 3.0), swap(1, 3.2, 9.9)]
    assert windows.steady_intervals(0.0, 10.0, swaps, settle=0.5) == [Interval(0.0, 2.0)]


def test_steady_without_swaps_is_everything():
    assert windows.steady_intervals(1.0, 4.0, []) == [Interval(1.0, 4.0)]
    assert windows.total_length([Interval(1.0, 2.5), Interval(3.0, 4.0)]) == pytest.approx(2.5)


def test_within_picks_by_start_time_inclusive():
    samples = steady(0.0, 10.0, 1.0)                          # starts 0, 1, ..., 9
    picked = windows.within(samples, [Interval(2.0, 4.0), Interval(8.5, 20.0)])
    assert [sample.start for sample in picked] == [2.0, 3.0, 4.0, 9.0]


def test_mixed_window_from_first_new_to_last_old_start():
    samples = steady(0.0, 3.0, 0.1, 'v1') + steady(2.5, 5.0, 0.1, 'v2')
    samples.sort(key=lambda sample: sample.start)
    window, first_new, last_old = windows.mixed_version_window(samples, swap(0, 1.0, 4.0), 5.0)
    assert first_new == pytest.approx(2.5)
    assert last_old == pytest.approx(2.9)
    assert window == pytest.approx(0.4)


def test_no_overlap_is_a_zero_window():
    samples = steady(0.0, 2.0, 0.1, 'v1') + steady(3.0, 4.0, 0.1, 'v2')
    assert windows.mixed_version_window(samples, swap(0, 1.0, 3.0), 4.0)[0] == 0.0


def test_only_the_swap_region_counts():
    # v2 answered before this swap (an earlier swap): not the first new answer of this one.
    samples = [ok(0.5, version='v2'), ok(1.5, version='v1'), ok(2.0, version='v2'), ok(6.0, version='v1')]
    window, first_new = windows.mixed_version_window(samples, swap(0, 1.0, 2.5), 5.0)[:2]
    assert first_new == 2.0 and window == 0.0


def test_new_version_never_answered():
    samples = steady(0.0, 3.0, 0.5, 'v1')
    assert windows.mixed_version_window(samples, swap(0, 1.0, 2.0), 3.0) == (None, None, None)


def test_each_region_ends_where_the_next_swap_starts():
    first, second = swap(0, 1.0, 2.0), swap(1, 5.0, 6.0)
    assert windows.swap_regions([second, first], 9.0) == [(first, 5.0), (second, 9.0)]
