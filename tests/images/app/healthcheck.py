"""Docker HEALTHCHECK of the demo app: GET /health over TCP or APP_SOCKET; exit 0 only on 200."""
import os
import socket
import sys

path = os.environ.get("APP_SOCKET", "").strip()
try:
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(0.9)
        sock.connect(path)
    else:
        host = os.environ.get("APP_HOST", "").strip() or "127.0.0.1"
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host)
        port = int(os.environ.get("APP_PORT", "").strip() or "8080")
        sock = socket.create_connection((host, port), timeout=0.9)
    sock.sendall(b"GET /health HTTP/1.0\r\nHost: healthcheck\r\n\r\n")
    status_line = sock.makefile("rb").readline().decode("latin-1").strip()
except OSError as exc:
    print("health: %s" % exc)
    sys.exit(1)
print("health: %s" % status_line)
sys.exit(0 if status_line.split(" ")[1:2] == ["200"] else 1)
