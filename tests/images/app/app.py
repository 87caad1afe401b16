"""Demo app for the zerodowntime.deploy tests: a small HTTP/1.1 server (standard library only).

Behaviour is scripted with environment variables (see tests/images/README.md):
  APP_HOST (127.0.0.1), APP_PORT (8080), APP_SOCKET (unix socket path instead of TCP),
  APP_REUSEPORT=1, APP_VERSION, APP_STARTUP_DELAY, APP_READY_DELAY, APP_NEVER_READY=1,
  APP_UNHEALTHY_AFTER, APP_CRASH_AFTER, APP_DRAIN_TIMEOUT (30), APP_IDLE_TIMEOUT (75),
  APP_COLD_503 (every request but /health answered 503 for this long after binding: an app that
  takes connections before it can serve them), APP_TICK (1: seconds between the messages of a
  websocket and the events of an event stream).
Delays are seconds (decimals allowed); READY/UNHEALTHY/CRASH count from the moment the
listener is bound (that is, after APP_STARTUP_DELAY).

Endpoints: /  /slow?ms=N  /version  /health , and two long-lived ones: /ws (a websocket, RFC 6455:
a text frame "tick N <version>" every APP_TICK seconds, text and binary frames echoed, ping
answered with pong, the closing handshake) and /events (server-sent events, text/event-stream,
chunked: an event every APP_TICK seconds); anything else is 404.
Every page of / and /slow is exactly BODY_LEN bytes for every version, so load tools that
compare response lengths (ab) never count a version change as a failure.

One asyncio event loop with Protocol objects (no threads): cheap per request and fair under a
few hundred concurrent clients (a thread per connection showed second-long GIL stalls).
SIGTERM, SIGQUIT and SIGINT start a graceful drain: the listener is closed at once, requests
in flight finish, the last response on a keep-alive connection says `Connection: close`
(requests the client already sent are still answered), a keep-alive connection is closed once
it has been idle for DRAIN_IDLE_GRACE (counted from its last activity, so one idle for long
closes at once), and the process exits 0 when no connection is left (or after APP_DRAIN_TIMEOUT).
Long-lived connections are closed cleanly at the signal: a websocket gets a close frame 1001
(going away) and is closed once the client answered it (or after CLOSE_GRACE), an event stream
gets a last event `end` and the chunked end of stream, then the connection is closed.
No per-request logging: one line at start, one at the signal, one at exit.
"""

import asyncio
import base64
import hashlib
import os
import select
import signal
import socket
import stat
import struct
import sys
import time
from urllib.parse import parse_qs

BODY_LEN = 64
MAX_HEADER_BYTES = 65536
MAX_SLOW_MS = 600000
# On drain, an idle keep-alive connection gets this long since its last activity for a request
# already on its way; such a request is answered (with Connection: close) instead of being cut
# off. 0.25 s was too short on 2 saturated cores: 81 keep-alive requests of 770,193 met a closed
# connection over 20 reuseport swaps at 256 + 256 clients; with 2 s, none (bench,
# blue_green-reuseport).
DRAIN_IDLE_GRACE = 2.0
# A connection that has not sent its first request yet (a client connects, then writes) gets
# this long: closing it would fail a request the client has not even sent.
DRAIN_FRESH_GRACE = 2.0
BACKLOG = 1024


def env_float(name, default=None):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        sys.exit("app: %s must be a number of seconds, got %r" % (name, raw))


def env_flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def log(line):
    sys.stdout.write("app: %s\n" % line)
    sys.stdout.flush()


VERSION = os.environ.get("APP_VERSION", "").strip() or "v0"
HOST = os.environ.get("APP_HOST", "").strip() or "127.0.0.1"
PORT = int(os.environ.get("APP_PORT", "").strip() or "8080")
SOCKET_PATH = os.environ.get("APP_SOCKET", "").strip()
REUSEPORT = env_flag("APP_REUSEPORT")
STARTUP_DELAY = env_float("APP_STARTUP_DELAY", 0.0)
READY_DELAY = env_float("APP_READY_DELAY", 0.0)
NEVER_READY = env_flag("APP_NEVER_READY")
UNHEALTHY_AFTER = env_float("APP_UNHEALTHY_AFTER")
CRASH_AFTER = env_float("APP_CRASH_AFTER")
DRAIN_TIMEOUT = env_float("APP_DRAIN_TIMEOUT", 30.0)
COLD_503 = env_float("APP_COLD_503", 0.0)
TICK = env_float("APP_TICK", 1.0)
# An idle keep-alive connection is closed after this many seconds (real servers: a few seconds,
# e.g. Node 5 s, gunicorn 2 s); the sweep looks often enough to close it within a fifth more.
IDLE_TIMEOUT = env_float("APP_IDLE_TIMEOUT", 75.0)
SWEEP_INTERVAL = min(5.0, max(0.05, IDLE_TIMEOUT / 5.0))


def make_body(version):
    text = ("version=%s" % version)[:BODY_LEN - 1]
    return (text.ljust(BODY_LEN - 1) + "\n").encode("ascii", "replace")


PAGE = make_body(VERSION)
VERSION_BYTES = VERSION.encode("ascii", "replace")
REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed",
           431: b"Request Header Fields Too Large", 500: b"Internal Server Error",
           501: b"Not Implemented", 503: b"Service Unavailable"}


class App:
    """Process-wide state: readiness clock, open connections, drain."""

    def __init__(self):
        self.started = None                  # monotonic time the listener was bound
        self.streams = set()                 # open long-lived streams (websockets, event streams)
        self.signal_name = None
        self.draining = False
        self.connections = set()
        self.done = None                     # future set when the drain is over

    def health(self):
        """(status, body) of /health right now."""
        if self.draining:
            return 503, b"draining\n"
        age = time.monotonic() - self.started
        if UNHEALTHY_AFTER is not None and age >= UNHEALTHY_AFTER:
            return 500, b"unhealthy\n"
        if NEVER_READY or age < READY_DELAY:
            return 503, b"not ready\n"
        return 200, b"ok\n"

    def in_flight(self):
        return sum(1 for conn in self.connections if conn.in_flight())

    def forget(self, conn):
        self.connections.discard(conn)
        if self.draining and not self.connections and not self.done.done():
            self.done.set_result(True)


APP = App()


def response(status, body, keep_alive, head=False):
    data = b"".join((
        b"HTTP/1.1 %d %s\r\n" % (status, REASONS.get(status, b"Unknown")),
        b"Content-Type: text/plain\r\nContent-Length: %d\r\n" % len(body),
        b"X-App-Version: ", VERSION_BYTES, b"\r\n",
        b"Connection: keep-alive\r\n\r\n" if keep_alive else b"Connection: close\r\n\r\n"))
    return data if head else data + body


def route(method, target):
    """(status, body, delay in seconds) of one request."""
    if method not in ("GET", "HEAD"):
        return 405, b"method not allowed\n", 0
    path, query = (target.split("?", 1) + [""])[:2]
    if COLD_503 and path != "/health" and time.monotonic() - APP.started < COLD_503:
        return 503, b"cold\n", 0
    if path == "/":
        return 200, PAGE, 0
    if path == "/health":
        return APP.health() + (0,)
    if path == "/slow":
        try:
            ms = int(parse_qs(query).get("ms", ["1000"])[0])
        except ValueError:
            return 400, b"ms must be an integer\n", 0
        return 200, PAGE, min(max(ms, 0), MAX_SLOW_MS) / 1000.0
    if path == "/version":
        return 200, VERSION_BYTES + b"\n", 0
    return 404, b"not found\n", 0


class Connection(asyncio.Protocol):
    """One client connection; requests are answered in order (pipelining allowed)."""

    def __init__(self):
        self.transport = None
        self.fd = -1
        self.buf = b""
        self.busy = False            # a response is being prepared (e.g. /slow)
        self.closing = False
        self.peer_done = False       # the client shut down its sending side
        self.served = 0              # responses written
        self.last_active = time.monotonic()
        self.timer = None
        self.stream = None           # a long-lived stream (WebSocket, EventStream) owns it once set

    # -- asyncio callbacks
    def connection_made(self, transport):
        self.transport = transport
        self.fd = transport.get_extra_info("socket").fileno()

    def data_received(self, data):
        self.last_active = time.monotonic()
        if self.stream is not None:
            self.stream.feed(data)
            return
        self.buf += data
        self.process()

    def eof_received(self):
        self.peer_done = True
        if self.stream is not None:
            self.stream.peer_gone()
            return False
        if not self.busy:
            self.close()
        return True                  # keep our side open until the response in progress is sent

    def connection_lost(self, exc):
        self.closing = True
        if self.timer is not None:
            self.timer.cancel()
        if self.stream is not None:
            APP.streams.discard(self.stream)
        APP.forget(self)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        if not self.closing:
            self.transport.resume_reading()

    # -- our logic
    def in_flight(self):
        return self.busy or bool(self.buf) or self.stream is not None

    def idle(self):
        return not self.busy and not self.buf and self.stream is None

    def close(self):
        self.closing = True
        if self.transport is not None:
            self.transport.close()   # writes what is buffered first

    def close_if_idle(self):
        """Close an idle connection, unless the client's next request is already waiting to be read
        (closing a socket with unread data resets it, and that request would be lost)."""
        if self.transport is None:   # accepted, transport not made yet: look again soon
            asyncio.get_running_loop().call_later(0.05, self.close_if_idle)
        elif not self.closing and self.idle() and not select.select([self.fd], [], [], 0)[0]:
            self.close()

    def process(self):
        """Parse and answer the requests in the buffer, one at a time."""
        while not self.busy and not self.closing and self.buf:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    self.reply(431, b"headers too large\n", False)
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            parts = lines[0].split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                self.reply(400, b"bad request\n", False)
                return
            method, target, proto = parts
            headers = {}
            for line in lines[1:]:
                name, value = (line.split(":", 1) + [""])[:2]
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self.reply(501, b"chunked request bodies are not supported\n", False)
                return
            try:
                length = int(headers.get("content-length", "0") or "0")
            except ValueError:
                self.reply(400, b"bad content-length\n", False)
                return
            if len(self.buf) < end + 4 + length:
                return                                   # body not complete yet
            self.buf = self.buf[end + 4 + length:]
            conn = headers.get("connection", "").lower()
            keep = "keep-alive" in conn if proto == "HTTP/1.0" else "close" not in conn
            if method == "GET" and start_long_lived(self, target.split("?", 1)[0], headers, proto):
                return
            status, body, delay = route(method, target)
            head = method == "HEAD"
            if delay:
                self.busy = True
                self.timer = asyncio.get_running_loop().call_later(
                    delay, self.finish_slow, status, body, keep, head)
                return
            self.reply(status, body, keep, head)

    def finish_slow(self, status, body, keep, head):
        self.timer = None
        self.busy = False
        if not self.closing:
            self.reply(status, body, keep, head)
            self.process()
            if self.peer_done and not self.busy:
                self.close()

    def reply(self, status, body, keep, head=False):
        if APP.draining and keep:
            # Draining: this is the last response unless the client already sent another
            # request; that one is answered too, and the last one says close.
            keep = bool(self.buf)
        self.transport.write(response(status, body, keep, head))
        self.served += 1
        self.last_active = time.monotonic()
        if not keep:
            self.close()


# ---------------------------------------------------------------- long-lived connections
# A websocket (RFC 6455) on /ws and server-sent events on /events. Both are held open by the
# client; the app sends something every TICK seconds (so a client sees a stalled connection), and
# on the graceful stop signal closes each one CLEANLY: a websocket with the close frame 1001
# (going away), an event stream with a last `end` event and the chunked end of stream. A client
# can then tell a clean close from a cut (reset, truncated frame, end of file without a close).

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_MAX_PAYLOAD = 1 << 20
# After its close frame the app waits this long for the client's (the closing handshake), then
# closes the connection anyway.
CLOSE_GRACE = 2.0
GOING_AWAY = 1001
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def ws_accept_key(key):
    """Sec-WebSocket-Accept of a Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + WS_GUID).digest())


def ws_frame(opcode, payload=b""):
    """One unmasked, final frame (what a server sends)."""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return head + payload


class FrameError(ValueError):
    """A client frame the app refuses; ``code`` is the close code it answers with."""

    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def ws_parse(buf):
    """(fin, opcode, payload, bytes used) of the first complete frame a client sent, or None while
    incomplete. Raises FrameError for what RFC 6455 calls a protocol error (an unmasked client
    frame, 1002) and for payloads over WS_MAX_PAYLOAD (1009)."""
    if len(buf) < 2:
        return None
    first, second = buf[0], buf[1]
    size, at = second & 0x7F, 2
    if size == 126:
        if len(buf) < 4:
            return None
        size, at = struct.unpack("!H", buf[2:4])[0], 4
    elif size == 127:
        if len(buf) < 10:
            return None
        size, at = struct.unpack("!Q", buf[2:10])[0], 10
    if not second & 0x80:
        raise FrameError(1002, "unmasked client frame")
    if size > WS_MAX_PAYLOAD:
        raise FrameError(1009, "frame of %d bytes" % size)
    if len(buf) < at + 4 + size:
        return None
    mask = buf[at:at + 4]
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[at + 4:at + 4 + size]))
    return bool(first & 0x80), first & 0x0F, data, at + 4 + size


def start_long_lived(conn, path, headers, proto):
    """Take over ``conn`` for /ws or /events; False for any other path (an ordinary request)."""
    if path == "/ws":
        kind = WebSocket
        if ("websocket" not in headers.get("upgrade", "").lower() or not headers.get("sec-websocket-key")
                or "upgrade" not in headers.get("connection", "").lower()):
            conn.reply(400, b"websocket handshake expected\n", False)
            return True
    elif path == "/events":
        kind = EventStream
    else:
        return False
    if proto == "HTTP/1.0":
        conn.reply(400, b"HTTP/1.1 expected\n", False)
        return True
    stream = kind(conn)
    conn.stream = stream
    APP.streams.add(stream)
    rest, conn.buf = conn.buf, b""
    stream.open(headers)
    if rest:
        stream.feed(rest)
    if APP.draining:
        stream.going_away()
    return True


class WebSocket:
    """The server side of one websocket: ticks, echo, ping/pong and the closing handshake."""

    def __init__(self, conn):
        self.conn = conn
        self.buf = b""
        self.sent = 0
        self.close_sent = False
        self.fragments = None          # (opcode, [payloads]) of a fragmented message
        self.timer = None

    def open(self, headers):
        self.conn.transport.write(b"".join((
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
            b"Sec-WebSocket-Accept: ", ws_accept_key(headers["sec-websocket-key"]), b"\r\n",
            b"X-App-Version: ", VERSION_BYTES, b"\r\n\r\n")))

    def send(self, opcode, payload=b""):
        if not self.close_sent and not self.conn.closing:
            self.conn.transport.write(ws_frame(opcode, payload))

    def tick(self):
        self.sent += 1
        self.send(OP_TEXT, b"tick %d " % self.sent + VERSION_BYTES)

    def feed(self, data):
        self.buf += data
        while not self.conn.closing:
            try:
                frame = ws_parse(self.buf)
            except FrameError as exc:
                self.buf = b""
                self.close(exc.code, str(exc).encode())
                return
            if frame is None:
                return
            fin, opcode, payload, used = frame
            self.buf = self.buf[used:]
            self.handle(fin, opcode, payload)

    def handle(self, fin, opcode, payload):
        if opcode == OP_CLOSE:
            if self.close_sent:            # the client answered ours: the handshake is complete
                self.conn.close()
            else:                          # the client's close: echo its code, then close
                self.send(OP_CLOSE, payload[:2])
                self.close_sent = True
                self.conn.close()
        elif opcode == OP_PING:
            self.send(OP_PONG, payload)
        elif opcode in (OP_TEXT, OP_BINARY):
            if fin:
                self.send(opcode, payload)
            else:
                self.fragments = (opcode, [payload])
        elif opcode == OP_CONT and self.fragments is not None:
            self.fragments[1].append(payload)
            if fin:
                self.send(self.fragments[0], b"".join(self.fragments[1]))
                self.fragments = None

    def close(self, code, reason=b""):
        """Start the closing handshake; the connection closes when the client answers, or after
        CLOSE_GRACE."""
        if self.close_sent or self.conn.closing:
            return
        self.send(OP_CLOSE, struct.pack("!H", code) + reason)
        self.close_sent = True
        self.timer = asyncio.get_running_loop().call_later(CLOSE_GRACE, self.conn.close)

    def going_away(self):
        self.close(GOING_AWAY, b"server going away")

    def peer_gone(self):
        self.conn.close()


class EventStream:
    """One text/event-stream response (chunked): an event every TICK seconds, `end` at the stop."""

    def __init__(self, conn):
        self.conn = conn
        self.sent = 0

    def open(self, headers):
        self.conn.transport.write(b"".join((
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n",
            b"X-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n",
            b"X-App-Version: ", VERSION_BYTES, b"\r\n\r\n")))
        self.event(b"retry: 1000\nevent: hello\ndata: " + VERSION_BYTES + b"\n\n")

    def event(self, text):
        if not self.conn.closing:
            self.conn.transport.write(b"%x\r\n%s\r\n" % (len(text), text))

    def tick(self):
        self.sent += 1
        self.event(b"id: %d\ndata: tick %d " % (self.sent, self.sent) + VERSION_BYTES + b"\n\n")

    def feed(self, data):
        """A client sends nothing on an event stream; whatever comes is ignored."""

    def going_away(self):
        if self.conn.closing:
            return
        self.event(b"event: end\ndata: server going away\n\n")
        self.conn.transport.write(b"0\r\n\r\n")
        self.conn.close()

    def peer_gone(self):
        self.conn.close()


async def tick_streams():
    """Every TICK seconds, a message on every open websocket and an event on every event stream."""
    while True:
        await asyncio.sleep(TICK)
        for stream in list(APP.streams):
            stream.tick()


def open_listener():
    """A bound, listening socket (TCP or unix) and its description."""
    if SOCKET_PATH:
        try:
            if stat.S_ISSOCK(os.lstat(SOCKET_PATH).st_mode):
                os.unlink(SOCKET_PATH)            # stale socket of an earlier run
        except FileNotFoundError:
            pass
        directory = os.path.dirname(SOCKET_PATH)
        if directory:
            os.makedirs(directory, exist_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(SOCKET_PATH)
        os.chmod(SOCKET_PATH, 0o777)              # world-connectable
        where = "unix:%s" % SOCKET_PATH
    else:
        family = socket.AF_INET6 if ":" in HOST else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if REUSEPORT:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((HOST, PORT))
        where = "tcp:%s:%d%s" % (HOST, PORT, " reuseport" if REUSEPORT else "")
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock, where


def remove_own_socket(inode):
    """Unlink the socket file only if it is still ours (a successor may have bound the path)."""
    try:
        if os.lstat(SOCKET_PATH).st_ino == inode:
            os.unlink(SOCKET_PATH)
    except OSError:
        pass


def crash():
    log("crash after=%gs exit=1 (APP_CRASH_AFTER)" % CRASH_AFTER)
    os._exit(1)


async def sweep_idle():
    """Close keep-alive connections idle for longer than IDLE_TIMEOUT."""
    while True:
        await asyncio.sleep(SWEEP_INTERVAL)
        limit = time.monotonic() - IDLE_TIMEOUT
        for conn in list(APP.connections):
            if conn.transport is not None and conn.idle() and conn.last_active < limit:
                conn.close()


def accept_all(loop, lsock):
    """Accept what the listener has queued. Each connection is counted at once (so the drain
    waits for it) and gets its transport from connect_accepted_socket; asyncio's own Server is
    not used because it drops connections accepted just before Server.close() without a word."""
    for dummy in range(BACKLOG):
        try:
            conn = lsock.accept()[0]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:              # e.g. out of file descriptors: retry on the next event
            return
        conn.setblocking(False)
        proto = Connection()
        APP.connections.add(proto)
        loop.create_task(attach(loop, conn, proto))


async def attach(loop, conn, proto):
    try:
        await loop.connect_accepted_socket(lambda: proto, sock=conn)
    except Exception:                # the client went away before the transport was made
        conn.close()
        APP.forget(proto)


async def serve():
    loop = asyncio.get_running_loop()
    APP.done = loop.create_future()
    signalled = asyncio.Event()

    def on_signal(signame):
        if APP.signal_name is None:
            APP.signal_name = signame
            signalled.set()

    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)

    if STARTUP_DELAY:
        try:
            await asyncio.wait_for(signalled.wait(), STARTUP_DELAY)
            log("signal=%s before listening; exit" % APP.signal_name)
            return 0
        except asyncio.TimeoutError:
            pass

    sock, where = open_listener()
    inode = os.lstat(SOCKET_PATH).st_ino if SOCKET_PATH else None
    loop.add_reader(sock.fileno(), accept_all, loop, sock)
    APP.started = time.monotonic()
    if CRASH_AFTER is not None:
        loop.call_later(CRASH_AFTER, crash)
    sweeper = loop.create_task(sweep_idle())
    ticker = loop.create_task(tick_streams())
    log("version=%s listen=%s pid=%d" % (VERSION, where, os.getpid()))

    await signalled.wait()
    # Drain: stop accepting at once, close idle connections, let the others finish.
    loop.remove_reader(sock.fileno())
    sock.close()
    if inode is not None:
        remove_own_socket(inode)
    APP.draining = True
    log("signal=%s draining in_flight=%d connections=%d long_lived=%d timeout=%gs"
        % (APP.signal_name, APP.in_flight(), len(APP.connections), len(APP.streams), DRAIN_TIMEOUT))
    for stream in list(APP.streams):
        stream.going_away()
    now = time.monotonic()
    for conn in list(APP.connections):
        if conn.idle():
            # The grace counts from the connection's last activity: one idle for longer already
            # (a balancer's pooled connection to this drained backend) closes at once.
            grace = DRAIN_IDLE_GRACE if conn.served else DRAIN_FRESH_GRACE
            loop.call_later(max(0.0, conn.last_active + grace - now), conn.close_if_idle)
    if not APP.connections and not APP.done.done():
        APP.done.set_result(True)
    try:
        await asyncio.wait_for(asyncio.shield(APP.done), DRAIN_TIMEOUT)
        outcome = "yes"
    except asyncio.TimeoutError:
        outcome = "timeout"
    sweeper.cancel()
    ticker.cancel()
    log("exit drained=%s in_flight=%d connections=%d"
        % (outcome, APP.in_flight(), len(APP.connections)))
    return 0


def main():
    code = asyncio.run(serve())
    sys.stdout.flush()
    os._exit(code)                   # do not wait for transports still open after a timeout


if __name__ == "__main__":
    main()
