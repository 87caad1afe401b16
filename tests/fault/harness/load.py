# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""User traffic during a fault scenario, on the collection's own request engine (_traffic):
a bounded background load on the public URL, and single long requests held open across a fault.
"""

import threading

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic

# Bounds: no scenario runs load longer than this, and clients pause a little between requests
# so that the load does not starve ansible-playbook on a two-core machine.
MAX_SECONDS = 300.0
CONCURRENCY = 3
PAUSE = 0.01
KEPT_FAILURES = 5


class FailureTally(_traffic.Tally):
    """Tally that also keeps the first failures (what the report shows) and the versions seen."""

    def __init__(self):
        super(FailureTally, self).__init__()
        self.first_failures = []
        self.versions = {}

    def count(self, result):
        super(FailureTally, self).count(result)
        if result.version:
            self.versions[result.version] = self.versions.get(result.version, 0) + 1
        if result.outcome != _traffic.OK and len(self.first_failures) < KEPT_FAILURES:
            self.first_failures.append('%s %s %s' % (result.outcome, result.status or '', result.error or ''))

    def summary(self):
        out = super(FailureTally, self).summary()
        with self.lock:
            out.update(first_failures=list(self.first_failures), versions=dict(self.versions))
        return out


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
