# -*- coding: utf-8 -*-
# Helpers of the balancer unit tests: captured fixtures and a fake clock.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')


def read_fixture(name):
    """Text of a fixture captured from the real test images (see fixtures/capture.sh)."""
    with open(os.path.join(FIXTURES, name), 'rb') as handle:
        return handle.read().decode('utf-8')


class FakeClock(object):
    """monotonic() + sleep() pair: sleeping advances the clock, nothing really waits."""

    def __init__(self, start=1000.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeAdapter(object):
    """A balancer in memory with scripted active counts and health, recording every call.

    ``members``: list of Member (the starting state). ``active``: {name: [counts...]}, one per
    active() call (the last one repeats). ``health``: {name: [health...]}, one per read() after
    the first apply (the last one repeats).
    """

    kind = 'fake'
    weight_range = (0, 256)
    atomic = True

    def __init__(self, members, active=None, health=None, apply_error=None, ignore_apply=False):
        from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import Backend
        self._backend_class = Backend
        self.members = dict((m.name, m) for m in members)
        self.order = [m.name for m in members]
        self.active_script = dict((k, list(v)) for k, v in (active or {}).items())
        self.health_script = dict((k, list(v)) for k, v in (health or {}).items())
        self.apply_error = apply_error
        self.ignore_apply = ignore_apply
        self.calls = []
        self.applied = False

    def describe(self):
        return 'the fake balancer'

    def effective_state(self, state):
        return state

    def read(self, backend):
        from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import ENABLED, Member
        self.calls.append(('read', backend))
        members = []
        for name in self.order:
            m = self.members[name]
            health = m.health
            script = self.health_script.get(name)
            if self.applied and script:
                health = script.pop(0) if len(script) > 1 else script[0]
            members.append(Member(m.name, m.state, weight=m.weight, health=health,
                                  serving=m.state == ENABLED and health != 'down' and (m.weight or 0) > 0,
                                  active=m.active, status=m.status, config_weight=m.config_weight))
        return self._backend_class(backend, members, self.describe())

    def apply(self, backend, changes):
        self.calls.append(('apply', list(changes)))
        if self.apply_error is not None:
            raise self.apply_error
        self.applied = True
        if self.ignore_apply:
            return
        for change in changes:
            member = self.members[change.name]
            if change.state is not None:
                member.state = change.state
            if change.weight is not None:
                member.weight = change.weight

    def active(self, backend, names, current=None):
        self.calls.append(('active', tuple(names)))
        counts = {}
        for name in names:
            script = self.active_script.get(name) or [0]
            counts[name] = script.pop(0) if len(script) > 1 else script[0]
        return counts

    def release(self, backend, names):
        self.calls.append(('release', tuple(names)))
        return 'released %s' % ', '.join(names)

    def persistence(self):
        return None

    def close(self):
        self.calls.append(('close',))

    def applies(self):
        return [c[1] for c in self.calls if c[0] == 'apply']
