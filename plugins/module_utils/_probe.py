# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The in-deploy traffic probe: load in the background until a duration passes or a stop file appears.

- ``prepare()``: validate the options the argspec cannot judge; the request targets.
- ``run_probe()``: send the load (engine: _traffic.Load, counted by a ProbeTally so memory does
  not grow with the request count), stop it at the stop file, the duration or max_requests,
  remove the stop file, and return the statistics.
- ``message()``: the task message, on success and on failure.

Invalid input raises ProbeInputError naming the option; request failures never raise, they are
counted in the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic

POLL_INTERVAL = 0.1      # seconds between two looks at the stop file
FAILURE_SAMPLES = 5      # failures of different kinds kept with their time and error text
JOIN_GRACE = 1.0         # seconds, beyond request_timeout, for the requests in flight at the stop

STOP_FILE = 'stop_file'
DURATION = 'duration'
MAX_REQUESTS = 'max_requests'
STOPPED_BY_TEXT = {STOP_FILE: 'the stop file', DURATION: 'the duration',
                   MAX_REQUESTS: 'max_requests'}


class ProbeInputError(ValueError):
    """Input the argument spec cannot judge; the message names the option and the problem."""


def _at_least(params, option, minimum, strict=False):
    value = params[option]
    if value is not None and (value <= minimum if strict else value < minimum):
        raise ProbeInputError('%s must be %s %g, got %r'
                              % (option, 'greater than' if strict else 'at least', minimum, value))


def prepare(params):
    """Validate the options and return the list of _traffic.Target. Raises ProbeInputError."""
    _at_least(params, 'duration', 0, strict=True)
    _at_least(params, 'request_timeout', 0, strict=True)
    _at_least(params, 'concurrency', 1)
    _at_least(params, 'max_requests', 1)
    _at_least(params, 'max_failed', 0)
    _at_least(params, 'pause', 0)
    if not params['urls']:
        raise ProbeInputError('urls is empty; give at least one URL to probe')
    if not params['status_codes']:
        raise ProbeInputError('status_codes is empty; give at least one expected status')
    context = None
    targets = []
    for index, url in enumerate(params['urls']):
        try:
            if isinstance(url, str) and url.lower().startswith('https:') and context is None:
                context = _traffic.ssl_context(params['validate_certs'], params['ca_path'])
            targets.append(_traffic.Target(url, params['unix_socket'], context))
        except _traffic.TrafficInputError as exc:
            raise ProbeInputError('urls[%d]: %s' % (index, exc))
    return targets


class ProbeTally(_traffic.Tally):
    """_traffic.Tally plus, per value of the version header, the count and the first and last
    time it answered, and the first failure of each kind (URL, outcome, error text) with its
    time, up to ``samples`` of them. Times are seconds from ``origin`` to the end of the request."""

    def __init__(self, origin, samples=FAILURE_SAMPLES):
        super(ProbeTally, self).__init__()
        self.origin = origin
        self.samples = samples
        self.versions = {}
        self.first_failures = []
        self._failure_kinds = set()

    def count(self, result):
        super(ProbeTally, self).count(result)
        when = round(result.start + result.latency - self.origin, 3)
        if result.version is not None:
            seen = self.versions.get(result.version)
            if seen is None:
                self.versions[result.version] = dict(count=1, first=when, last=when)
            else:
                seen['count'] += 1
                seen['first'] = min(seen['first'], when)
                seen['last'] = max(seen['last'], when)
        if result.outcome != _traffic.OK and len(self.first_failures) < self.samples:
            error = result.error or 'status %s' % result.status
            kind = (result.target, result.outcome, error)
            if kind not in self._failure_kinds:
                self._failure_kinds.add(kind)
                self.first_failures.append(dict(time=when, url=result.target, outcome=result.outcome,
                                                status=result.status, error=error))

    def summary(self):
        out = super(ProbeTally, self).summary()
        with self.lock:
            out['versions'] = dict((version, dict(seen)) for version, seen in self.versions.items())
            out['first_failures'] = [dict(sample) for sample in self.first_failures]
        return out


def run_probe(targets, params, clock=time.monotonic, sleep=time.sleep, exists=os.path.exists,
              remove=os.remove, load_class=_traffic.Load):
    """Probe ``targets`` until the stop file appears, ``duration`` passes or ``max_requests``
    were sent; then remove the stop file. Returns (result dict, list of warning texts).

    Raises ProbeInputError, before sending anything, when the stop file already exists.
    """
    stop_file = params['stop_file']
    if stop_file and exists(stop_file):
        raise ProbeInputError(
            'stop_file %s already exists before the probe started: it would end the probe at once '
            'and prove nothing. Remove it first (ansible.builtin.file state=absent); it is left '
            'as it was' % stop_file)
    headers = dict((str(k), str(v)) for k, v in (params['headers'] or {}).items())
    start = clock()
    tally = ProbeTally(start)
    load = load_class(targets, concurrency=params['concurrency'], requests=params['max_requests'],
                      duration=params['duration'], keepalive=params['keepalive'],
                      method=params['method'], headers=headers, expect=params['status_codes'],
                      timeout=params['request_timeout'],
                      version_header=params['version_header'] or None, pause=params['pause'],
                      clock=clock, on_result=tally.add)
    deadline = start + params['duration']
    load.start()
    while True:
        if stop_file and exists(stop_file):
            stopped_by = STOP_FILE
            break
        now = clock()
        if now >= deadline:
            stopped_by = DURATION
            break
        if load.join(0):
            stopped_by = MAX_REQUESTS if params['max_requests'] else DURATION
            break
        sleep(min(POLL_INTERVAL, deadline - now))
    load.stop()
    warnings = []
    if not load.join(params['request_timeout'] + JOIN_GRACE):
        warnings.append('Some requests were still in flight %gs after the probe stopped; they are '
                        'not counted.' % (params['request_timeout'] + JOIN_GRACE))
    elapsed = round(clock() - start, 3)
    if stop_file and exists(stop_file):
        try:
            remove(stop_file)
        except FileNotFoundError:
            pass  # the caller removed it meanwhile
        except OSError as exc:
            warnings.append('Cannot remove the stop file %s: %s. Remove it before the next probe.'
                            % (stop_file, exc))
    out = tally.summary()
    out['failed_requests'] = out.pop('failed')
    out.update(elapsed=elapsed, stopped_by=stopped_by,
               throughput=round(out['requests'] / elapsed, 1) if elapsed > 0 else 0.0)
    return out, warnings


def _labels(targets):
    return ', '.join(target.label for target in targets)


def _versions_text(versions):
    if not versions:
        return 'no version header seen'
    ordered = sorted(versions.items(), key=lambda item: (item[1]['first'], item[0]))
    return 'versions ' + ', '.join(
        '%s %d (%.1f-%.1fs)' % (version, seen['count'], seen['first'], seen['last'])
        for version, seen in ordered)


def _how(out, params):
    return '%d requests in %.1fs (%.1f/s, %d %s client%s, stopped by %s); %s' % (
        out['requests'], out['elapsed'], out['throughput'], params['concurrency'],
        'keep-alive' if params['keepalive'] else 'one-connection-per-request',
        '' if params['concurrency'] == 1 else 's', STOPPED_BY_TEXT[out['stopped_by']],
        _versions_text(out['versions']))


def failed(out, params):
    """True when the probe proves nothing (no request) or more requests failed than allowed."""
    return out['requests'] == 0 or out['failed_requests'] > params['max_failed']


def message(out, params, targets):
    """The task message: a summary, or on failure the URL, counts per class and first failures."""
    where = 'Traffic probe of %s' % _labels(targets)
    if out['requests'] == 0:
        return ('%s: no request was sent (stopped by %s after %.1fs), so it proves nothing. '
                'Nothing was changed.' % (where, STOPPED_BY_TEXT[out['stopped_by']], out['elapsed']))
    classes = ', '.join('%s %d' % (outcome, out['errors'][outcome])
                        for outcome in _traffic.OUTCOMES if out['errors'].get(outcome))
    if not failed(out, params):
        verdict = ('all ok' if not out['failed_requests'] else
                   '%d failed (%s; max_failed %d)' % (out['failed_requests'], classes,
                                                      params['max_failed']))
        return '%s: %s, %s, p95 %s ms.' % (where, _how(out, params), verdict,
                                           out['latency_ms']['p95'])
    samples = '; '.join('at %.3fs %s%s: %s' % (
        sample['time'], sample['outcome'],
        '' if len(targets) == 1 else ' ' + sample['url'], sample['error'])
        for sample in out['first_failures'])
    return ('%s: %d of %d requests failed, more than max_failed (%d): %s. First failures: %s. '
            'Probed: %s. Nothing was changed.'
            % (where, out['failed_requests'], out['requests'], params['max_failed'], classes,
               samples, _how(out, params)))
