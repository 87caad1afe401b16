# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""User traffic during a fault scenario, on the collection's own request engine (_traffic):
a bounded background load on the public URL, and single long requests held open across a fault.

Every request's start time (time.monotonic, the clock the scenarios note their events with) is
kept, so a test can prove that the load ran across the event it is about (``across``).
"""

import array
import threading
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic

# Bounds: no scenario runs load longer than this, and clients pause a little between requests
# so that the load does not starve ansible-playbook on a two-core machine.
MAX_SECONDS = 300.0
CONCURRENCY = 3
PAUSE = 0.01
KEPT_FAILURES = 5
# At least this many requests must start before an event and after it (a kill, a rollback).
MIN_EACH_SIDE = 20


class FailureTally(_traffic.Tally):
    """Tally that also keeps the first failures (what the report shows) and the versions seen."""

    def __init__(self):
        super(FailureTally, self).__init__()
        self.first_failures = []
        self.versions = {}
        self.starts = array.array('d')

    def count(self, result):
        super(FailureTally, self).count(result)
        self.starts.append(result.start)
        if result.version:
            self.versions[result.version] = self.versions.get(result.version, 0) + 1
        if result.outcome != _traffic.OK and len(self.first_failures) < KEPT_FAILURES:
            self.first_failures.append('%s %s %s' % (result.outcome, result.status or '', result.error or ''))

    def summary(self):
        out = super(FailureTally, self).summary()
        with self.lock:
            out.update(first_failures=list(self.first_failures), versions=dict(self.versions))
        return out

    def around(self, *events):
        """Requests started before the first event, between each two, and after the last."""
        with self.lock:
            starts = list(self.starts)
        edges = [float('-inf')] + list(events) + [float('inf')]
        return [sum(1 for start in starts if low <= start < high) for low, high in zip(edges, edges[1:])]


def across(load, minimum=MIN_EACH_SIDE, **events):
    """What is wrong with the load's coverage of ``events`` ({name: time.monotonic() value}, in
    time order): fewer than ``minimum`` requests started before the first, between two, or after
    the last. [] when the load ran across every one of them. Adds 'around' to the load's summary."""
    names = sorted(events, key=events.get)
    counts = load.tally.around(*[events[name] for name in names])
    labels = ['before %s' % names[0]] + ['between %s and %s' % pair for pair in zip(names, names[1:])] + \
        ['after %s' % names[-1]]
    load.stop()['around'] = dict(zip(labels, counts))
    return ['only %d requests started %s (at least %d needed: the load must run across it)' % (n, label, minimum)
            for label, n in zip(labels, counts) if n < minimum]


def across_runs(load, *runs):
    """across() the window of playbook runs: from the first start to the last end."""
    return across(load, **{'deploy start': min(run.started for run in runs),
                           'deploy end': max(run.ended for run in runs)})


class BackgroundLoad(object):
    """``with BackgroundLoad(url) as load: ...`` - keep-alive clients on ``url`` until stop()."""

    def __init__(self, url, concurrency=CONCURRENCY, pause=PAUSE, max_seconds=MAX_SECONDS):
        self.tally = FailureTally()
        self.load = _traffic.Load([_traffic.Target(url)], concurrency=concurrency, duration=max_seconds,
                                  pause=pause, timeout=10.0, on_result=self.tally.add)
        self.result = None

    def __enter__(self):
        self.load.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def now(self):
        return self.tally.summary()

    def wait_past(self, *runs):
        """Keep the load on until MIN_EACH_SIDE requests started after the last run ended."""
        self.wait_for_requests(since=max(run.ended for run in runs))

    def wait_for_requests(self, count=MIN_EACH_SIDE, since=None, timeout=30.0):
        """Return once ``count`` requests have started (after ``since``, a time.monotonic() value):
        the load runs before the event it covers, and on after it."""
        since = float('-inf') if since is None else since
        deadline = time.monotonic() + timeout
        while self.tally.around(since)[1] < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self):
        if self.result is None:
            self.load.stop()
            self.load.join(30)
            self.result = self.tally.summary()
        return self.result


class HeldRequest(object):
    """One slow request (``/slow?ms=N`` of the test app) in flight while a fault happens: it must
    still be answered, whatever happens to the deploy."""

    def __init__(self, base_url, ms):
        self.target = _traffic.Target('%s/slow?ms=%d' % (base_url.rstrip('/'), ms))
        self.result = None
        self.thread = threading.Thread(target=self._send, name='zdt-fault-held')
        self.thread.daemon = True

    def _send(self):
        client = _traffic.Client(timeout=60.0, keepalive=False)
        self.result = client.request(self.target)

    def start(self):
        self.thread.start()
        return self

    def outcome(self, timeout=60.0):
        """'ok', or the failure; waits for the answer."""
        self.thread.join(timeout)
        if self.result is None:
            return 'no answer within %ss' % timeout
        if self.result.outcome == _traffic.OK:
            return 'ok'
        return '%s %s %s' % (self.result.outcome, self.result.status or '', self.result.error or '')
