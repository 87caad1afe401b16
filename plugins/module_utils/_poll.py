# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""One way to wait: a bounded poll with an injectable clock and sleep.

- ``Poll``: a deadline ``timeout`` seconds after its creation and an attempt every ``interval``
  seconds; ``until(probe, done)`` calls ``probe()`` until ``done(value)`` or the deadline, always
  at least once, and returns a ``WaitResult`` with the last value seen. The pause between two
  attempts never runs past the deadline; ``paced`` measures it from the start of the attempt
  (attempts start every ``interval``) instead of its end; ``wake(seconds)`` sleeps like ``sleep``
  but may return early (the readiness wait wakes on the engine's events).
- ``wait_for(probe, done, timeout, interval, clock, sleep)``: the same in one call.

Unit tests hand in a fake clock whose ``sleep`` advances it: nothing really waits.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


class WaitResult(object):
    """How a wait ended: ``ok`` (done, not timed out), the last ``value`` seen, ``elapsed``
    seconds since the Poll began and the number of ``polls``."""

    def __init__(self, ok, value, elapsed, polls):
        self.ok = ok
        self.value = value
        self.elapsed = elapsed
        self.polls = polls


class Poll(object):
    """A deadline ``timeout`` seconds from now, and attempts ``interval`` seconds apart."""

    def __init__(self, timeout, interval, clock=time.monotonic, sleep=time.sleep, wake=None,
                 paced=False):
        self.clock = clock
        self.wake = sleep if wake is None else wake
        self.interval = interval
        self.paced = paced
        self.start = clock()
        self.deadline = self.start + timeout
        self.polls = 0

    def left(self):
        """Seconds until the deadline, 0 once it passed."""
        return max(self.deadline - self.clock(), 0.0)

    def until(self, probe, done):
        """Call ``probe()`` until ``done(value)`` is true or the deadline has passed; at least
        once. Returns a WaitResult with the last value seen."""
        while True:
            begun = self.clock() if self.paced else None
            value = probe()
            self.polls += 1
            now = self.clock()
            if done(value):
                return WaitResult(True, value, now - self.start, self.polls)
            if now >= self.deadline:
                return WaitResult(False, value, now - self.start, self.polls)
            pause = begun + self.interval - now if self.paced else self.interval
            self.wake(max(min(pause, self.deadline - now), 0.0))


def wait_for(probe, done, timeout, interval, clock=time.monotonic, sleep=time.sleep):
    """Call ``probe()`` until ``done(value)`` is true or ``timeout`` seconds have passed.
    Always probes at least once; returns WaitResult with the last value seen."""
    return Poll(timeout, interval, clock, sleep).until(probe, done)
