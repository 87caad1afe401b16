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
- ``verdict()``: every reason the probe fails (failed requests, a blind gap, the wrong stop,
  the versions not seen in order), and ``message()``: the task message.
- ``ARGUMENT_SPEC`` and ``run_module()``: the traffic_probe module's options and entry point.

Pure helpers with their own unit tests: ``classify()`` (the latency limit), ``sensitivity()``
(what the request timeline could have seen), ``version_problems()``, ``stop_problem()``.

Invalid input raises ProbeInputError naming the option; request failures never raise, they are
counted in the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import array
import os
import re
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import Poll

# The traffic_probe module's options. Matches the DOCUMENTATION of plugins/modules/traffic_probe.py.
ARGUMENT_SPEC = dict(
    urls=dict(type='list', elements='str', required=True, aliases=['url']),
    duration=dict(type='float', required=True),
    stop_file=dict(type='path'),
    max_requests=dict(type='int'),
    concurrency=dict(type='int', default=8),
    fresh_clients=dict(type='int'),
    rate=dict(type='float', default=200.0),
    keepalive=dict(type='bool', default=True),
    pause=dict(type='float', default=0.0),
    method=dict(type='str', choices=['GET', 'HEAD'], default='GET'),
    headers=dict(type='dict', no_log=True),   # Authorization, Cookie: see the option's doc
    status_codes=dict(type='list', elements='int', default=[200]),
    request_timeout=dict(type='float', default=5.0),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    unix_socket=dict(type='path'),
    version_header=dict(type='str', default='X-App-Version'),
    version_regex=dict(type='str'),
    old_version=dict(type='str'),
    new_version=dict(type='str'),
    latency_limit=dict(type='float', default=1.0),
    max_gap=dict(type='float'),
    max_failed=dict(type='int', default=0),
)

POLL_INTERVAL = 0.1      # seconds between two looks at the stop file
FAILURE_SAMPLES = 5      # failures of different kinds kept with their time and error text
JOIN_GRACE = 1.0         # seconds, beyond request_timeout, for the requests in flight at the stop

STOP_FILE = 'stop_file'
DURATION = 'duration'
MAX_REQUESTS = 'max_requests'
STOPPED_BY_TEXT = {STOP_FILE: 'the stop file', DURATION: 'the duration',
                   MAX_REQUESTS: 'max_requests'}

SLOW = 'slow'            # an expected answer that took longer than latency_limit: failed too
PROBE_OUTCOMES = _traffic.OUTCOMES + (SLOW,)
CERTAINTY = 0.99         # the sensitivity stated in the result and the message


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
    _at_least(params, 'rate', 0)
    _at_least(params, 'fresh_clients', 0)
    _at_least(params, 'latency_limit', 0)
    _at_least(params, 'max_gap', 0)
    if params['version_regex']:
        try:
            re.compile(params['version_regex'])
        except re.error as exc:
            raise ProbeInputError('version_regex %r is not a regular expression: %s'
                                  % (params['version_regex'], exc))
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


def fresh_clients(params):
    """How many of the clients open a new connection for every request: all without keep-alive,
    else O(fresh_clients) (at most all of them), by default half of them, rounded down."""
    if not params['keepalive']:
        return params['concurrency']
    if params['fresh_clients'] is None:
        return params['concurrency'] // 2
    return min(params['fresh_clients'], params['concurrency'])


def classify(result, latency_limit):
    """Outcome class of a Result for the probe: an expected answer slower than ``latency_limit``
    seconds (0 or None: no limit) is SLOW; everything else keeps the engine's class."""
    if result.outcome == _traffic.OK and latency_limit and result.latency > latency_limit:
        return SLOW
    return result.outcome


def read_version(result, pattern):
    """The version a Result carries: the first group (or the whole match) of ``pattern`` (a
    compiled regex) in its body, or without a pattern the version header the engine read."""
    if pattern is None:
        return result.version
    if result.body is None:
        return None
    match = pattern.search(result.body.decode('utf-8', 'replace'))
    if match is None:
        return None
    return match.group(1) if pattern.groups else match.group(0)


def sensitivity(starts, begin, end, certainty=CERTAINTY):
    """What a request timeline could have seen. ``starts``: the times requests started (any
    order); ``begin``/``end``: when the probe started and stopped (the edges count as gaps too).

    An outage overlaps a request start unless it fits into a gap between two starts. Returns
    ``certain`` - the largest gap (an outage at least that long overlaps a start wherever it
    falls), ``at`` - where that gap began (seconds from ``begin``), and ``likely`` - the
    shortest outage that, placed at a random moment of the run, overlaps a start with
    probability ``certainty``: the smallest D with sum(max(gap - D, 0)) <= (1 - certainty) x
    run time. Seconds; None without any start."""
    points = sorted(start for start in starts if begin <= start <= end)
    if not points:
        return dict(certain=None, at=None, likely=None)
    edges = [begin] + points + [end]
    gaps = [(edges[i + 1] - edges[i], edges[i]) for i in range(len(edges) - 1)]
    widest, widest_at = max(gaps)
    allowed = (1.0 - certainty) * max(end - begin, 0.0)
    ordered = sorted((gap for gap, dummy in gaps), reverse=True)
    likely = 0.0
    total = 0.0
    for k, gap in enumerate(ordered, 1):
        total += gap
        following = ordered[k] if k < len(ordered) else 0.0
        # On [following, gap] the missed share is (total - k x D): solve total - k x D = allowed.
        candidate = (total - allowed) / k
        if candidate >= following:
            likely = max(candidate, 0.0)
            break
    return dict(certain=widest, at=widest_at - begin, likely=min(likely, widest))


def version_problems(versions, first, last, old=None, new=None):
    """Why the versions seen do not prove that the probe watched the change from ``old`` to
    ``new`` (either may be None: not checked). ``versions``: as in the result ({version:
    {count, first, last}}); ``first``/``last``: the version of the first and the last answer.
    The old version must have answered, and answered first; the new one must have answered, and
    - when both are given and differ - after the old one first did (old.first < new.last), so
    that a rolling restart, where both answer side by side, passes too. A list of texts."""
    problems = []
    if old is not None:
        if old not in versions:
            problems.append('the old version %s never answered (the probe did not see the deploy '
                            'from its beginning)' % old)
        elif first != old:
            problems.append('the first answer came from %s, not from the old version %s (the probe '
                            'started after the deploy had begun)' % (first, old))
    if new is not None:
        if new not in versions:
            problems.append('the new version %s never answered (the probe stopped before the new '
                            'version served)' % new)
        elif old is not None and old != new and old in versions \
                and not versions[old]['first'] < versions[new]['last']:
            problems.append('the new version %s answered only before the old version %s (last '
                            '%.3fs, old first %.3fs)'
                            % (new, old, versions[new]['last'], versions[old]['first']))
    return problems


def stop_problem(stopped_by, stop_file, duration):
    """Why the probe did not watch to the end of the deploy, or None: with a stop file, only the
    stop file may end it - the duration or max_requests running out leaves the rest unwatched."""
    if not stop_file or stopped_by == STOP_FILE:
        return None
    limit = 'the duration (%gs)' % duration if stopped_by == DURATION else 'max_requests'
    return ('it was stopped by %s before the stop file appeared, so the end of the deploy was not '
            'watched' % limit)


class ProbeTally(_traffic.Tally):
    """_traffic.Tally plus, per version, the count and the first and last time it answered, the
    versions of the first and the last answer, the first failure of each kind (URL, outcome,
    error text) with its time, up to ``samples`` of them, and the start of every request (one
    float each, fresh-connection clients apart) for the sensitivity. Answers slower than
    ``latency_limit`` count as SLOW. Times are seconds from ``origin`` to the end of the request."""

    def __init__(self, origin, samples=FAILURE_SAMPLES, latency_limit=None, version_regex=None):
        super(ProbeTally, self).__init__()
        self.errors[SLOW] = 0
        self.origin = origin
        self.samples = samples
        self.latency_limit = latency_limit
        self.pattern = re.compile(version_regex) if version_regex else None
        self.versions = {}
        self.first_failures = []
        self._failure_kinds = set()
        self.starts = array.array('d')
        self.fresh_starts = array.array('d')
        self._first = self._last = None      # (start, version) of the first and the last answer

    def count(self, result):
        version = read_version(result, self.pattern)
        result = result._replace(outcome=classify(result, self.latency_limit), version=version,
                                 headers=None, body=None)
        super(ProbeTally, self).count(result)
        (self.fresh_starts if result.fresh else self.starts).append(result.start)
        if version is not None:
            if self._first is None or result.start < self._first[0]:
                self._first = (result.start, version)
            if self._last is None or result.start >= self._last[0]:
                self._last = (result.start, version)
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
            error = result.error or (
                'answered in %.3fs, more than latency_limit' % result.latency if result.outcome == SLOW
                else 'status %s' % result.status)
            kind = (result.target, result.outcome, error)
            if kind not in self._failure_kinds:
                self._failure_kinds.add(kind)
                self.first_failures.append(dict(time=when, url=result.target, outcome=result.outcome,
                                                status=result.status, error=error))

    def last_start(self):
        """The start of the latest request so far (``origin`` before any)."""
        with self.lock:
            return max([self.origin] + [max(starts) for starts in (self.starts, self.fresh_starts) if starts])

    def summary(self, end=None):
        """The statistics; with ``end`` (clock time the probe stopped), the sensitivity too."""
        out = super(ProbeTally, self).summary()
        with self.lock:
            out['versions'] = dict((version, dict(seen)) for version, seen in self.versions.items())
            out['first_failures'] = [dict(sample) for sample in self.first_failures]
            out['first_version'] = self._first[1] if self._first else None
            out['last_version'] = self._last[1] if self._last else None
            if end is not None:
                every = sensitivity(list(self.starts) + list(self.fresh_starts), self.origin, end)
                fresh = sensitivity(self.fresh_starts, self.origin, end)
                out['sensitivity'] = dict(
                    certainty=CERTAINTY,
                    likely_ms=_ms(every['likely']), certain_ms=_ms(every['certain']),
                    max_gap_at=None if every['at'] is None else round(every['at'], 3),
                    fresh_likely_ms=_ms(fresh['likely']), fresh_certain_ms=_ms(fresh['certain']))
        return out


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 1)


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
    poll = Poll(params['duration'], POLL_INTERVAL, clock, sleep)
    start, deadline = poll.start, poll.deadline
    tally = ProbeTally(start, latency_limit=params['latency_limit'],
                       version_regex=params['version_regex'])
    load = load_class(targets, concurrency=params['concurrency'], requests=params['max_requests'],
                      duration=params['duration'], keepalive=params['keepalive'],
                      method=params['method'], headers=headers, expect=params['status_codes'],
                      timeout=params['request_timeout'],
                      version_header=None if params['version_regex'] else params['version_header'] or None,
                      pause=params['pause'], clock=clock, on_result=tally.add,
                      interval=params['concurrency'] / float(params['rate']) if params['rate'] else None,
                      fresh=fresh_clients(params), keep_response=bool(params['version_regex']))

    def reason_to_stop():
        """What ends the probe now, None while nothing does."""
        if stop_file and exists(stop_file):
            return STOP_FILE
        if clock() >= deadline:
            return DURATION
        if load.join(0):
            return MAX_REQUESTS if params['max_requests'] else DURATION
        return None

    load.start()
    # A look that ended past the deadline, after the duration check in it, stops at the duration.
    stopped_by = poll.until(reason_to_stop, lambda why: why is not None).value or DURATION
    load.stop()
    stopped = clock()
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
    # Where the timeline ends: a stop file may come at any time, so the time since the last start
    # counts; the duration and max_requests stop the starts by design, so it does not.
    if stopped_by == STOP_FILE:
        end = stopped
    elif stopped_by == DURATION:
        end = min(stopped, deadline)
    else:
        end = tally.last_start()
    out = tally.summary(end=end)
    out['failed_requests'] = out.pop('failed')
    out.update(elapsed=elapsed, stopped_by=stopped_by,
               throughput=round(out['requests'] / elapsed, 1) if elapsed > 0 else 0.0)
    return out, warnings


def _labels(targets):
    return ', '.join(target.label for target in targets)


def _versions_text(versions):
    if not versions:
        return 'no version seen'
    ordered = sorted(versions.items(), key=lambda item: (item[1]['first'], item[0]))
    return 'versions ' + ', '.join(
        '%s %d (%.1f-%.1fs)' % (version, seen['count'], seen['first'], seen['last'])
        for version, seen in ordered)


def _clients_text(params):
    fresh = fresh_clients(params)
    kept = params['concurrency'] - fresh
    parts = []
    if kept:
        parts.append('%d keep-alive' % kept)
    if fresh:
        parts.append('%d new-connection-per-request' % fresh)
    return ' + '.join(parts) + (' client' if params['concurrency'] == 1 else ' clients')


def _how(out, params):
    return '%d requests in %.1fs (%.1f/s, %s, stopped by %s); %s' % (
        out['requests'], out['elapsed'], out['throughput'], _clients_text(params),
        STOPPED_BY_TEXT[out['stopped_by']], _versions_text(out['versions']))


def sensitivity_text(out):
    """'an outage of 12 ms or more would have been seen with 99% certainty ...'"""
    seen = out.get('sensitivity') or {}
    if seen.get('likely_ms') is None:
        return 'no request started, so no outage could have been seen'
    text = ('an outage of %s ms or more would have been seen with %g%% certainty (%s ms or more '
            'for sure' % (_num(seen['likely_ms']), seen['certainty'] * 100, _num(seen['certain_ms'])))
    if seen.get('fresh_likely_ms') is not None:
        text += '; by new connections alone: %s ms, %s ms for sure' % (
            _num(seen['fresh_likely_ms']), _num(seen['fresh_certain_ms']))
    return text + ')'


def _num(value):
    return '%d' % round(value) if value >= 10 else '%.1f' % value


def max_gap(params):
    """Seconds in which no request may start: O(max_gap), or by default 20 times the spacing of
    request starts (1 / rate) and at least 0.1 s - a paced probe at a low rate has long gaps by
    design. 0 means no limit."""
    if params['max_gap'] is not None:
        return params['max_gap']
    return max(0.1, 20.0 / params['rate']) if params['rate'] else 0.1


def verdict(out, params):
    """Every reason the probe fails, as texts (empty when it passes): more failed requests than
    O(max_failed) (slow answers included), no request at all, a gap without any request start
    longer than O(max_gap), a stop by anything but the stop file, versions not seen in order."""
    reasons = []
    if out['requests'] == 0:
        return ['no request was sent (stopped by %s after %.1fs), so it proves nothing'
                % (STOPPED_BY_TEXT[out['stopped_by']], out['elapsed'])]
    if out['failed_requests'] > params['max_failed']:
        classes = ', '.join('%s %d' % (outcome, out['errors'][outcome])
                            for outcome in PROBE_OUTCOMES if out['errors'].get(outcome))
        reasons.append('%d of %d requests failed, more than max_failed (%d): %s'
                       % (out['failed_requests'], out['requests'], params['max_failed'], classes))
    seen = out.get('sensitivity') or {}
    limit = max_gap(params)
    if limit and seen.get('certain_ms') is not None and seen['certain_ms'] > limit * 1000.0:
        reasons.append('no request started for %.3fs from %.3fs on, longer than max_gap (%gs): '
                       'the service stalled the clients or the probe was starved, and an outage '
                       'that long could have gone unseen'
                       % (seen['certain_ms'] / 1000.0, seen['max_gap_at'], limit))
    stop = stop_problem(out['stopped_by'], params['stop_file'], params['duration'])
    if stop:
        reasons.append(stop)
    reasons.extend(version_problems(out['versions'], out.get('first_version'),
                                    out.get('last_version'), params['old_version'],
                                    params['new_version']))
    return reasons


def message(out, params, targets, reasons):
    """The task message: a summary with the sensitivity, or on failure every reason (verdict()),
    the first failures and what was probed."""
    where = 'Traffic probe of %s' % _labels(targets)
    if out['requests'] == 0:
        return '%s: %s. Nothing was changed.' % (where, reasons[0])
    if not reasons:
        classes = ', '.join('%s %d' % (outcome, out['errors'][outcome])
                            for outcome in PROBE_OUTCOMES if out['errors'].get(outcome))
        result = ('all ok' if not out['failed_requests'] else
                  '%d failed (%s; max_failed %d)' % (out['failed_requests'], classes,
                                                     params['max_failed']))
        return '%s: %s, %s, p95 %s ms; %s.' % (where, _how(out, params), result,
                                               out['latency_ms']['p95'], sensitivity_text(out))
    samples = '; '.join('at %.3fs %s%s: %s' % (
        sample['time'], sample['outcome'],
        '' if len(targets) == 1 else ' ' + sample['url'], sample['error'])
        for sample in out['first_failures'])
    return ('%s: %s.%s Probed: %s; %s. Nothing was changed.'
            % (where, '; '.join(reasons), ' First failures: %s.' % samples if samples else '',
               _how(out, params), sensitivity_text(out)))


def run_module(module):
    """Entry point of plugins/modules/traffic_probe.py: it only reads, in check mode too."""
    p = module.params
    try:
        targets = prepare(p)
        out, warnings = run_probe(targets, p)
    except ProbeInputError as exc:
        module.fail_json(msg='Invalid input: %s. Nothing was requested or changed.' % exc,
                         changed=False)
    for warning in warnings:
        module.warn(warning)
    out['problems'] = verdict(out, p)
    text = message(out, p, targets, out['problems'])
    if out['problems']:
        module.fail_json(msg=text, changed=False, **out)
    module.exit_json(msg=text, changed=False, **out)
