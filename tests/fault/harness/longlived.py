# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-lived load: websocket (RFC 6455) and server-sent-event clients held open across deploys,
each connection's end classified. Standard library only, no import from the collection, so the
fault suite, Molecule, tests/awx and bench can all use it (as a module, or as a script:
``python longlived.py --url http://127.0.0.1:8000 --ws 8 --sse 8 --seconds 30``).

Every client behaves like a browser tab: it opens its connection (``/ws`` or ``/events`` of the
test app), keeps it until the server ends it, until its own ``lifetime`` is over, or until stop(),
and then - unless stopped - opens a new one after ``reconnect`` seconds (an EventSource does the
same). Each connection ends one way:

- ``client``: the client ended it (websocket: its close frame, the server's answer; event stream:
  the client closed it);
- ``clean``: the server closed it properly - a websocket close frame (its code is kept), or the
  event stream's chunked end of stream;
- ``cut``: anything else - reset, end of file without a close frame or end of stream, a frame or
  chunk cut in the middle, a protocol error, or no byte for ``silence`` seconds (the app sends one
  every second).

A connection that could not be opened (refused, reset, a status other than 101/200) is no
connection: it is counted in ``failed_connects`` of its kind, with its error.
"""

import argparse
import base64
import collections
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlsplit

WS, SSE = 'ws', 'sse'
PATHS = {WS: '/ws', SSE: '/events'}
CLIENT, CLEAN, CUT = 'client', 'clean', 'cut'
OUTCOMES = (CLIENT, CLEAN, CUT)
WS_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL = 1000
# Seconds without a byte from the server after which a connection counts as cut (the test app
# sends a message or an event every second).
SILENCE = 10.0
# Seconds a client waits for the server's answer to its close frame.
CLOSE_WAIT = 3.0
# How often a client looks at its stop flag while it waits for the server (seconds).
STEP = 0.2
# Between the end of a connection and the next one (seconds); an EventSource waits `retry`.
RECONNECT = 0.2
# After a connection that could not be opened (a browser backs off too).
RETRY_AFTER_FAILURE = 0.5
PING_EVERY = 2.0
KEPT_DETAILS = 10

# One connection, from the handshake to its end. opened/ended: time.monotonic(); outcome: one of
# OUTCOMES; detail: how it ended ('close 1001', 'end of stream', 'reset', 'eof', 'truncated frame',
# 'silent 10s', ...); messages: text frames or events received.
Connection = collections.namedtuple('Connection', 'kind client version opened ended outcome detail messages')
# A connection that could not be opened.
FailedConnect = collections.namedtuple('FailedConnect', 'kind client at error')


class ProtocolError(ValueError):
    """The server sent something RFC 6455 or HTTP/1.1 chunking does not allow."""


# ---------------------------------------------------------------- wire formats (pure)
def ws_key(seed=None):
    return base64.b64encode(seed if seed is not None else os.urandom(16)).decode('ascii')


def ws_accept(key):
    """The Sec-WebSocket-Accept a server must answer ``key`` with."""
    return base64.b64encode(hashlib.sha1(key.encode('ascii') + WS_GUID).digest()).decode('ascii')


def client_frame(opcode, payload=b'', mask=None):
    """One final frame as a client sends it (masked, RFC 6455 section 5.3)."""
    mask = mask if mask is not None else os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack('!BB', 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def parse_frame(buf):
    """(fin, opcode, payload, bytes used) of the first complete server frame in ``buf``, or None
    while it is incomplete. A server frame must not be masked (ProtocolError)."""
    if len(buf) < 2:
        return None
    first, second = buf[0], buf[1]
    if second & 0x80:
        raise ProtocolError('masked server frame')
    if first & 0x70:
        raise ProtocolError('reserved bits set')
    size, at = second & 0x7F, 2
    if size == 126:
        if len(buf) < 4:
            return None
        size, at = struct.unpack('!H', buf[2:4])[0], 4
    elif size == 127:
        if len(buf) < 10:
            return None
        size, at = struct.unpack('!Q', buf[2:10])[0], 10
    if len(buf) < at + size:
        return None
    return bool(first & 0x80), first & 0x0F, bytes(buf[at:at + size]), at + size


def close_code(payload):
    """The status code of a close frame's payload (1005: none given)."""
    return struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1005


class ChunkDecoder(object):
    """Incremental HTTP/1.1 chunked body decoder: feed() returns the body bytes so far; ``done``
    once the last chunk (size 0) and its trailer ended; ``partial`` while a chunk is unfinished."""

    def __init__(self):
        self.buf = b''
        self.need = None      # bytes left of the current chunk's data (+2 for its CRLF)
        self.done = False

    @property
    def partial(self):
        return bool(self.buf) or self.need is not None

    def feed(self, data):
        self.buf += data
        out = []
        while not self.done:
            if self.need is None:
                line, sep, rest = self.buf.partition(b'\r\n')
                if not sep:
                    break
                try:
                    size = int(line.split(b';', 1)[0].strip() or b'x', 16)
                except ValueError:
                    raise ProtocolError('bad chunk size line %r' % line[:40])
                self.buf = rest
                if size == 0:
                    # Trailers end with an empty line; the usual case is the bare CRLF.
                    end = self.buf.find(b'\r\n') if self.buf.startswith(b'\r\n') else self.buf.find(b'\r\n\r\n')
                    if end < 0:
                        self.buf = b'0\r\n' + self.buf
                        break
                    self.buf = b''
                    self.done = True
                    break
                self.need = size + 2
            if len(self.buf) < self.need:
                break
            out.append(self.buf[:self.need - 2])
            self.buf, self.need = self.buf[self.need:], None
        return b''.join(out)


def sse_events(text):
    """(complete events as dicts of their fields, the rest) of an event-stream text."""
    events = []
    text = text.replace('\r\n', '\n')
    while '\n\n' in text:
        block, text = text.split('\n\n', 1)
        fields = {}
        for line in block.split('\n'):
            if not line or line.startswith(':'):
                continue
            name, dummy, value = line.partition(':')
            value = value[1:] if value.startswith(' ') else value
            fields[name] = fields[name] + '\n' + value if name in fields else value
        events.append(fields)
    return events, text


def classify(client_ended, server_closed, error=None, leftover=False):
    """(outcome, detail) of a connection's end.

    client_ended: the client started the end (its close frame, or it closed the event stream)
    before the server said anything; server_closed: what the server's proper close was ('close
    1001', 'end of stream'), or None; error: what else ended it ('reset', 'eof', 'silent 10s',
    'protocol: ...'); leftover: bytes of an unfinished frame or chunk were pending at the end."""
    if client_ended:
        return CLIENT, 'by the client'
    if server_closed:
        return CLEAN, server_closed
    if leftover and error in (None, 'eof'):
        return CUT, 'truncated'
    return CUT, error or 'eof'


# ---------------------------------------------------------------- one client
class _Ended(Exception):
    """Raised inside a connection when it is over; carries the classified end."""

    def __init__(self, outcome, detail):
        super(_Ended, self).__init__(detail)
        self.outcome = outcome
        self.detail = detail


def _read_head(sock, deadline):
    """(status, headers, the rest) of an HTTP response head."""
    buf = b''
    while b'\r\n\r\n' not in buf:
        if time.monotonic() > deadline:
            raise socket.timeout('no response head')
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionResetError('closed before the response head')
        buf += chunk
    head, rest = buf.split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    parts = lines[0].split(' ', 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, dummy, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    return status, headers, rest


def _error_name(exc):
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return 'timeout'
    if isinstance(exc, ConnectionRefusedError):
        return 'refused'
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return 'reset'
    return '%s: %s' % (type(exc).__name__, exc)


class Client(threading.Thread):
    """One long-lived client of ``kind`` (WS or SSE) that reconnects after every end until stop."""

    def __init__(self, load, kind, number):
        super(Client, self).__init__(name='zdt-longlived-%s-%d' % (kind, number))
        self.daemon = True
        self.load = load
        self.kind = kind
        self.number = number
        self.sock = None
        self.buf = b''

    def run(self):
        while not self.load.stopping.is_set():
            opened = self.once()
            self.load.stopping.wait(self.load.reconnect if opened else max(self.load.reconnect, RETRY_AFTER_FAILURE))

    def once(self):
        """One connection, from connect to its end; False when it could not be opened."""
        load = self.load
        started = time.monotonic()
        try:
            self.sock = socket.create_connection((load.host, load.port), timeout=load.connect_timeout)
            version = self.handshake(started + load.connect_timeout)
        except (OSError, _Ended) as exc:
            load.add_failed(FailedConnect(self.kind, self.number, started, str(exc) if isinstance(exc, _Ended)
                                          else _error_name(exc)))
            self.drop()
            return False
        opened = time.monotonic()
        load.opened(self.kind)
        lifetime = random.uniform(*load.lifetime) if load.lifetime else None
        messages = [0]
        try:
            (self.ws_loop if self.kind == WS else self.sse_loop)(opened, lifetime, messages)
            outcome, detail = CUT, 'loop ended'           # not reached: a loop ends by _Ended
        except _Ended as end:
            outcome, detail = end.outcome, end.detail
        finally:
            self.drop()
        load.add(Connection(self.kind, self.number, version, opened, time.monotonic(), outcome, detail, messages[0]))
        return True

    def drop(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock, self.buf = None, b''

    def handshake(self, deadline):
        load = self.load
        if self.kind == WS:
            key = ws_key()
            request = ('GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                       'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n' % (load.host, load.port, key))
        else:
            request = ('GET /events HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n'
                       'Cache-Control: no-cache\r\n\r\n' % (load.host, load.port))
        self.sock.sendall(request.encode('ascii'))
        status, headers, rest = _read_head(self.sock, deadline)
        if self.kind == WS:
            if status != 101 or headers.get('sec-websocket-accept') != ws_accept(key):
                raise _Ended(CUT, 'status %d' % status)
        elif status != 200 or 'text/event-stream' not in headers.get('content-type', ''):
            raise _Ended(CUT, 'status %d' % status)
        self.chunked = 'chunked' in headers.get('transfer-encoding', '').lower()
        self.buf = rest
        self.sock.settimeout(STEP)
        return headers.get('x-app-version')

    def recv(self, quiet_since):
        """Bytes from the server; b'' at end of file. Raises _Ended on reset or silence; returns
        None when nothing came within STEP."""
        try:
            return self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            if time.monotonic() - quiet_since > self.load.silence:
                raise _Ended(CUT, 'silent %gs' % self.load.silence)
            return None
        except OSError as exc:
            raise _Ended(*classify(False, None, _error_name(exc)))

    def should_end(self, opened, lifetime):
        return self.load.stopping.is_set() or (lifetime is not None and time.monotonic() - opened >= lifetime)

    # -- websocket
    def ws_loop(self, opened, lifetime, messages):
        quiet_since = last_ping = time.monotonic()
        while True:
            while True:
                try:
                    frame = parse_frame(self.buf)
                except ProtocolError as exc:
                    raise _Ended(CUT, 'protocol: %s' % exc)
                if frame is None:
                    break
                fin, opcode, payload, used = frame
                self.buf = self.buf[used:]
                if opcode == OP_CLOSE:
                    code = close_code(payload)
                    self.send_quietly(client_frame(OP_CLOSE, struct.pack('!H', code) if code != 1005 else b''))
                    raise _Ended(*classify(False, 'close %d' % code))
                if opcode == OP_PING:
                    self.send_quietly(client_frame(OP_PONG, payload))
                elif opcode in (OP_TEXT, OP_BINARY):
                    messages[0] += 1
            if self.should_end(opened, lifetime):
                self.ws_close()
            now = time.monotonic()
            if now - last_ping >= PING_EVERY:
                last_ping = now
                self.send_quietly(client_frame(OP_PING, b'zdt'))
            data = self.recv(quiet_since)
            if data == b'':
                raise _Ended(*classify(False, None, 'eof', leftover=bool(self.buf)))
            if data:
                quiet_since = time.monotonic()
                self.buf += data

    def send_quietly(self, data):
        """Send; a failure shows on the next read."""
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def ws_close(self):
        """The client's closing handshake: close frame, then wait for the server's (a close frame
        of the server that crossed ours counts as the server's close)."""
        self.send_quietly(client_frame(OP_CLOSE, struct.pack('!H', NORMAL)))
        deadline = time.monotonic() + CLOSE_WAIT
        while time.monotonic() < deadline:
            try:
                frame = parse_frame(self.buf)
            except ProtocolError:
                break
            if frame is not None:
                self.buf = self.buf[frame[3]:]
                if frame[1] == OP_CLOSE:
                    code = close_code(frame[2])
                    raise _Ended(*classify(code == NORMAL, 'close %d' % code))
                continue
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                break
            if not data:
                break
            self.buf += data
        # No answer: the client still ended it (what it does next does not depend on the server).
        raise _Ended(CLIENT, 'by the client (no close answer)')

    # -- server-sent events
    def sse_loop(self, opened, lifetime, messages):
        decoder = ChunkDecoder() if self.chunked else None
        text = ''
        ended_event = False
        quiet_since = time.monotonic()
        data, self.buf = self.buf, b''
        while True:
            if data:
                try:
                    body = decoder.feed(data) if decoder else data
                except ProtocolError as exc:
                    raise _Ended(CUT, 'protocol: %s' % exc)
                events, text = sse_events(text + body.decode('utf-8', 'replace'))
                for event in events:
                    if event.get('event') == 'end':
                        ended_event = True
                    elif 'data' in event:
                        messages[0] += 1
                if decoder is not None and decoder.done:
                    raise _Ended(*classify(False, 'end of stream'))
            if self.should_end(opened, lifetime):
                raise _Ended(CLIENT, 'by the client')
            data = self.recv(quiet_since)
            if data == b'':
                if decoder is None and ended_event:          # unchunked: the end event, then EOF
                    raise _Ended(*classify(False, 'end event, eof'))
                raise _Ended(*classify(False, None, 'eof', leftover=bool(decoder and decoder.partial) or bool(text)))
            if data:
                quiet_since = time.monotonic()


# ---------------------------------------------------------------- the load
class LongLived(object):
    """``ws`` websocket clients and ``sse`` event-stream clients on ``url`` (http://host:port),
    until stop(). lifetime: (low, high) seconds after which a client ends its connection and
    opens a new one (each drawn at random), or None: until the server ends it."""

    def __init__(self, url, ws=4, sse=4, lifetime=None, reconnect=RECONNECT, silence=SILENCE,
                 connect_timeout=5.0):
        parts = urlsplit(url)
        self.host = parts.hostname
        self.port = parts.port or 80
        self.lifetime = tuple(lifetime) if lifetime else None
        self.reconnect = reconnect
        self.silence = silence
        self.connect_timeout = connect_timeout
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.connections = []
        self.failed = []
        self.opens = {WS: 0, SSE: 0}
        self.clients = [Client(self, WS, n) for n in range(ws)] + [Client(self, SSE, n) for n in range(sse)]
        self.started_at = self.stopped_at = None

    def start(self):
        self.started_at = time.monotonic()
        for client in self.clients:
            client.start()
        return self

    def opened(self, kind):
        with self.lock:
            self.opens[kind] += 1

    def add(self, connection):
        with self.lock:
            self.connections.append(connection)

    def add_failed(self, failed):
        with self.lock:
            self.failed.append(failed)

    def wait_open(self, timeout=10.0):
        """Until every client has had a connection open (True), or ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if sum(self.opens.values()) >= len(self.clients):
                    return True
            time.sleep(0.05)
        return False

    def stop(self, timeout=CLOSE_WAIT + 5):
        """End every connection (the client's close) and wait for the clients; returns summary()."""
        self.stopped_at = time.monotonic()
        self.stopping.set()
        for client in self.clients:
            client.join(timeout)
        return self.summary()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        if self.stopped_at is None:
            self.stop()

    def records(self):
        with self.lock:
            return list(self.connections), list(self.failed)

    def summary(self, switches=()):
        return summarize(*self.records(), switches=switches)


def open_at(connections, moment):
    """The connections open at ``moment`` (opened before, ended after it)."""
    return [c for c in connections if c.opened <= moment < c.ended]


def summarize(connections, failed, switches=()):
    """Per kind: connections, outcomes, first cut details, failed connects; with ``switches``
    (time.monotonic() moments), per switch the connections open then and how they ended."""
    out = {}
    for kind in (WS, SSE):
        mine = [c for c in connections if c.kind == kind]
        counts = dict((outcome, sum(1 for c in mine if c.outcome == outcome)) for outcome in OUTCOMES)
        details = collections.Counter(c.detail for c in mine if c.outcome != CLIENT)
        out[kind] = dict(connections=len(mine), messages=sum(c.messages for c in mine),
                         failed_connects=sum(1 for f in failed if f.kind == kind),
                         details=dict(details), **counts)
    out['cut'] = out[WS][CUT] + out[SSE][CUT]
    out['failed_connects'] = len(failed)
    out['first_cuts'] = ['%s %s' % (c.kind, c.detail) for c in connections if c.outcome == CUT][:KEPT_DETAILS]
    out['first_failed_connects'] = ['%s %s' % (f.kind, f.error) for f in failed][:KEPT_DETAILS]
    out['held'] = [held_across(connections, moment) for moment in switches]
    return out


def held_across(connections, moment):
    """The connections open at ``moment`` and how each ended: {open, client, clean, cut, versions}."""
    held = open_at(connections, moment)
    counts = dict((outcome, sum(1 for c in held if c.outcome == outcome)) for outcome in OUTCOMES)
    return dict(open=len(held), versions=dict(collections.Counter(c.version for c in held)), **counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', 1)[0])
    parser.add_argument('--url', required=True, help='http://host:port of the test app or a front')
    parser.add_argument('--ws', type=int, default=4)
    parser.add_argument('--sse', type=int, default=4)
    parser.add_argument('--seconds', type=float, default=30.0, help='run this long (or until stdin says stop)')
    parser.add_argument('--lifetime', help='low,high seconds a client keeps a connection (default: forever)')
    parser.add_argument('--json', help='write the summary here')
    parser.add_argument('--stdin', action='store_true', help='stop when a line comes on stdin (or it closes)')
    args = parser.parse_args(argv)
    lifetime = [float(x) for x in args.lifetime.split(',')] if args.lifetime else None
    load = LongLived(args.url, args.ws, args.sse, lifetime=lifetime).start()
    print('started %r' % time.monotonic(), flush=True)
    if args.stdin:
        sys.stdin.readline()
    else:
        time.sleep(args.seconds)
    result = load.stop()
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.json:
        with open(args.json, 'w') as handle:
            handle.write(text)
    print(text)
    return 1 if result['cut'] else 0


if __name__ == '__main__':
    sys.exit(main())
