# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one bounded poll every wait uses (readiness, balancer waits, the probe, the lock)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import Poll, wait_for
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


def test_wait_for_returns_when_done(clock):
    values = iter([3, 2, 0, 0])
    result = wait_for(lambda: next(values), lambda v: v == 0, 10, 0.5, clock, clock.sleep)
    assert result.ok and result.value == 0 and result.polls == 3
    assert result.elapsed == pytest.approx(1.0)
    assert clock.sleeps == [0.5, 0.5]


def test_wait_for_times_out_with_the_last_value(clock):
    result = wait_for(lambda: 4, lambda v: v == 0, 2.0, 0.75, clock, clock.sleep)
    assert not result.ok and result.value == 4
    assert result.elapsed == pytest.approx(2.0)
    assert clock.sleeps == [0.75, 0.75, 0.5]


def test_wait_for_probes_once_even_with_zero_timeout(clock):
    result = wait_for(lambda: 0, lambda v: v == 0, 0, 1, clock, clock.sleep)
    assert result.ok and result.polls == 1 and clock.sleeps == []


def test_paced_attempts_start_every_interval_however_long_each_takes(clock):
    def slow_probe():
        clock.now += 0.3          # the attempt itself takes 0.3 s
        return 1
    result = Poll(2.0, 1.0, clock, clock.sleep, paced=True).until(slow_probe, lambda v: v == 0)
    assert not result.ok and result.polls == 3
    assert clock.sleeps == pytest.approx([0.7, 0.7]), 'the rest of the interval, the last one up to the deadline'
    assert result.elapsed == pytest.approx(2.3)


def test_unpaced_pauses_a_whole_interval_after_each_attempt(clock):
    def slow_probe():
        clock.now += 0.3
        return 1
    result = Poll(2.0, 1.0, clock, clock.sleep).until(slow_probe, lambda v: v == 0)
    assert clock.sleeps == pytest.approx([1.0, 0.4]) and result.polls == 3


def test_wake_replaces_sleep_and_may_end_the_pause_early(clock):
    woken = []

    def wake(seconds):
        woken.append(seconds)
        clock.now += 0.1          # an event after 0.1 s of a 1 s pause
    values = iter([2, 1, 0])
    result = Poll(10, 1.0, clock, clock.sleep, wake=wake).until(lambda: next(values), lambda v: v == 0)
    assert result.ok and result.polls == 3 and woken == [1.0, 1.0] and clock.sleeps == []
    assert result.elapsed == pytest.approx(0.2)


def test_left_counts_down_to_zero_and_stays_there(clock):
    poll = Poll(1.5, 1.0, clock, clock.sleep)
    assert poll.left() == 1.5
    clock.sleep(1.0)
    assert poll.left() == pytest.approx(0.5)
    clock.sleep(1.0)
    assert poll.left() == 0.0
