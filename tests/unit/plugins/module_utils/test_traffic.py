# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import http.server
import os
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic as t


# ------------------------------------------------------------------ percentiles and stats

@pytest.mark.parametrize('values, pct, expected', [
    ([1], 50, 1),
    ([1, 2], 50, 1),
    ([1, 2, 3, 4], 50, 2),
    ([1, 2, 3, 4], 75, 3),
    ([1, 2, 3, 4], 100, 4),
    (list(range(1, 101)), 95, 95),
    (list(range(1, 101)), 99, 99),
    (list(range(1, 101)), 0.5, 1),
    (list(range(1, 21)), 95, 19),
])
def test_percentile_nearest_rank(values, pct, expected):
    assert t.percentile(values, pct) == expected


def test_percentile_of_nothing_is_none():
    assert t.percentile([], 50) is None


@pytest.mark.parametrize('pct', [0, -1, 101])
def test_percentile_out_of_range(pct):
    with pytest.raises(ValueError, match='percentile must be in'):
        t.percentile([1, 2], pct)


@settings(database=None, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200),
       st.floats(min_value=0.1, max_value=100), st.floats(min_value=0.1, max_value=100))
def test_percentile_is_a_member_and_monotonic(values, p1, p2):
    values = sorted(values)
    low, high = sorted((p1, p2))
    assert t.percentile(values, low) in values
    assert t.percentile(values, low) <= t.percentile(values, high)
    assert values[0] <= t.percentile(values, low) <= values[-1]


def test_latency_stats_in_milliseconds():
    stats = t.latency_stats([0.004, 0.001, 0.002, 0.003, 0.010])
    assert stats == dict(min=1.0, p50=3.0, p95=10.0, p99=10.0, max=10.0)


def test_latency_stats_empty():
    assert t.latency_stats([]) == dict(min=None, p50=None, p95=None, p99=None, max=None)


def result(outcome, status=200, latency=0.001, target='u'):
    return t.Result(target, 0.0, latency, outcome, status, None, None, None, None)


def test_summarize_counts_outcomes_and_statuses():
    summary = t.summarize([result(t.OK), result(t.OK, latency=0.003), result(t.STATUS, 503),
                           result(t.REFUSED, None), result(t.CLOSED, None)])
    assert summary['requests'] == 5
    assert summary['ok'] == 2
    assert summary['failed'] == 3
    assert summary['errors'] == dict(status=1, refused=1, reset=0, timeout=0, closed=1, other=0)
    assert summary['statuses'] == {'200': 2, '503': 1}
    assert summary['latency_ms']['max'] == 3.0


def test_tally_summary_is_summarize_of_the_same_results():
    results = [result(t.OK), result(t.STATUS, 500, latency=0.002), result(t.RESET, None),
               result(t.OK, latency=0.0005), result(t.TIMEOUT, None, latency=5.0)]
    tally = t.Tally()
    assert tally.summary() == t.summarize([])
    for res in results:
        tally.add(res)
    assert tally.summary() == t.summarize(results)
    assert tally.summary()['errors']['timeout'] == 1 and tally.summary()['latency_ms']['max'] == 5000.0


def test_tally_counts_from_many_threads():
    tally = t.Tally()

    def add_many():
        for number in range(2000):
            tally.add(result(t.OK, latency=number / 1e6))

    threads = [threading.Thread(target=add_many) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = tally.summary()
    assert (summary['requests'], summary['ok'], summary['statuses']) == (8000, 8000, {'200': 8000})


# ------------------------------------------------------------------ targets

@pytest.mark.parametrize('url, unix, host, port, path, scheme', [
    ('http://127.0.0.1:18100/health', None, '127.0.0.1', 18100, '/health', 'http'),
    ('http://example.invalid', None, 'example.invalid', 80, '/', 'http'),
    ('https://example.invalid/a?b=1&c=2', None, 'example.invalid', 443, '/a?b=1&c=2', 'https'),
    ('HTTP://[::1]:8080/x', None, '::1', 8080, '/x', 'http'),
    ('/health', '/tmp/app.sock', 'localhost', 80, '/health', 'http'),
    ('http://app.local/v?x=1', '/tmp/app.sock', 'app.local', 80, '/v?x=1', 'http'),
])
def test_target_parses_urls(url, unix, host, port, path, scheme):
    target = t.Target(url, unix)
    assert (target.host, target.port, target.path, target.scheme) == (host, port, path, scheme)
    assert target.label == (url if not unix else '%s via unix:%s' % (url, unix))


@pytest.mark.parametrize('url, unix, message', [
    ('', None, 'the URL is empty'),
    ('ftp://host/x', None, 'is not an http:// or https:// URL'),
    ('127.0.0.1:8080/health', None, 'is not an http:// or https:// URL'),
    ('/health', None, 'is not an http:// or https:// URL'),
    ('http:///x', None, 'has no host'),
    ('http://user:secret@host/', None, 'carries credentials'),
    ('http://host:99999/', None, 'has an invalid port'),
    ('http://host:port/', None, 'has an invalid port'),
    ('http://host/a b', None, 'contains whitespace'),
    ('https://host/', '/tmp/x.sock', 'HTTPS over a unix socket is not supported'),
])
def test_target_rejects_bad_urls(url, unix, message):
    with pytest.raises(t.TrafficInputError, match=message):
        t.Target(url, unix)


def test_credentials_in_a_url_are_not_echoed():
    with pytest.raises(t.TrafficInputError) as err:
        t.Target('http://user:s3cret@host:8080/health')
    assert str(err.value).startswith("'http://***@host:8080/health' carries credentials")
    assert 's3cret' not in str(err.value)


def test_https_target_gets_one_verified_context():
    target = t.Target('https://127.0.0.1:18100/')
    assert target.context.verify_mode == ssl.CERT_REQUIRED
    assert target.connect(1)._context is target.context  # pylint: disable=protected-access
    assert t.Target('http://127.0.0.1:18100/').context is None


def test_ssl_context_is_verified_by_default():
    context = t.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    loose = t.ssl_context(validate_certs=False)
    assert loose.verify_mode == ssl.CERT_NONE and loose.check_hostname is False


def test_ssl_context_names_missing_files(tmp_path):
    with pytest.raises(t.TrafficInputError, match='cannot load the CA bundle .*missing.pem'):
        t.ssl_context(ca_path=str(tmp_path / 'missing.pem'))
    with pytest.raises(t.TrafficInputError, match='cannot load the client certificate .*c.pem'):
        t.ssl_context(client_cert=str(tmp_path / 'c.pem'))


def test_basic_auth_header():
    assert t.basic_auth_header('probe', 'pa:ss') == 'Basic cHJvYmU6cGE6c3M='


# ------------------------------------------------------------------ outcome classes

@pytest.mark.parametrize('exc, reused, answered, outcome', [
    (socket.timeout('timed out'), False, False, t.TIMEOUT),
    (socket.timeout('timed out'), True, True, t.TIMEOUT),
    (TimeoutError(110, 'Connection timed out'), False, False, t.TIMEOUT),
    (ConnectionRefusedError(111, 'Connection refused'), False, False, t.REFUSED),
    (ConnectionResetError(104, 'Connection reset by peer'), False, False, t.RESET),
    (ConnectionResetError(104, 'Connection reset by peer'), True, False, t.CLOSED),
    (ConnectionResetError(104, 'Connection reset by peer'), True, True, t.RESET),
    (ConnectionAbortedError(103, 'aborted'), False, False, t.RESET),
    (http.client.RemoteDisconnected('closed'), True, False, t.CLOSED),
    (http.client.RemoteDisconnected('closed'), False, False, t.RESET),
    (BrokenPipeError(32, 'Broken pipe'), True, False, t.CLOSED),
    (BrokenPipeError(32, 'Broken pipe'), False, False, t.RESET),
    (http.client.IncompleteRead(b'abc', 10), True, True, t.RESET),
    (FileNotFoundError(2, 'No such file or directory'), False, False, t.OTHER),
    (ssl.SSLError('bad cert'), False, False, t.OTHER),
    (socket.gaierror(-2, 'Name or service not known'), False, False, t.OTHER),
    (http.client.BadStatusLine('garbage'), False, False, t.OTHER),
])
def test_classify_error(exc, reused, answered, outcome):
    assert t.classify_error(exc, reused, answered) == outcome


def test_describe_error():
    assert t.describe_error(ConnectionRefusedError(111, 'Connection refused')) == \
        'ConnectionRefusedError: [Errno 111] Connection refused'
    assert t.describe_error(socket.timeout()) in ('timeout', 'TimeoutError')


# ------------------------------------------------------------------ Client with fake connections

class FakeResponse:
    def __init__(self, status=200, body=b'ok', headers=None, will_close=False):
        self.status = status
        self._body = body
        self._headers = headers or {'X-App-Version': 'v2', 'Content-Type': 'text/plain'}
        self.will_close = will_close

    def read(self):
        return self._body

    def getheader(self, name):
        for key, value in self._headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def getheaders(self):
        return list(self._headers.items())


class FakeConnection:
    def __init__(self, script):
        self.script = script
        self.sent = []
        self.closed = False

    def request(self, method, path, body=None, headers=None):
        self.sent.append((method, path, dict(headers or {})))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        self.next = step

    def getresponse(self):
        return self.next

    def close(self):
        self.closed = True


class FakeTarget:
    def __init__(self, script, label='http://fake/'):
        self.script = script
        self.label = label
        self.path = '/p'
        self.connections = []

    def connect(self, timeout):
        conn = FakeConnection(self.script)
        conn.timeout = timeout
        self.connections.append(conn)
        return conn


class FakeClock:
    def __init__(self, step=0.25):
        self.now = 100.0
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def test_client_ok_status_latency_and_version():
    target = FakeTarget([FakeResponse(200), FakeResponse(503)])
    client = t.Client(clock=FakeClock(0.5))
    first = client.request(target)
    assert (first.outcome, first.status, first.version, first.error) == (t.OK, 200, 'v2', None)
    assert first.latency == 0.5 and first.target == 'http://fake/'
    assert first.headers is None and first.body is None
    second = client.request(target)
    assert (second.outcome, second.status) == (t.STATUS, 503)
    assert len(target.connections) == 1, 'keep-alive reuses the connection'


def test_client_keeps_the_response_when_asked():
    target = FakeTarget([FakeResponse(200, b'body', {'X-A': '1'})])
    res = t.Client().request(target, keep_response=True)
    assert res.body == b'body' and res.headers == {'x-a': '1'}


def test_client_without_keepalive_sends_close_and_reconnects():
    target = FakeTarget([FakeResponse(), FakeResponse()])
    client = t.Client(keepalive=False, version_header=None)
    assert client.request(target).version is None
    client.request(target)
    assert len(target.connections) == 2
    assert all(conn.closed for conn in target.connections)
    assert target.connections[0].sent[0][2] == {'Connection': 'close'}


def test_client_drops_a_connection_the_server_will_close():
    target = FakeTarget([FakeResponse(will_close=True), FakeResponse()])
    client = t.Client()
    client.request(target)
    client.request(target)
    assert len(target.connections) == 2 and target.connections[0].closed


def test_client_reused_connection_closed_by_server_is_closed_outcome():
    target = FakeTarget([FakeResponse(), http.client.RemoteDisconnected('Remote end closed'),
                         FakeResponse()])
    client = t.Client()
    client.request(target)
    res = client.request(target)
    assert res.outcome == t.CLOSED and res.status is None
    assert res.error.startswith('RemoteDisconnected')
    assert client.request(target).outcome == t.OK, 'the next request opens a new connection'
    assert len(target.connections) == 2


def test_client_fresh_connection_errors():
    target = FakeTarget([ConnectionRefusedError(111, 'Connection refused')])
    res = t.Client(expect=(200,)).request(target)
    assert res.outcome == t.REFUSED and '[Errno 111]' in res.error


def test_client_switching_target_closes_the_old_connection():
    one, two = FakeTarget([FakeResponse()]), FakeTarget([FakeResponse()], 'http://two/')
    client = t.Client()
    client.request(one)
    assert client.request(two).target == 'http://two/'
    assert one.connections[0].closed


def test_client_sends_method_path_and_headers():
    target = FakeTarget([FakeResponse(204)])
    res = t.Client(expect=(204,)).request(target, 'HEAD', {'X-Probe': '1'})
    assert res.outcome == t.OK
    assert target.connections[0].sent == [('HEAD', '/p', {'X-Probe': '1'})]


# ------------------------------------------------------------------ Load against a local server
# An in-process HTTP/1.1 server on a unix socket under /tmp/zdt-ready-* (no TCP port needed).

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        self.seen = getattr(self, 'seen', 0) + 1      # requests on this connection
        if self.path == '/vanish' or (self.path == '/second-vanishes' and self.seen == 2):
            # Read the request, then close without an answer: a server that closes a
            # connection while the client's request is on its way.
            self.close_connection = True
            return
        if self.path == '/close-after':
            self.close_connection = True
        body = b'version=v9'
        status = 503 if self.path == '/down' else 200
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('X-App-Version', 'v9')
        self.end_headers()
        self.wfile.write(body)
        if self.path == '/idle-close':
            # Answer as keep-alive, then close: the client's next request meets a closed socket.
            self.wfile.flush()
            self.close_connection = True

    def address_string(self):
        return 'unix'

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def unix_server():
    directory = tempfile.mkdtemp(prefix='zdt-ready-unit-', dir='/tmp')
    path = os.path.join(directory, 'http.sock')
    server = _Server(path, _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.02), daemon=True)
    thread.start()
    yield path
    server.shutdown()
    server.server_close()
    shutil.rmtree(directory, ignore_errors=True)


def test_run_load_bounded_requests_over_unix_socket(unix_server):
    targets = [t.Target('/a', unix_server), t.Target('/down', unix_server)]
    results = t.run_load(targets, concurrency=4, requests=20, keepalive=True, timeout=5)
    assert len(results) == 20
    by_target = {}
    for res in results:
        by_target.setdefault(res.target, []).append(res)
    assert [len(v) for v in by_target.values()] == [10, 10]
    assert all(r.outcome == t.OK and r.version == 'v9' for r in by_target[targets[0].label])
    assert all(r.outcome == t.STATUS and r.status == 503 for r in by_target[targets[1].label])
    assert [r.start for r in results] == sorted(r.start for r in results)


def test_run_load_without_keepalive(unix_server):
    results = t.run_load([t.Target('/', unix_server)], concurrency=2, requests=6, keepalive=False)
    assert [r.outcome for r in results] == [t.OK] * 6


def test_idle_keepalive_connection_closed_by_server_is_not_reused(unix_server):
    client = t.Client(timeout=5)
    target = t.Target('/idle-close', unix_server)
    assert client.request(target).outcome == t.OK
    first_sock = client._conn.sock
    deadline = time.monotonic() + 5
    while not t._server_spoke(client._conn) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert t._server_spoke(client._conn), 'the server never closed the idle connection'
    # The close arrived while the connection was idle: the client notices it and opens a new
    # connection, as urllib3 does, instead of sending into a closed socket.
    second = client.request(target)
    assert second.outcome == t.OK, second
    assert client._conn is None or client._conn.sock is not first_sock


def test_keepalive_connection_closed_while_request_on_its_way_is_closed(unix_server):
    client = t.Client(timeout=5)
    target = t.Target('/second-vanishes', unix_server)
    assert client.request(target).outcome == t.OK
    lost = client.request(target)
    assert lost.outcome == t.CLOSED and lost.status is None, lost
    assert client.request(target).outcome == t.OK       # a new connection: its first request


def test_fresh_connection_closed_without_answer_is_reset(unix_server):
    res = t.Client(timeout=5).request(t.Target('/vanish', unix_server))
    assert res.outcome == t.RESET, res


@pytest.fixture
def dead_unix_socket(tmp_path):
    """A unix socket file nobody listens on: connecting to it is refused."""
    path = str(tmp_path / 'dead.sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.close()  # the socket file stays, nobody listens
    return path


def test_refused_on_unix_socket_without_listener(dead_unix_socket):
    res = t.Client().request(t.Target('/', dead_unix_socket))
    assert res.outcome == t.REFUSED


def test_load_against_a_refused_port_backs_off_instead_of_spinning(dead_unix_socket):
    results = t.run_load([t.Target('/', dead_unix_socket)], concurrency=2, duration=0.5)
    assert results and all(r.outcome == t.REFUSED for r in results)
    # A refused connect takes microseconds; without the back-off two clients make thousands of
    # attempts in 0.5 s. With it, each waits FAST_FAILURE_BACKOFF between attempts.
    assert len(results) <= 2 * (0.5 / t.FAST_FAILURE_BACKOFF + 1), len(results)


def test_load_stops_on_request(unix_server):
    load = t.Load([t.Target('/', unix_server)], concurrency=3, duration=3600, pause=0.001).start()
    load.stop()
    assert load.join(timeout=10)
    assert all(r.outcome == t.OK for r in load.results())


def test_load_on_result_gets_every_result_and_keeps_none(unix_server):
    tally = t.Tally()
    load = t.Load([t.Target('/', unix_server)], concurrency=3, requests=30, on_result=tally.add)
    load.start()
    assert load.join(timeout=10)
    assert load.results() == []
    assert tally.summary()['requests'] == 30 and tally.summary()['ok'] == 30


def test_load_duration_bound_uses_the_clock(unix_server):
    clock = FakeClock(step=1.0)
    results = t.run_load([t.Target('/', unix_server)], concurrency=1, duration=3, clock=clock)
    assert 1 <= len(results) <= 3


@pytest.mark.parametrize('kwargs, message', [
    (dict(targets=[]), 'at least one target'),
    (dict(), 'needs a bound'),
    (dict(requests=1, concurrency=0), 'concurrency must be at least 1'),
])
def test_load_input_errors(kwargs, message):
    kwargs.setdefault('targets', [t.Target('http://127.0.0.1:18199/')])
    with pytest.raises(t.TrafficInputError, match=message):
        t.Load(**kwargs)


class BrokenBodyResponse(FakeResponse):
    def read(self):
        raise ConnectionResetError(104, 'Connection reset by peer')


def test_client_reset_while_reading_the_body_is_reset_even_when_reused():
    target = FakeTarget([FakeResponse(), BrokenBodyResponse()])
    client = t.Client()
    client.request(target)
    res = client.request(target)
    assert res.outcome == t.RESET and res.status is None


def test_a_paced_load_staggers_its_clients_and_keeps_fresh_ones_apart(unix_server):
    results = t.run_load([t.Target('/', unix_server)], concurrency=2, duration=0.3, interval=0.1, fresh=1)
    fresh = [r for r in results if r.fresh]
    kept = [r for r in results if not r.fresh]
    assert 2 <= len(fresh) <= 4 and 2 <= len(kept) <= 4, 'one start per client every 0.1 s for 0.3 s'
    starts = sorted(r.start for r in results)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) > 0.03, 'the two clients are staggered by half the interval, not bunched'


@pytest.mark.parametrize('kwargs, text', [
    (dict(fresh=3), 'fresh must be between 0 and concurrency (2), got 3'),
    (dict(interval=0), 'interval must be greater than 0, got 0'),
])
def test_a_load_refuses_a_bad_pace_or_mix(kwargs, text):
    with pytest.raises(t.TrafficInputError) as raised:
        t.Load([t.Target('http://127.0.0.1:1/')], concurrency=2, duration=1, **kwargs)
    assert str(raised.value) == text
