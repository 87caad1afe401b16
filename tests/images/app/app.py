#!/usr/bin/env python3
"""Demo app for the zerodowntime.deploy tests: a tiny HTTP/1.1 server (standard library only).

Behaviour is scripted with environment variables (see tests/images/README.md):
  APP_HOST (127.0.0.1), APP_PORT (8080), APP_SOCKET (unix socket path instead of TCP),
  APP_REUSEPORT=1, APP_VERSION, APP_STARTUP_DELAY, APP_READY_DELAY, APP_NEVER_READY=1,
  APP_UNHEALTHY_AFTER, APP_CRASH_AFTER, APP_DRAIN_TIMEOUT (30).
Delays are seconds (floats allowed); READY/UNHEALTHY/CRASH count from the moment the listener is bound.

Endpoints: /  /slow?ms=N  /version  /health ; anything else is 404.
Every 200 page body is exactly BODY_LEN bytes for every version, so load tools that compare
response lengths (ab) never count a version change as a failure.

One thread per connection (daemon threads). SIGTERM, SIGQUIT and SIGINT start a graceful
drain: the listener is closed at once, requests in flight finish, a further request on a
keep-alive connection is answered with `Connection: close`, idle keep-alive connections are
closed, and the process exits 0 when no connection is left (or after APP_DRAIN_TIMEOUT).
No per-request logging: one line at start, one at the signal, one at exit.
"""

import os
import select
import signal
import socket
import stat
import sys
import threading
import time
from urllib.parse import parse_qs

BODY_LEN = 64
MAX_HEADER_BYTES = 65536
IDLE_TIMEOUT = 75.0  # seconds an idle keep-alive connection is kept open
MAX_SLOW_MS = 600000


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


def make_body(version):
    text = ("version=%s" % version)[:BODY_LEN - 1]
    return (text.ljust(BODY_LEN - 1) + "\n").encode("ascii", "replace")


PAGE = make_body(VERSION)
VERSION_HEADER = VERSION.encode("ascii", "replace")
REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed",
           431: b"Request Header Fields Too Large", 500: b"Internal Server Error",
           501: b"Not Implemented", 503: b"Service Unavailable"}


class State:
    """Process-wide state shared by the accept loop and the connection threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = None          # monotonic time the listener was bound
        self.draining = False
        self.connections = 0         # open client connections
        self.in_flight = 0           # requests being read or answered
        self.idle_changed = threading.Condition(self.lock)
        # Readable once the drain starts: wakes every idle keep-alive connection at once.
        self.drain_r, self.drain_w = os.pipe()

    def health(self):
        """(status, text) of /health right now."""
        if self.draining:
            return 503, b"draining\n"
        age = time.monotonic() - self.started
        if UNHEALTHY_AFTER is not None and age >= UNHEALTHY_AFTER:
            return 500, b"unhealthy\n"
        if NEVER_READY or age < READY_DELAY:
            return 503, b"not ready\n"
        return 200, b"ok\n"


STATE = State()


def response(status, body, keep_alive, head=False, extra=b""):
    lines = [b"HTTP/1.1 %d %s" % (status, REASONS.get(status, b"Unknown")),
             b"Content-Type: text/plain",
             b"Content-Length: %d" % len(body),
             b"X-App-Version: " + VERSION_HEADER,
             b"Connection: keep-alive" if keep_alive else b"Connection: close"]
    if extra:
        lines.append(extra)
    data = b"\r\n".join(lines) + b"\r\n\r\n"
    return data if head else data + body


def route(method, target):
    """(status, body) for one request."""
    if method not in ("GET", "HEAD"):
        return 405, b"method not allowed\n"
    path, _, query = target.partition("?")
    if path == "/":
        return 200, PAGE
    if path == "/health":
        return STATE.health()
    if path == "/slow":
        try:
            ms = int(parse_qs(query).get("ms", ["1000"])[0])
        except ValueError:
            return 400, b"ms must be an integer\n"
        time.sleep(min(max(ms, 0), MAX_SLOW_MS) / 1000.0)
        return 200, PAGE
    if path == "/version":
        return 200, VERSION_HEADER + b"\n"
    return 404, b"not found\n"


def wait_readable(sock, timeout):
    """True when the client sent something, False when idle time is over or the drain began."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        fds = [sock] if STATE.draining else [sock, STATE.drain_r]
        readable, _, _ = select.select(fds, [], [], left)
        if sock in readable:
            return True
        if readable:                      # drain started while idle: close unless data is waiting
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable)


def serve_connection(sock):
    buf = b""
    try:
        while True:
            # Wait for the start of the next request (idle keep-alive time).
            if not buf:
                if not wait_readable(sock, IDLE_TIMEOUT):
                    return
                chunk = sock.recv(65536)
                if not chunk:
                    return
                buf = chunk
            with STATE.lock:
                STATE.in_flight += 1
            try:
                buf, keep = handle_one(sock, buf)
            finally:
                with STATE.lock:
                    STATE.in_flight -= 1
            if not keep:
                return
    except OSError:
        pass
    finally:
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.close()
        with STATE.lock:
            STATE.connections -= 1
            STATE.idle_changed.notify_all()


def handle_one(sock, buf):
    """Read one request (its start is in buf), answer it; return (leftover bytes, keep open)."""
    sock.settimeout(30.0)
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEADER_BYTES:
            sock.sendall(response(431, b"headers too large\n", False))
            return b"", False
        chunk = sock.recv(65536)
        if not chunk:
            return b"", False
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        sock.sendall(response(400, b"bad request\n", False))
        return b"", False
    method, target, proto = parts
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        sock.sendall(response(501, b"chunked request bodies are not supported\n", False))
        return b"", False
    length = int(headers.get("content-length", "0") or "0")
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", False
        rest += chunk
    rest = rest[length:]
    conn = headers.get("connection", "").lower()
    if proto == "HTTP/1.0":
        keep = "keep-alive" in conn
    else:
        keep = "close" not in conn
    status, body = route(method, target)
    if STATE.draining:
        keep = False
    sock.sendall(response(status, body, keep, head=(method == "HEAD")))
    sock.settimeout(None)
    return rest, keep


def open_listener():
    if SOCKET_PATH:
        try:
            if stat.S_ISSOCK(os.lstat(SOCKET_PATH).st_mode):
                os.unlink(SOCKET_PATH)    # stale socket of an earlier run
        except FileNotFoundError:
            pass
        directory = os.path.dirname(SOCKET_PATH)
        if directory:
            os.makedirs(directory, exist_ok=True)
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(SOCKET_PATH)
        os.chmod(SOCKET_PATH, 0o777)
        where = "unix:%s" % SOCKET_PATH
    else:
        family = socket.AF_INET6 if ":" in HOST else socket.AF_INET
        lsock = socket.socket(family, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if REUSEPORT:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        lsock.bind((HOST, PORT))
        where = "tcp:%s:%d%s" % (HOST, PORT, " reuseport" if REUSEPORT else "")
    lsock.listen(1024)
    lsock.setblocking(False)
    return lsock, where


def remove_own_socket(inode):
    """Unlink the socket file only if it is still ours (a successor may have bound the path)."""
    try:
        if os.lstat(SOCKET_PATH).st_ino == inode:
            os.unlink(SOCKET_PATH)
    except OSError:
        pass


def crash_timer():
    time.sleep(CRASH_AFTER)
    log("crash after=%gs exit=1 (APP_CRASH_AFTER)" % CRASH_AFTER)
    os._exit(1)


def main():
    threading.stack_size(512 * 1024)
    received = []

    def on_signal(signum, _frame):
        if not received:
            received.append(signal.Signals(signum).name)

    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    for sig in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
        signal.signal(sig, on_signal)

    if STARTUP_DELAY:
        time.sleep(STARTUP_DELAY)          # a signal interrupts nothing here: checked below
    lsock, where = open_listener()
    inode = os.lstat(SOCKET_PATH).st_ino if SOCKET_PATH else None
    STATE.started = time.monotonic()
    if CRASH_AFTER is not None:
        threading.Thread(target=crash_timer, daemon=True).start()
    log("version=%s listen=%s pid=%d" % (VERSION, where, os.getpid()))

    poller = select.poll()
    poller.register(lsock, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while not received:
        for fd, _ in poller.poll():
            if fd == wake_r.fileno():
                try:
                    wake_r.recv(4096)
                except BlockingIOError:
                    pass
                continue
            while True:
                try:
                    conn, _ = lsock.accept()
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:            # e.g. EMFILE: back off a little
                    time.sleep(0.01)
                    break
                conn.setblocking(True)
                if conn.family != socket.AF_UNIX:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with STATE.lock:
                    STATE.connections += 1
                threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()

    # Drain: stop accepting at once, wake idle connections, wait for the rest.
    lsock.close()
    if inode is not None:
        remove_own_socket(inode)
    with STATE.lock:
        STATE.draining = True
        in_flight, conns = STATE.in_flight, STATE.connections
    os.write(STATE.drain_w, b"x")
    log("signal=%s draining in_flight=%d connections=%d timeout=%gs"
        % (received[0], in_flight, conns, DRAIN_TIMEOUT))
    deadline = time.monotonic() + DRAIN_TIMEOUT
    with STATE.lock:
        while STATE.connections and time.monotonic() < deadline:
            STATE.idle_changed.wait(min(0.1, max(deadline - time.monotonic(), 0)))
        left_in_flight, left = STATE.in_flight, STATE.connections
    log("exit drained=%s in_flight=%d connections=%d" % ("yes" if not left else "timeout",
                                                          left_in_flight, left))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
