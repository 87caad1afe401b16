# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The one HTTP request engine of the collection (standard library only).

Used by wait_ready's HTTP checks and warmup, the roles' in-deploy probe, Molecule verify and the
benchmark's load generator. Three layers, each usable alone:

- ``Target``: where a request goes (parsed URL, optional unix socket, TLS context).
- ``Client``: one client connection that sends requests, kept alive or not, and classifies every
  request into one outcome class (``OUTCOMES``) with its latency and version header.
- ``Load``: N concurrent clients (threads) sending a bounded number of requests or for a bounded
  duration; ``run_load()`` runs one to the end.
- ``Tally``: a running summary of Results (thread-safe), for loads too long to keep every Result
  (``Load(on_result=tally.add)``).

Plus pure helpers: ``percentile()``, ``latency_stats()``, ``summarize()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import array
import base64
import collections
import http.client
import math
import re
import select
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

# Outcome classes of one request.
OK = 'ok'              # a response with an expected status
STATUS = 'status'      # a response with an unexpected status
REFUSED = 'refused'    # connection refused (nobody listening)
RESET = 'reset'        # connection reset / aborted, or closed without answer on a fresh connection
TIMEOUT = 'timeout'    # no connection or no complete answer within the request timeout
CLOSED = 'closed'      # the server had closed an idle keep-alive connection we reused
OTHER = 'other'        # anything else (DNS, TLS, missing unix socket, protocol error...)
OUTCOMES = (OK, STATUS, REFUSED, RESET, TIMEOUT, CLOSED, OTHER)

VERSION_HEADER = 'X-App-Version'

# Seconds a client waits after a request refused or failed with OTHER (a missing unix socket, a
# name that does not resolve, a TLS failure), when its pause is shorter. Such a request fails in
# microseconds: without the wait the clients spin, and a probe watching a deploy takes the CPU
# the deploy needs. The failure still counts.
FAST_FAILURE_BACKOFF = 0.01
FAST_FAILURES = (REFUSED, OTHER)

# One request. start: clock() when it began; latency: seconds; status: HTTP status or None;
# version: value of the version header or None; error: 'ExcType: text' or None;
# target: label of the Target; headers/body: only when the caller asked to keep the response;
# fresh: the request went on a connection opened for it alone (a client without keep-alive).
Result = collections.namedtuple(
    'Result', 'target start latency outcome status version error headers body fresh',
    defaults=(False,))


class TrafficInputError(ValueError):
    """A URL or TLS setting that cannot be used; the text says what is wrong with it."""


def ssl_context(validate_certs=True, ca_path=None, client_cert=None, client_key=None):
    """An ssl.SSLContext for HTTPS requests: verified by default, optional CA bundle and client cert."""
    try:
        context = ssl.create_default_context(cafile=ca_path)
    except (OSError, ssl.SSLError) as exc:
        raise TrafficInputError('cannot load the CA bundle %s: %s' % (ca_path, exc))
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        try:
            context.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as exc:
            raise TrafficInputError('cannot load the client certificate %s: %s' % (client_cert, exc))
    return context


def without_credentials(url):
    """``url`` as it may be shown when it carries user:password@ (``scheme://***@host/path``: a
    message is printed, logged and kept by AWX); None when it carries none."""
    parts = urlsplit(url or '')
    if parts.username is None and parts.password is None:
        return None
    return '%s://***@%s%s' % (parts.scheme, parts.netloc.rpartition('@')[2], parts.path)


def basic_auth_header(username, password):
    """Value of an Authorization header for HTTP basic auth."""
    raw = ('%s:%s' % (username, password or '')).encode('utf-8')
    return 'Basic ' + base64.b64encode(raw).decode('ascii')


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix stream socket; host/port only feed the Host header."""

    def __init__(self, socket_path, host, port=None, timeout=None):
        super(_UnixHTTPConnection, self).__init__(host, port, timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


class Target(object):
    """Where requests go: an http(s) URL, optionally sent through a unix socket.

    With ``unix_socket`` the URL only gives the path and the Host header; a bare path
    (``/health``) is accepted then and means ``http://localhost/health``.
    Raises TrafficInputError for anything that cannot be requested.
    """

    def __init__(self, url, unix_socket=None, context=None):
        if not isinstance(url, str) or not url:
            raise TrafficInputError('the URL is empty')
        if re.search(r'\s', url):
            raise TrafficInputError('%r contains whitespace' % url)
        full = 'http://localhost' + url if unix_socket and url.startswith('/') else url
        parts = urlsplit(full)
        scheme = parts.scheme.lower()
        if scheme not in ('http', 'https'):
            raise TrafficInputError('%r is not an http:// or https:// URL' % url)
        if not parts.hostname:
            raise TrafficInputError('%r has no host' % url)
        shown = without_credentials(full)
        if shown:
            raise TrafficInputError('%r carries credentials (user:password@, not shown here); give them as '
                                    'separate options' % shown)
        try:
            port = parts.port
        except ValueError:
            raise TrafficInputError('%r has an invalid port' % url)
        if unix_socket and scheme == 'https':
            raise TrafficInputError('%r: HTTPS over a unix socket is not supported' % url)
        self.url = url
        self.scheme = scheme
        self.host = parts.hostname
        self.port = port or (443 if scheme == 'https' else 80)
        self.path = (parts.path or '/') + ('?' + parts.query if parts.query else '')
        self.unix_socket = unix_socket
        # One context per target: building one loads the CA store, too slow for every connection.
        self.context = context or (ssl_context() if scheme == 'https' else None)
        self.label = '%s via unix:%s' % (url, unix_socket) if unix_socket else url

    def connect(self, timeout):
        """A new, not yet connected http.client connection to this target."""
        if self.unix_socket:
            return _UnixHTTPConnection(self.unix_socket, self.host, self.port, timeout=timeout)
        if self.scheme == 'https':
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=self.context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def describe_error(exc):
    """'ExcType: text' of an exception, for results and messages."""
    text = str(exc)
    return '%s: %s' % (type(exc).__name__, text) if text else type(exc).__name__


def classify_error(exc, reused, answered=False):
    """Outcome class of a request that raised ``exc``.

    reused: the request went over a kept-alive connection that had served a request before;
    answered: the status line had arrived (the error hit while reading the body).
    A reused connection that ends (EOF, RST, EPIPE) before any answer is ``closed``: the server
    closed it while the request was on its way, the HTTP/1.1 keep-alive race (a connection the
    server had closed earlier is not reused, see Client). It cannot be told apart from a
    server that died right after reading the request; on a fresh connection that is ``reset``.
    """
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    ended = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
             ConnectionAbortedError)
    if isinstance(exc, ended):
        return CLOSED if reused and not answered else RESET
    if isinstance(exc, http.client.IncompleteRead):
        return RESET
    return OTHER


class Client(object):
    """One client connection: sends requests one after the other and classifies each.

    keepalive: reuse the connection between requests (HTTP/1.1 persistent connection);
    otherwise each request opens its own connection and sends ``Connection: close``.
    expect: statuses counted as ``ok``; any other status is ``status``.
    Never raises for network errors: they become the outcome of the request.

    Before a kept-alive connection is reused, it is checked for anything the server sent while
    it was idle (its close, mostly); such a connection is replaced by a new one, as every common
    HTTP client does (urllib3 even with retries off). That is no retry: nothing was sent on it.
    What stays a failure is the race, a server that closes while the request is on its way.
    """

    def __init__(self, timeout=5.0, keepalive=True, expect=(200,), version_header=VERSION_HEADER,
                 clock=time.monotonic):
        self.timeout = timeout
        self.keepalive = keepalive
        self.expect = frozenset(expect)
        self.version_header = version_header
        self.clock = clock
        self._conn = None
        self._conn_target = None

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None
        self._conn_target = None

    def request(self, target, method='GET', headers=None, body=None, keep_response=False):
        """Send one request to ``target`` (a Target) and return its Result."""
        start = self.clock()
        if self._conn is not None and (self._conn_target is not target or _server_spoke(self._conn)):
            self.close()
        reused = self._conn is not None
        status = version = error = resp_headers = resp_body = None
        answered = False
        try:
            if self._conn is None:
                self._conn = target.connect(self.timeout)
                self._conn_target = target
            send_headers = dict(headers or {})
            if not self.keepalive:
                send_headers['Connection'] = 'close'
            self._conn.request(method, target.path, body=body, headers=send_headers)
            resp = self._conn.getresponse()
            answered = True
            data = resp.read()
            status = resp.status
            if self.version_header:
                version = resp.getheader(self.version_header)
            if keep_response:
                resp_headers = dict((k.lower(), v) for k, v in resp.getheaders())
                resp_body = data
            if not self.keepalive or resp.will_close:
                self.close()
            outcome = OK if status in self.expect else STATUS
        except Exception as exc:
            self.close()
            outcome = classify_error(exc, reused, answered)
            error = describe_error(exc)
        return Result(target.label, start, self.clock() - start, outcome, status, version, error,
                      resp_headers, resp_body, not self.keepalive)


def _server_spoke(conn):
    """True when the server sent something (its close: EOF or RST) on this idle connection."""
    sock = getattr(conn, 'sock', None)
    if sock is None:
        return False
    poller = select.poll()          # not select.select: no limit on the descriptor number
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class Load(object):
    """``concurrency`` clients in threads, sending requests to ``targets`` in turn.

    Bounded by ``requests`` (total over all clients) and/or ``duration`` (seconds; no request is
    started after it, requests in flight finish), or by stop(). Request number i goes to
    targets[i % len(targets)]. ``pause``: seconds each client waits between its requests
    (at least FAST_FAILURE_BACKOFF after one of FAST_FAILURES).
    ``interval``: seconds from the start of one request of a client to the start of its next (a
    paced load of ``concurrency / interval`` requests per second). The clients are staggered by
    ``interval / concurrency``, so that their starts interleave evenly; a client whose request took
    longer than ``interval`` starts its next one at once and does not catch up on the starts it
    missed (a stall shows as a gap between request starts, not as a burst after it).
    ``fresh``: how many of the clients (the last ones) open a new connection for every request,
    whatever ``keepalive`` says; their Results say ``fresh=True``.
    ``keep_response``: keep every response's headers and body in its Result.
    ``on_result``: called with every Result, in the client's thread, instead of keeping it
    (results() then stays empty), so a long load does not grow in memory, e.g. a Tally's add;
    it must not raise.
    Use start() / stop() / join() for load in the background, or run_load() to the end.
    """

    def __init__(self, targets, concurrency=1, requests=None, duration=None, keepalive=True,
                 method='GET', headers=None, expect=(200,), timeout=5.0,
                 version_header=VERSION_HEADER, pause=0.0, clock=time.monotonic, on_result=None,
                 interval=None, fresh=0, keep_response=False):
        if not targets:
            raise TrafficInputError('a load needs at least one target')
        if requests is None and duration is None:
            raise TrafficInputError('a load needs a bound: a number of requests or a duration')
        if concurrency < 1:
            raise TrafficInputError('concurrency must be at least 1, got %r' % concurrency)
        if not 0 <= fresh <= concurrency:
            raise TrafficInputError('fresh must be between 0 and concurrency (%d), got %r' % (concurrency, fresh))
        if interval is not None and interval <= 0:
            raise TrafficInputError('interval must be greater than 0, got %r' % interval)
        self.targets = list(targets)
        self.concurrency = concurrency
        self.requests = requests
        self.duration = duration
        self.method = method
        self.headers = headers
        self.pause = pause
        self.interval = interval
        self.fresh = fresh
        self.keep_response = keep_response
        self.clock = clock
        self.on_result = on_result
        self._client_args = dict(timeout=timeout, keepalive=keepalive, expect=expect,
                                 version_header=version_header, clock=clock)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._issued = 0
        self._deadline = None
        self._started = None
        self._threads = []
        self._results = []

    def _next_index(self):
        with self._lock:
            index = self._issued
            if self.requests is not None and index >= self.requests:
                return None
            self._issued += 1
            return index

    def _worker(self, out, number):
        args = dict(self._client_args)
        if number >= self.concurrency - self.fresh:
            args['keepalive'] = False
        client = Client(**args)
        slot = None
        if self.interval is not None:
            slot = self._started + self.interval * number / float(self.concurrency)
        try:
            while not self._stop.is_set():
                if slot is not None:
                    ahead = slot - self.clock()
                    if ahead > 0 and self._stop.wait(ahead):
                        break
                if self._deadline is not None and self.clock() >= self._deadline:
                    break
                index = self._next_index()
                if index is None:
                    break
                target = self.targets[index % len(self.targets)]
                result = client.request(target, self.method, self.headers, keep_response=self.keep_response)
                if self.on_result is None:
                    out.append(result)
                else:
                    self.on_result(result)
                wait = self.pause
                if result.outcome in FAST_FAILURES:
                    wait = max(wait, FAST_FAILURE_BACKOFF)
                if slot is not None:
                    # The next start on the schedule; a late client starts at once, no burst after.
                    slot = max(slot + self.interval, self.clock() + wait)
                elif wait and self._stop.wait(wait):
                    break
        finally:
            client.close()

    def start(self):
        self._started = self.clock()
        if self.duration is not None:
            self._deadline = self._started + self.duration
        for number in range(self.concurrency):
            out = []
            self._results.append(out)
            thread = threading.Thread(target=self._worker, args=(out, number),
                                      name='zdt-traffic-%d' % number)
            thread.daemon = True
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self):
        """Start no further request; requests in flight finish (see join())."""
        self._stop.set()

    def join(self, timeout=None):
        """Wait for every client to finish; True when all did within ``timeout``."""
        end = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if end is None else max(end - time.monotonic(), 0))
        return not any(thread.is_alive() for thread in self._threads)

    def results(self):
        """Every Result so far, ordered by start time."""
        merged = [result for out in self._results for result in list(out)]
        merged.sort(key=lambda result: result.start)
        return merged


def run_load(targets, **kwargs):
    """Run a Load (same arguments) to its end and return its Results ordered by start time."""
    load = Load(targets, **kwargs).start()
    load.join()
    return load.results()


def percentile(sorted_values, pct):
    """Nearest-rank percentile (0 < pct <= 100) of an ascending list; None when empty."""
    if not sorted_values:
        return None
    if not 0 < pct <= 100:
        raise ValueError('percentile must be in (0, 100], got %r' % pct)
    rank = int(math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[max(rank, 1) - 1]


def latency_stats(latencies, scale=1000.0, digits=3):
    """min/p50/p95/p99/max of latencies (seconds), times ``scale`` (ms by default), rounded."""
    values = sorted(latencies)

    def pick(value):
        return None if value is None else round(value * scale, digits)

    return dict(
        min=pick(values[0] if values else None),
        p50=pick(percentile(values, 50)),
        p95=pick(percentile(values, 95)),
        p99=pick(percentile(values, 99)),
        max=pick(values[-1] if values else None),
    )


class Tally(object):
    """A running summary of Results: add() them one by one (from any thread), summary() at any time.

    Keeps counts and one float per request (the latency), not the Results. Subclasses that count
    more extend count(), which add() calls under the lock, and summary().
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.ok = 0
        self.errors = dict((outcome, 0) for outcome in OUTCOMES if outcome != OK)
        self.statuses = {}
        self.latencies = array.array('d')

    def add(self, result):
        with self.lock:
            self.count(result)

    def count(self, result):
        self.requests += 1
        if result.outcome == OK:
            self.ok += 1
        else:
            self.errors[result.outcome] += 1
        if result.status is not None:
            key = str(result.status)
            self.statuses[key] = self.statuses.get(key, 0) + 1
        self.latencies.append(result.latency)

    def summary(self):
        """What summarize() gives for the Results added so far."""
        with self.lock:
            return dict(
                requests=self.requests,
                ok=self.ok,
                failed=self.requests - self.ok,
                errors=dict(self.errors),
                statuses=dict(self.statuses),
                latency_ms=latency_stats(self.latencies),
            )


def summarize(results):
    """Counts and latency (ms) of Results: requests, ok, failed, errors per outcome class,
    statuses seen (as strings, JSON-friendly), latency_ms of every request."""
    tally = Tally()
    for result in results:
        tally.count(result)
    return tally.summary()
