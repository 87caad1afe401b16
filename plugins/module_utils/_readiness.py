# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Is this thing ready to take traffic? Readiness checks, one deadline/poll loop, warmup.

- ``CHECK_OPTIONS`` / ``CHECK_REQUIRED_IF``: argspec of one element of a ``checks`` list.
- ``READINESS_ARGS``: argspec of the wait options (checks, timeout, interval, success_threshold,
  initial_delay, warmup); ``READINESS_NESTED_ARGS`` puts them under one ``readiness`` dict option.
  The doc fragment ``zerodowntime.deploy.readiness`` documents both shapes; they change together.
- ``wait_until_ready()``: poll every check until all pass ``success_threshold`` times in a row,
  or the deadline passes, or a container exits / turns unhealthy (fail at once).
- ``run_warmup()``: request a list of URLs N times with concurrency C (engine: _traffic.py).
- ``EngineWatch``: the engine's event stream for the containers a wait checks, so that a
  health_status change (or an exit) is seen when it happens, not at the next poll.

``docker`` (container checks, EngineWatch): a docker.DockerClient or a _hotswap_engine.DockerEngine;
the engine is reached only through DockerEngine (inspect_raw, log_text, events).

Check failures never raise: they are in the result. Input the argspec cannot judge (a malformed
URL, a timeout <= 0...) raises ReadinessInputError with a message naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno as errno_mod
import os
import re
import socket
import threading
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import status_code
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import Poll

CHECK_TYPES = ('http', 'tcp', 'unix', 'file', 'container')

# One element of the `checks` list. Matches plugins/doc_fragments/readiness.py.
CHECK_OPTIONS = dict(
    type=dict(type='str', required=True, choices=list(CHECK_TYPES)),
    name=dict(type='str'),
    # http
    url=dict(type='str'),
    unix_socket=dict(type='path'),
    method=dict(type='str', default='GET'),
    status_codes=dict(type='list', elements='int', default=[200]),
    body=dict(type='str'),
    body_regex=dict(type='str'),
    headers=dict(type='dict', no_log=True),   # may carry Authorization or Cookie
    response_headers=dict(type='dict'),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    url_username=dict(type='str'),
    url_password=dict(type='str', no_log=True),
    request_timeout=dict(type='float', default=5.0),
    # tcp
    host=dict(type='str', default='127.0.0.1'),
    port=dict(type='int'),
    # unix, file
    path=dict(type='path'),
    pid_alive=dict(type='bool', default=False),
    # container
    container=dict(type='str'),
    healthy=dict(type='bool', default=True),
)

CHECK_REQUIRED_IF = [
    ('type', 'http', ('url',)),
    ('type', 'tcp', ('port',)),
    ('type', 'unix', ('path',)),
    ('type', 'file', ('path',)),
    ('type', 'container', ('container',)),
]
CHECK_REQUIRED_BY = dict(client_key=('client_cert',), url_password=('url_username',))

# Which keys each check type reads; any other key set to a non-default value is an input error.
_COMMON_KEYS = ('type', 'name')
_TYPE_KEYS = dict(
    http=('url', 'unix_socket', 'method', 'status_codes', 'body', 'body_regex', 'headers',
          'response_headers', 'validate_certs', 'ca_path', 'client_cert', 'client_key',
          'url_username', 'url_password', 'request_timeout'),
    tcp=('host', 'port', 'request_timeout'),
    unix=('path', 'request_timeout'),
    file=('path', 'pid_alive'),
    container=('container', 'healthy'),
)

WARMUP_OPTIONS = dict(
    urls=dict(type='list', elements='str'),
    url_file=dict(type='path'),
    unix_socket=dict(type='path'),
    requests_per_url=dict(type='int', default=10),
    concurrency=dict(type='int', default=4),
    status_codes=dict(type='list', elements='int', default=[200]),
    request_timeout=dict(type='float', default=5.0),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    headers=dict(type='dict', no_log=True),   # may carry Authorization or Cookie
    keepalive=dict(type='bool', default=True),
    fail_on_error=dict(type='bool', default=True),
)

# The wait options, for a module's top level. Matches plugins/doc_fragments/readiness.py.
READINESS_ARGS = dict(
    checks=dict(type='list', elements='dict', options=CHECK_OPTIONS,
                required_if=CHECK_REQUIRED_IF, required_by=CHECK_REQUIRED_BY),
    timeout=dict(type='float', default=60.0),
    interval=dict(type='float', default=1.0),
    success_threshold=dict(type='int', default=1),
    initial_delay=dict(type='float', default=0.0),
    warmup=dict(type='dict', options=WARMUP_OPTIONS, required_one_of=[('urls', 'url_file')]),
)

# The same options under one `readiness` dict option (fragment zerodowntime.deploy.readiness.nested).
READINESS_NESTED_ARGS = dict(
    readiness=dict(type='dict', options=READINESS_ARGS, apply_defaults=True),
)

BODY_EXCERPT = 200
LOG_LINES = 10


class ReadinessInputError(ValueError):
    """Input the argument spec cannot judge; the message names the option and the problem."""


class ReadinessResult(object):
    """Outcome of wait_until_ready(). ``checks``: last result of each check (JSON-friendly)."""

    def __init__(self, ok, elapsed, attempts, checks, msg, failed_fast=False):
        self.ok = ok
        self.elapsed = elapsed
        self.attempts = attempts
        self.checks = checks
        self.msg = msg
        self.failed_fast = failed_fast

    def as_dict(self):
        return dict(ok=self.ok, elapsed=self.elapsed, attempts=self.attempts,
                    checks=self.checks, msg=self.msg, failed_fast=self.failed_fast)


def _excerpt(text, limit=BODY_EXCERPT):
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    text = text or ''
    return text if len(text) <= limit else text[:limit] + '...'


def _errno_name(exc):
    code = getattr(exc, 'errno', None)
    return errno_mod.errorcode.get(code) if code else None


# ------------------------------------------------------------------ the checks (one table)

class _Check(object):
    """One prepared check. probe() returns a JSON-friendly dict with at least
    index, type, name, ok, msg (what was seen) and, when waiting longer is pointless, fatal."""

    kind = None

    def __init__(self, index, params, where):
        self.index = index
        self.params = params
        self.where = where
        self.name = params.get('name') or self.describe()

    def option(self, key):
        return '%s.%s' % (self.where, key)

    def describe(self):
        raise NotImplementedError

    def probe(self, budget, docker):
        raise NotImplementedError

    def result(self, ok, msg, fatal=False, **fields):
        out = dict(index=self.index, type=self.kind, name=self.name, ok=ok, msg=msg)
        if fatal:
            out['fatal'] = True
        out.update(fields)
        return out

    def timeout_for(self, budget):
        # Never let one request run far past the overall deadline, never below 50 ms either.
        return max(min(self.params['request_timeout'], budget), 0.05)


class _HttpCheck(_Check):
    kind = 'http'

    def __init__(self, index, params, where):
        try:
            context = None
            if params['url'].lower().startswith('https:'):
                context = _traffic.ssl_context(params['validate_certs'], params.get('ca_path'),
                                               params.get('client_cert'), params.get('client_key'))
            self.target = _traffic.Target(params['url'], params.get('unix_socket'), context)
        except _traffic.TrafficInputError as exc:
            raise ReadinessInputError('%s.url: %s' % (where, exc))
        codes = params['status_codes']
        if not codes or any(not 100 <= code <= 599 for code in codes):
            raise ReadinessInputError('%s.status_codes: give HTTP statuses between 100 and 599, got %r'
                                      % (where, codes))
        self.regex = None
        if params.get('body_regex') is not None:
            try:
                self.regex = re.compile(params['body_regex'])
            except re.error as exc:
                raise ReadinessInputError('%s.body_regex: not a valid regular expression: %s'
                                          % (where, exc))
        self.headers = dict((str(k), str(v)) for k, v in (params.get('headers') or {}).items())
        if params.get('url_username') is not None:
            self.headers['Authorization'] = _traffic.basic_auth_header(
                params['url_username'], params.get('url_password'))
        self.expected_headers = dict(
            (str(k).lower(), str(v)) for k, v in (params.get('response_headers') or {}).items())
        super(_HttpCheck, self).__init__(index, params, where)

    def describe(self):
        return '%s %s' % (self.params['method'].upper(), self.target.label)

    def probe(self, budget, docker):
        client = _traffic.Client(timeout=self.timeout_for(budget), keepalive=False,
                                 expect=self.params['status_codes'], version_header=None)
        res = client.request(self.target, self.params['method'].upper(), self.headers,
                             keep_response=True)
        fields = dict(status=res.status, outcome=res.outcome, error=res.error,
                      latency_ms=round(res.latency * 1000.0, 3),
                      body=_excerpt(res.body) if res.body is not None else None)
        if res.status is None:
            return self.result(False, 'no response (%s): %s' % (res.outcome, res.error), **fields)
        text = res.body.decode('utf-8', 'replace')
        problems = []
        if res.outcome != _traffic.OK:
            problems.append('status %d, expected %s' % (
                res.status, ' or '.join(str(c) for c in self.params['status_codes'])))
        if self.params.get('body') is not None and self.params['body'] not in text:
            problems.append('body does not contain %r' % self.params['body'])
        if self.regex is not None and not self.regex.search(text):
            problems.append('body does not match %r' % self.params['body_regex'])
        for name, value in sorted(self.expected_headers.items()):
            seen = res.headers.get(name)
            if seen != value:
                problems.append('header %s is %r, expected %r' % (name, seen, value))
        if problems:
            return self.result(False, '%s; body %r' % ('; '.join(problems), _excerpt(text, 80)),
                               **fields)
        return self.result(True, 'status %d' % res.status, **fields)


class _SocketCheck(_Check):
    """Connect and close: tcp and unix."""

    def connect(self, timeout):
        raise NotImplementedError

    def probe(self, budget, docker):
        try:
            sock = self.connect(self.timeout_for(budget))
            sock.close()
        except (OSError, socket.timeout) as exc:
            return self.result(False, 'connect failed: %s' % _traffic.describe_error(exc),
                               errno=_errno_name(exc), error=_traffic.describe_error(exc))
        return self.result(True, 'connected', errno=None, error=None)


class _TcpCheck(_SocketCheck):
    kind = 'tcp'

    def __init__(self, index, params, where):
        if not 1 <= params['port'] <= 65535:
            raise ReadinessInputError('%s.port: must be between 1 and 65535, got %d'
                                      % (where, params['port']))
        super(_TcpCheck, self).__init__(index, params, where)

    def describe(self):
        return 'tcp %s:%d' % (self.params['host'], self.params['port'])

    def connect(self, timeout):
        return socket.create_connection((self.params['host'], self.params['port']), timeout=timeout)


class _UnixCheck(_SocketCheck):
    kind = 'unix'

    def describe(self):
        return 'unix %s' % self.params['path']

    def connect(self, timeout):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.params['path'])
        except Exception:
            sock.close()
            raise
        return sock


def _pid_state(pid, proc='/proc'):
    """(alive, detail) of a process id on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, 'process %d is not running' % pid
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError as exc:
        return False, 'process %d: %s' % (pid, exc)
    try:
        with open(os.path.join(proc, str(pid), 'stat')) as handle:
            # state is the field after the parenthesised command name
            state = handle.read().rpartition(')')[2].split()[0]
        if state in ('Z', 'X'):
            return False, 'process %d is a zombie (exited, not reaped)' % pid
    except (OSError, IndexError):
        pass  # no procfs: kill(0) is all we know
    return True, 'process %d is running' % pid


class _FileCheck(_Check):
    kind = 'file'

    def describe(self):
        return ('pid file %s' if self.params['pid_alive'] else 'file %s') % self.params['path']

    def probe(self, budget, docker):
        path = self.params['path']
        if not os.path.exists(path):
            return self.result(False, '%s does not exist' % path, exists=False, pid=None)
        if not self.params['pid_alive']:
            return self.result(True, '%s exists' % path, exists=True, pid=None)
        try:
            with open(path) as handle:
                raw = handle.read(64).strip()
        except (OSError, UnicodeDecodeError) as exc:
            return self.result(False, 'cannot read %s: %s' % (path, exc), exists=True, pid=None)
        first = raw.split()[0] if raw.split() else ''
        if not first.isdigit() or int(first) <= 0:
            return self.result(False, '%s does not hold a process id (content %r)' % (path, raw[:40]),
                               exists=True, pid=None)
        alive, detail = _pid_state(int(first))
        return self.result(alive, detail, exists=True, pid=int(first))


class _ContainerCheck(_Check):
    kind = 'container'
    _WAIT_STATES = ('created', 'running', 'paused')

    def __init__(self, index, params, where):
        super(_ContainerCheck, self).__init__(index, params, where)
        self.seen = False
        self.seen_healthy = False
        self.container_id = None

    def describe(self):
        return 'container %s' % self.params['container']

    def logs(self, docker):
        """Last log lines of the container, or a note why there are none."""
        try:
            raw = DockerEngine.of(docker).log_text(self.container_id or self.params['container'], LOG_LINES)
        except Exception as exc:
            return ['(logs unavailable: %s)' % _traffic.describe_error(exc)]
        return [_excerpt(line, 200) for line in raw.splitlines()[-LOG_LINES:]]

    def probe(self, budget, docker):
        name = self.params['container']
        try:
            info = DockerEngine.of(docker).inspect_raw(name)
        except Exception as exc:
            if status_code(exc) == 404 or type(exc).__name__ == 'NotFound':
                if self.seen:
                    return self.result(False, 'container %s was removed while waiting' % name,
                                       fatal=True, state='removed', health=None, exit_code=None)
                return self.result(False, 'container %s does not exist' % name,
                                   state='missing', health=None, exit_code=None)
            return self.result(False, 'Docker engine error: %s' % _traffic.describe_error(exc),
                               state=None, health=None, exit_code=None)
        self.seen = True
        self.container_id = info.get('Id')
        state = info.get('State') or {}
        status = state.get('Status') or ('running' if state.get('Running') else 'unknown')
        health_info = state.get('Health') or None
        health = health_info.get('Status') if health_info else None
        fields = dict(id=(self.container_id or '')[:12], state=status, health=health,
                      exit_code=state.get('ExitCode'), started_at=state.get('StartedAt'))
        if status not in self._WAIT_STATES:
            detail = status
            if status in ('exited', 'dead', 'restarting'):
                detail += ' (exit code %s%s%s)' % (
                    state.get('ExitCode'), ', OOM killed' if state.get('OOMKilled') else '',
                    ', error: %s' % state['Error'] if state.get('Error') else '')
            return self.result(False, 'container %s is %s' % (name, detail), fatal=True, **fields)
        if status != 'running':
            return self.result(False, 'container %s is %s, not running' % (name, status), **fields)
        if not self.params['healthy'] or health is None:
            return self.result(True, 'running' if health is None else 'running, %s' % health, **fields)
        last = (health_info.get('Log') or [{}])[-1]
        last_output = _excerpt((last.get('Output') or '').strip(), 120)
        fields['last_health_check'] = last_output
        if health == 'healthy':
            self.seen_healthy = True
            return self.result(True, 'running, healthy', **fields)
        if health == 'unhealthy':
            # Unhealthy after having been healthy (seen by us, or a passing entry in Docker's
            # recent health log) is fatal. Never healthy yet is a slow start: keep waiting.
            passed_before = self.seen_healthy or any(
                entry.get('ExitCode') == 0 for entry in health_info.get('Log') or [])
            msg = 'container %s is running but unhealthy%s (last health check: %r)' % (
                name, ' after having been healthy' if passed_before else ', never healthy yet',
                last_output)
            return self.result(False, msg, fatal=passed_before, **fields)
        return self.result(False, 'container %s is running, health %s (last health check: %r)'
                           % (name, health, last_output), **fields)


_CHECK_CLASSES = dict(http=_HttpCheck, tcp=_TcpCheck, unix=_UnixCheck, file=_FileCheck,
                      container=_ContainerCheck)


# ------------------------------------------------------------------ input

def _with_defaults(spec, given, where):
    """A copy of ``given`` with every key of ``spec``, defaults filled in (callers that build
    check dicts by hand need not repeat the defaults). Unknown keys are an input error."""
    if not isinstance(given, dict):
        raise ReadinessInputError('%s: expected a dict, got %r' % (where, given))
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ReadinessInputError('%s: unknown option(s) %s; known: %s'
                                  % (where, ', '.join(unknown), ', '.join(sorted(spec))))
    out = {}
    for key, rule in spec.items():
        value = given.get(key)
        if value is None and rule.get('default') is not None:
            value = rule['default']
            value = list(value) if isinstance(value, list) else value
        out[key] = value
    return out


def _positive(value, option, minimum=0.0, allow_equal=False):
    if value is None or (value < minimum if allow_equal else value <= minimum):
        raise ReadinessInputError('%s must be %s %g, got %r'
                                  % (option, 'at least' if allow_equal else 'greater than',
                                     minimum, value))


def prepare_checks(checks, docker=None, option_prefix='', require_docker=True):
    """Validate the checks and return them prepared (list of _Check). Raises ReadinessInputError.
    ``require_docker=False``: validate only, a container check needs no client yet."""
    prepared = []
    for index, raw in enumerate(checks or []):
        where = '%schecks[%d]' % (option_prefix, index)
        params = _with_defaults(CHECK_OPTIONS, raw, where)
        kind = params['type']
        if kind not in _CHECK_CLASSES:
            raise ReadinessInputError('%s.type: must be one of %s, got %r'
                                      % (where, ', '.join(CHECK_TYPES), kind))
        for rule in CHECK_REQUIRED_IF:
            if kind == rule[1]:
                for key in rule[2]:
                    if params.get(key) in (None, ''):
                        raise ReadinessInputError('%s: a %s check needs %s' % (where, kind, key))
        allowed = set(_COMMON_KEYS) | set(_TYPE_KEYS[kind])
        for key in sorted(set(params) - allowed):
            default = CHECK_OPTIONS[key].get('default')
            if params[key] is not None and params[key] != default:
                users = [t for t in CHECK_TYPES if key in _TYPE_KEYS[t]]
                raise ReadinessInputError('%s.%s: does not apply to a %s check (it is an option of %s checks)'
                                          % (where, key, kind, ' and '.join(users)))
        if 'request_timeout' in _TYPE_KEYS[kind]:
            _positive(params['request_timeout'], where + '.request_timeout')
        if kind == 'container' and docker is None and require_docker:
            raise ReadinessInputError('%s: a container check needs a Docker client, and none was given '
                                      '(caller error: connect with _docker.docker_client first)' % where)
        prepared.append(_CHECK_CLASSES[kind](index, params, where))
    return prepared


def needs_docker(checks):
    """True when a container check is among ``checks`` (connect to the engine only then)."""
    return any((check or {}).get('type') == 'container' for check in checks or [])


def _validate_timing(timeout, interval, success_threshold, initial_delay, prefix):
    _positive(timeout, prefix + 'timeout')
    _positive(interval, prefix + 'interval')
    _positive(success_threshold, prefix + 'success_threshold', 1, allow_equal=True)
    _positive(initial_delay, prefix + 'initial_delay', 0, allow_equal=True)
    if initial_delay >= timeout:
        raise ReadinessInputError('%sinitial_delay (%gs) must be shorter than %stimeout (%gs)'
                                  % (prefix, initial_delay, prefix, timeout))


def check_input(checks, timeout, interval, success_threshold, initial_delay=0, warmup=None,
                option_prefix=''):
    """Validate every wait option without network or engine I/O (call it before connecting).
    Raises ReadinessInputError naming the option."""
    _validate_timing(timeout, interval, success_threshold, initial_delay, option_prefix)
    prepare_checks(checks, None, option_prefix, require_docker=False)
    if warmup:
        prepare_warmup(warmup, option_prefix)


# ------------------------------------------------------------------ the wait

def _summary(results):
    return '; '.join('%s %s: %s' % (
        'checks[%d]' % r['index'], r['name'], r['msg']) for r in results)


def _describe(pairs, docker):
    """'checks[i] name: what it saw.' for each (check, result); failing container checks get
    their last log lines (also stored in the result as ``logs``)."""
    parts = []
    for check, result in pairs:
        text = 'checks[%d] %s: %s.' % (check.index, check.name, result['msg'])
        if isinstance(check, _ContainerCheck) and docker is not None and result.get('state') not in (
                None, 'missing', 'removed'):
            result['logs'] = check.logs(docker)
            text += ' Last log lines of %s: %s.' % (check.params['container'],
                                                    ' | '.join(result['logs']) or '(none)')
        parts.append(text)
    return ' '.join(parts)


class EngineWatch(object):
    """The engine's event stream, filtered to the containers a wait checks and to the events that
    change what their check sees (health_status, die, destroy, oom). ``wait(seconds)`` sleeps like
    ``sleep`` but returns True at once when such an event arrives, so a container turning healthy
    is noticed when the engine says so, not up to a whole ``interval`` later.

    One HTTP stream and one reader thread for the whole wait; ``close()`` ends both. When the
    stream cannot be opened (an engine or client without events), ``wait`` is plain ``sleep``:
    the poll every ``interval`` stays the rule, the events only make it earlier.
    """

    EVENTS = ('health_status', 'die', 'destroy', 'oom')

    def __init__(self, docker, containers, sleep=time.sleep):
        self.sleep = sleep
        self.woken = threading.Event()
        self.stream = None
        self.events = 0
        try:
            self.stream = DockerEngine.of(docker).events(dict(
                type=['container'], container=sorted(set(containers)), event=list(self.EVENTS)))
        except Exception:   # no stream: poll at the interval as before
            return
        reader = threading.Thread(target=self._read, name='zdt-engine-events')
        reader.daemon = True
        reader.start()

    def _read(self):
        try:
            for _event in self.stream:
                self.events += 1
                self.woken.set()
        except Exception:   # closed by close(), or broken: the poll goes on without it
            pass

    def wait(self, seconds):
        """Sleep up to ``seconds``; True when an event ended the sleep early."""
        if self.stream is None:
            self.sleep(seconds)
            return False
        woke = self.woken.wait(seconds)
        self.woken.clear()
        return woke

    def close(self):
        if self.stream is not None:
            try:
                self.stream.close()
            except Exception:   # already closed or broken: nothing left to release
                pass


def wait_until_ready(checks, timeout, interval, success_threshold, initial_delay=0, docker=None,
                     clock=time.monotonic, sleep=time.sleep, option_prefix='', watch=None):
    """Poll every check until all pass ``success_threshold`` times in a row.

    Attempts start every ``interval`` seconds (later when an attempt takes longer), the first after
    ``initial_delay``; the last one no later than ``timeout`` seconds after the call. With
    container checks, an attempt also starts as soon as the engine reports an event of one of
    their containers (``watch``: an EngineWatch on ``docker`` unless given; anything with
    ``wait(seconds) -> woken`` and ``close()``). A container that exits, is removed or turns
    unhealthy ends the wait at once.
    Returns a ReadinessResult; raises ReadinessInputError only for invalid input.
    """
    _validate_timing(timeout, interval, success_threshold, initial_delay, option_prefix)
    prepared = prepare_checks(checks, docker, option_prefix)
    if not prepared:
        return ReadinessResult(True, 0.0, 0, [], 'No readiness check to wait for.')
    containers = [c.params['container'] for c in prepared if isinstance(c, _ContainerCheck)]
    own_watch = watch is None and bool(containers)
    if own_watch:
        watch = EngineWatch(docker, containers, sleep)
    try:
        return _poll(prepared, timeout, interval, success_threshold, initial_delay, docker, clock,
                     sleep, sleep if watch is None else watch.wait)
    finally:
        if own_watch:
            watch.close()


def _poll(prepared, timeout, interval, success_threshold, initial_delay, docker, clock, sleep, wait):
    poll = Poll(timeout, interval, clock, sleep, wake=wait, paced=True)
    if initial_delay:
        sleep(initial_delay)
    passing = dict(streak=0)   # consecutive attempts on which every check passed

    def attempt():
        results = [check.probe(poll.left(), docker) for check in prepared]
        fatal = [(c, r) for c, r in zip(prepared, results) if r.get('fatal')]
        if not fatal:
            passing['streak'] = passing['streak'] + 1 if all(r['ok'] for r in results) else 0
        return results, fatal

    waited = poll.until(attempt, lambda seen: bool(seen[1]) or passing['streak'] >= success_threshold)
    (results, fatal), attempts, streak = waited.value, waited.polls, passing['streak']
    elapsed = round(waited.elapsed, 3)
    if fatal:
        msg = ('Not ready, and waiting longer cannot help (stopped after %.1fs, attempt %d, '
               'without waiting out the %gs timeout): %s'
               % (elapsed, attempts, timeout, _describe(fatal, docker)))
        return ReadinessResult(False, elapsed, attempts, results, msg, failed_fast=True)
    if waited.ok:
        msg = 'Ready after %.1fs (%d attempt%s): %d check%s passed %d time%s in a row.' % (
            elapsed, attempts, '' if attempts == 1 else 's', len(results),
            '' if len(results) == 1 else 's', streak, '' if streak == 1 else 's')
        return ReadinessResult(True, elapsed, attempts, results, msg)
    failing = [(c, r) for c, r in zip(prepared, results) if not r['ok']]
    if failing:
        detail = '%d of %d check%s not passing: %s' % (
            len(failing), len(results), '' if len(results) == 1 else 's', _describe(failing, docker))
    else:
        detail = ('every check passed on the last attempt, but only %d of the %d consecutive '
                  'passes required (success_threshold)' % (streak, success_threshold))
    msg = 'Not ready after %.1fs (timeout %gs, %d attempt%s): %s' % (
        elapsed, timeout, attempts, '' if attempts == 1 else 's', detail)
    return ReadinessResult(False, elapsed, attempts, results, msg)


# ------------------------------------------------------------------ warmup

def warmup_urls(warmup, option_prefix=''):
    """The warmup's URL list: ``urls`` then the lines of ``url_file`` (blank lines and
    '#' comments skipped). Validates every URL. Raises ReadinessInputError."""
    where = option_prefix + 'warmup'
    urls = []
    for url in warmup.get('urls') or []:
        urls.append(('%s.urls' % where, url))
    if warmup.get('url_file'):
        path = warmup['url_file']
        try:
            with open(path) as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ReadinessInputError('%s.url_file: cannot read %s: %s' % (where, path, exc))
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if line and not line.startswith('#'):
                urls.append(('%s.url_file %s line %d' % (where, path, number), line))
    if not urls:
        raise ReadinessInputError('%s: no URL to request (urls is empty and url_file has none)' % where)
    return urls


def prepare_warmup(warmup, option_prefix=''):
    """Validate a warmup dict; return (params with defaults, list of _traffic.Target)."""
    where = option_prefix + 'warmup'
    params = _with_defaults(WARMUP_OPTIONS, warmup, where)
    _positive(params['requests_per_url'], where + '.requests_per_url', 1, allow_equal=True)
    _positive(params['concurrency'], where + '.concurrency', 1, allow_equal=True)
    _positive(params['request_timeout'], where + '.request_timeout')
    context = None
    targets = []
    seen = set()
    for origin, url in warmup_urls(params, option_prefix):
        if url in seen:
            continue  # a URL listed twice is still requested requests_per_url times
        seen.add(url)
        try:
            if url.lower().startswith('https:') and context is None:
                context = _traffic.ssl_context(params['validate_certs'], params.get('ca_path'))
            targets.append(_traffic.Target(url, params.get('unix_socket'), context))
        except _traffic.TrafficInputError as exc:
            raise ReadinessInputError('%s: %s' % (origin, exc))
    return params, targets


def run_warmup(warmup, clock=time.monotonic, run_load=None, option_prefix=''):
    """Request every warmup URL ``requests_per_url`` times with ``concurrency`` clients.

    Returns a dict: ``failed`` (bool: any request failed), ``msg``, ``elapsed``, ``concurrency``,
    ``requests_per_url``, ``total`` and ``urls`` (one per URL, in order, with ``url``,
    ``first_error``): each as _traffic.summarize() gives it (requests, ok, failed, errors per
    outcome class, statuses, latency_ms min/p50/p95/p99/max).
    Raises ReadinessInputError for invalid input only.
    """
    params, targets = prepare_warmup(warmup, option_prefix)
    run_load = run_load or _traffic.run_load
    headers = dict((str(k), str(v)) for k, v in (params.get('headers') or {}).items())
    start = clock()
    results = run_load(targets, concurrency=params['concurrency'],
                       requests=params['requests_per_url'] * len(targets),
                       keepalive=params['keepalive'], headers=headers,
                       expect=params['status_codes'], timeout=params['request_timeout'],
                       clock=clock)
    elapsed = round(clock() - start, 3)
    per_url = []
    for target in targets:
        mine = [r for r in results if r.target == target.label]
        stats = _traffic.summarize(mine)
        stats['url'] = target.label
        firsts = [r for r in mine if r.outcome != _traffic.OK]
        stats['first_error'] = (firsts[0].error or 'status %s' % firsts[0].status) if firsts else None
        per_url.append(stats)
    total = _traffic.summarize(results)
    failed = total['failed'] > 0
    if failed:
        bad = ['%s: %d of %d failed (%s; first: %s)' % (
            s['url'], s['failed'], s['requests'],
            ', '.join('%s %d' % (k, v) for k, v in sorted(s['errors'].items()) if v),
            s['first_error']) for s in per_url if s['failed']]
        msg = 'Warmup: %d of %d requests failed: %s' % (
            total['failed'], total['requests'], '; '.join(bad))
    else:
        msg = 'Warmup: %d requests to %d URL%s, all ok, p95 %s ms' % (
            total['requests'], len(targets), '' if len(targets) == 1 else 's',
            total['latency_ms']['p95'])
    return dict(failed=failed, msg=msg, elapsed=elapsed, concurrency=params['concurrency'],
                requests_per_url=params['requests_per_url'], total=total, urls=per_url)
