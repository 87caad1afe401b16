# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The long-lived load generator (tests/fault/harness/longlived.py): its wire formats, how it
classifies a connection's end, and - against scripted servers on a loopback socket - that it
really reports a cut (reset, truncated frame, end of file without a close) apart from a clean
close and from its own."""

import socket
import struct
import threading
import time

import pytest

from harness import longlived as ll


def server_frame(opcode, payload=b'', fin=True):
    size = len(payload)
    if size < 126:
        head = struct.pack('!BB', (0x80 if fin else 0) | opcode, size)
    elif size < 65536:
        head = struct.pack('!BBH', (0x80 if fin else 0) | opcode, 126, size)
    else:
        head = struct.pack('!BBQ', (0x80 if fin else 0) | opcode, 127, size)
    return head + payload


def unmask(frame):
    """(opcode, payload) of a client frame."""
    size, at = frame[1] & 0x7F, 2
    if size == 126:
        size, at = struct.unpack('!H', frame[2:4])[0], 4
    elif size == 127:
        size, at = struct.unpack('!Q', frame[2:10])[0], 10
    mask = frame[at:at + 4]
    return frame[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(frame[at + 4:at + 4 + size]))


def test_accept_key_of_rfc6455():
    assert ll.ws_accept('dGhlIHNhbXBsZSBub25jZQ==') == 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='


@pytest.mark.parametrize('size', [0, 5, 125, 126, 65535, 65536, 70000])
def test_frame_lengths_round_trip(size):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = server_frame(ll.OP_TEXT, payload)
    assert ll.parse_frame(frame + b'rest') == (True, ll.OP_TEXT, payload, len(frame))
    assert ll.parse_frame(frame[:-1] if size else frame[:1]) is None
    assert unmask(ll.client_frame(ll.OP_BINARY, payload)) == (ll.OP_BINARY, payload)


def test_client_frames_are_masked_and_server_frames_must_not_be():
    frame = ll.client_frame(ll.OP_TEXT, b'hello', mask=b'\x01\x02\x03\x04')
    assert frame[1] & 0x80 and frame[2:6] == b'\x01\x02\x03\x04' and frame[6:] != b'hello'
    with pytest.raises(ll.ProtocolError, match='masked server frame'):
        ll.parse_frame(frame)
    with pytest.raises(ll.ProtocolError, match='reserved bits'):
        ll.parse_frame(b'\xf1\x00')


def test_fragment_and_close_code():
    fin, opcode, payload, used = ll.parse_frame(server_frame(ll.OP_TEXT, b'ab', fin=False))
    assert (fin, opcode, payload, used) == (False, ll.OP_TEXT, b'ab', 4)
    assert ll.close_code(struct.pack('!H', 1001) + b'going away') == 1001
    assert ll.close_code(b'') == 1005


def test_chunks_byte_by_byte():
    stream = b'5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n'
    decoder, out = ll.ChunkDecoder(), b''
    for i in range(len(stream)):
        assert not decoder.done
        out += decoder.feed(stream[i:i + 1])
    assert out == b'hello world' and decoder.done and not decoder.partial


def test_chunk_cut_in_the_middle_is_partial():
    decoder = ll.ChunkDecoder()
    assert decoder.feed(b'a\r\nhello') == b''
    assert decoder.partial and not decoder.done
    with pytest.raises(ll.ProtocolError, match='bad chunk size'):
        ll.ChunkDecoder().feed(b'zz\r\n')


def test_event_stream_parsing():
    events, rest = ll.sse_events('retry: 1000\nevent: hello\ndata: v1\n\n: comment\nid: 1\ndata: a\ndata: b\n\nda')
    assert events == [{'retry': '1000', 'event': 'hello', 'data': 'v1'}, {'id': '1', 'data': 'a\nb'}]
    assert rest == 'da'


@pytest.mark.parametrize('args, expected', [
    ((True, None), (ll.CLIENT, 'by the client')),
    ((True, 'close 1001'), (ll.CLIENT, 'by the client')),
    ((False, 'close 1001'), (ll.CLEAN, 'close 1001')),
    ((False, 'end of stream'), (ll.CLEAN, 'end of stream')),
    ((False, None, 'eof'), (ll.CUT, 'eof')),
    ((False, None, 'eof', True), (ll.CUT, 'truncated')),
    ((False, None, 'reset', True), (ll.CUT, 'reset')),
    ((False, None, 'silent 10s'), (ll.CUT, 'silent 10s')),
])
def test_classify(args, expected):
    assert ll.classify(*args) == expected


def test_summary_counts_what_was_open_at_a_switch():
    c = ll.Connection
    connections = [c('ws', 0, 'v1', 0.0, 5.0, ll.CLEAN, 'close 1001', 3),
                   c('ws', 1, 'v1', 1.0, 2.0, ll.CLIENT, 'by the client', 1),
                   c('sse', 0, 'v1', 0.5, 6.0, ll.CUT, 'reset', 2),
                   c('sse', 0, 'v2', 6.2, 9.0, ll.CLIENT, 'by the client', 2)]
    out = ll.summarize(connections, [ll.FailedConnect('ws', 0, 5.1, 'refused')], switches=[4.0, 7.0])
    assert out['cut'] == 1 and out['first_cuts'] == ['sse reset'] and out['failed_connects'] == 1
    assert out['ws'][ll.CLEAN] == 1 and out['sse'][ll.CUT] == 1 and out['ws']['messages'] == 4
    assert out['held'][0] == dict(open=2, versions={'v1': 2}, client=0, clean=1, cut=1)
    assert out['held'][1] == dict(open=1, versions={'v2': 1}, client=1, clean=0, cut=0)


# ---------------------------------------------------------------- against scripted servers
class Scripted(object):
    """A one-connection-at-a-time server on 127.0.0.1 that answers the handshake, then plays
    ``script(conn)`` for each connection."""

    def __init__(self, script, kind):
        self.script = script
        self.kind = kind
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.url = 'http://127.0.0.1:%d' % self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.done.is_set():
            try:
                conn = self.listener.accept()[0]
            except socket.timeout:
                continue
            head = b''
            while b'\r\n\r\n' not in head:
                head += conn.recv(4096)
            if self.kind == ll.WS:
                key = [line.split(b':', 1)[1].strip() for line in head.split(b'\r\n')
                       if line.lower().startswith(b'sec-websocket-key')][0].decode()
                conn.sendall(('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                              'Sec-WebSocket-Accept: %s\r\nX-App-Version: s1\r\n\r\n' % ll.ws_accept(key)).encode())
            else:
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n'
                             b'X-App-Version: s1\r\n\r\n')
            try:
                self.script(conn)
            except OSError:
                pass
            conn.close()

    def close(self):
        self.done.set()
        self.thread.join(2)
        self.listener.close()


def chunk(text):
    return b'%x\r\n%s\r\n' % (len(text), text)


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))


def ws_close_1001(conn):
    conn.sendall(server_frame(ll.OP_TEXT, b'tick 1') + server_frame(ll.OP_CLOSE, struct.pack('!H', 1001)))
    conn.recv(64)                         # the client's answer


def ws_truncated(conn):
    conn.sendall(server_frame(ll.OP_TEXT, b'tick 1') + server_frame(ll.OP_TEXT, b'0123456789')[:5])


def ws_eof(conn):
    conn.sendall(server_frame(ll.OP_TEXT, b'tick 1'))


def ws_reset(conn):
    conn.sendall(server_frame(ll.OP_TEXT, b'tick 1'))
    time.sleep(0.1)
    reset(conn)


def sse_end(conn):
    conn.sendall(chunk(b'data: tick 1\n\n') + chunk(b'event: end\ndata: bye\n\n') + b'0\r\n\r\n')


def sse_truncated(conn):
    conn.sendall(chunk(b'data: tick 1\n\n') + b'20\r\ndata: ti')


def sse_eof(conn):
    conn.sendall(chunk(b'data: tick 1\n\n'))


@pytest.mark.parametrize('kind, script, outcome, detail', [
    (ll.WS, ws_close_1001, ll.CLEAN, 'close 1001'),
    (ll.WS, ws_truncated, ll.CUT, 'truncated'),
    (ll.WS, ws_eof, ll.CUT, 'eof'),
    (ll.WS, ws_reset, ll.CUT, 'reset'),
    (ll.SSE, sse_end, ll.CLEAN, 'end of stream'),
    (ll.SSE, sse_truncated, ll.CUT, 'truncated'),
    (ll.SSE, sse_eof, ll.CUT, 'eof'),
])
def test_ends_against_a_scripted_server(kind, script, outcome, detail):
    server = Scripted(script, kind)
    load = ll.LongLived(server.url, ws=int(kind == ll.WS), sse=int(kind == ll.SSE), reconnect=5.0).start()
    try:
        deadline = time.monotonic() + 5
        while not load.records()[0] and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        load.stop(timeout=6)
        server.close()
    first = load.records()[0][0]
    assert (first.kind, first.version, first.outcome, first.detail, first.messages) == (kind, 's1', outcome, detail, 1)


def test_the_client_ends_a_websocket_with_the_closing_handshake():
    answered = []

    def echo_close(conn):
        frame = conn.recv(64)
        if unmask(frame)[0] == ll.OP_PING:
            frame = conn.recv(64)
        answered.append(unmask(frame))
        conn.sendall(server_frame(ll.OP_CLOSE, struct.pack('!H', 1000)))

    server = Scripted(echo_close, ll.WS)
    load = ll.LongLived(server.url, ws=1, sse=0, lifetime=(0.3, 0.3), reconnect=5.0).start()
    try:
        deadline = time.monotonic() + 5
        while not load.records()[0] and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        summary = load.stop(timeout=6)
        server.close()
    assert answered == [(ll.OP_CLOSE, struct.pack('!H', 1000))]
    assert summary['ws'][ll.CLIENT] == 1 and summary['cut'] == 0


def test_a_refused_connect_is_no_connection():
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    url = 'http://127.0.0.1:%d' % probe.getsockname()[1]
    probe.close()                                    # nobody listens there now
    load = ll.LongLived(url, ws=1, sse=1, reconnect=5.0).start()
    time.sleep(0.3)
    summary = load.stop(timeout=6)
    assert summary['failed_connects'] == 2 and summary['ws']['connections'] == 0
    assert sorted(summary['first_failed_connects']) == ['sse refused', 'ws refused']
