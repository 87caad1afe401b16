# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Balancers that misbehave on purpose, on 127.0.0.1, in threads of the test process: an HAProxy
runtime API that answers garbage (or nothing), a balancer-manager that wants other credentials,
serves another page, ignores changes, or speaks TLS with a certificate nobody trusts. Each counts
the changes it was asked for, so 'nothing was changed' can be checked on them too."""

import base64
import datetime
import http.server
import os
import socket
import socketserver
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANAGER_PAGE = os.path.join(HERE, '..', 'unit', 'plugins', 'module_utils', 'balancers', 'fixtures',
                            'apache', 'page_initial.html')
USER, PASSWORD = 'admin', 'the-right-one'

# What a mutated runtime API answers to 'show stat;show servers state'.
RUNTIME_ANSWERS = {
    'no-header': 'pxname,svname,qcur\napp,blue,0\n\n1\n# be_id be_name\n\n',
    'truncated': '# pxname,svname,qcur,scur,status\napp,blue,0,0,UP\n',
    'user-level': 'Permission denied\n\n\n',
    'silent': None,
}


class _Server(object):
    """A threaded server in the background; ``changes``: change requests it received."""

    def __init__(self, server):
        self.server = server
        self.server.changes = 0
        self.thread = threading.Thread(target=server.serve_forever, name='zdt-fault-fake')
        self.thread.daemon = True
        self.thread.start()

    @property
    def changes(self):
        return self.server.changes

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class _Runtime(socketserver.BaseRequestHandler):
    def handle(self):
        line = self.request.recv(65536).decode('utf-8', 'replace')
        if 'set ' in line:
            self.server.changes += 1
        answer = RUNTIME_ANSWERS[self.server.mode]
        if answer is None:              # accept, read, never answer (until the client gives up)
            self.request.settimeout(30)
            try:
                self.request.recv(1)
            except OSError:
                pass
            return
        self.request.sendall(answer.encode())


class _ThreadingTCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def fake_runtime_api(port, mode):
    server = _ThreadingTCP(('127.0.0.1', port), _Runtime)
    server.mode = mode
    return _Server(server)


class _Manager(http.server.BaseHTTPRequestHandler):
    """mode: 'auth' (401 without the right credentials), 'other-page', 'ignores-post' (answers every
    POST with the unchanged page, as httpd does for a POST it rejects)."""

    def log_message(self, *args):
        pass

    def _send(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Type', 'text/html')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self):
        mode = self.server.mode
        if mode == 'auth':
            expected = 'Basic ' + base64.b64encode(('%s:%s' % (USER, PASSWORD)).encode()).decode()
            if self.headers.get('Authorization') != expected:
                return self._send(401, 'Unauthorized', [('WWW-Authenticate', 'Basic realm="lb"')])
        if mode == 'other-page':
            return self._send(200, '<html><body><h1>It works!</h1></body></html>')
        with open(MANAGER_PAGE) as handle:
            return self._send(200, handle.read())

    def do_GET(self):
        self._answer()

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        self.rfile.read(length)
        if self.server.mode != 'ignores-post':     # that one ignores changes, as httpd can
            self.server.changes += 1
        self._answer()


class _ThreadingHTTP(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def fake_manager(port, mode, tls_files=None):
    server = _ThreadingHTTP(('127.0.0.1', port), _Manager)
    server.mode = mode
    if tls_files is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls_files)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return _Server(server)


def self_signed(directory):
    """(certificate, key) files of a certificate for 127.0.0.1 that no CA signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'zdt-fault untrusted')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost')]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(str(directory), 'untrusted.crt')
    key_path = os.path.join(str(directory), 'untrusted.key')
    with open(cert_path, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


class TakenPort(object):
    """A port something else listens on."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', port))
        self.sock.listen(1)

    def close(self):
        self.sock.close()
