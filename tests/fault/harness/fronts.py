# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An HAProxy front (the zerodowntime-test/haproxy image) on the host network, its runtime API on
a unix socket in a host directory, and an oracle that reads its servers without the collection's
own adapter (a test must not trust the code it tests to tell it the truth).

Two variants of the front (ZDT_FAULT_FRONT picks one for the whole run):
- ``strict`` (the default): ``retries 0`` and no ``option redispatch``. A request that meets a dead
  or closing server reaches the client as the failure it is; every "0 failed" is the deploy's own.
- ``forgiving``: ``retries 3`` and ``option redispatch`` - a tuned production front, which quietly
  sends a request whose connection failed to the other server. Run it to compare
  (``ZDT_FAULT_FRONT=forgiving make fault``), never to claim zero downtime.
"""

import os
import socket
import time

from harness import convergence

IMAGE = 'zerodowntime-test/haproxy:latest'

CONFIG = '''global
    maxconn 512
    stats socket /run/haproxy/admin.sock mode 600 level admin
    stats timeout 10s
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout queue 10s
{retries}
frontend web
    bind 127.0.0.1:{front}
    default_backend app
'''

# What each variant adds to the defaults section (HAProxy's own default is `retries 3` to the
# same server: a strict front must say 0).
VARIANTS = {
    'strict': '    retries 0',
    'forgiving': '    retries 3\n    option redispatch',
}
VARIANT = os.environ.get('ZDT_FAULT_FRONT', 'strict')
if VARIANT not in VARIANTS:
    raise ValueError('ZDT_FAULT_FRONT=%r: expected one of %s' % (VARIANT, ', '.join(sorted(VARIANTS))))

BACKEND = '''backend {name}
    balance roundrobin
    option httpchk GET /health
{servers}
'''

# weight 100: a weight ramp (rolling_restart_ramp) needs room for steps below the final weight.
SERVER = '    server {name} 127.0.0.1:{port} weight 100 check inter 500ms fall 2 rise 2'

# srv_admin_state bits: forced maintenance, forced drain.
ADMIN_MAINT = 0x01
ADMIN_DRAIN = 0x08


def admin_state(admin):
    if admin & ADMIN_MAINT:
        return 'disabled'
    if admin & ADMIN_DRAIN:
        return 'drained'
    return 'enabled'


class HaproxyFront(object):
    """``backends``: {backend: {server: port}}; the frontend sends everything to ``app``;
    ``variant``: 'strict' or 'forgiving' (VARIANTS)."""

    def __init__(self, docker, name, front_port, backends, workdir, variant=VARIANT):
        self.docker = docker
        self.variant = variant
        self.name = name
        self.front_port = front_port
        self.url = 'http://127.0.0.1:%d/' % front_port
        self.backends = backends
        self.dir = str(workdir)
        self.run_dir = os.path.join(self.dir, 'run')
        self.socket = os.path.join(self.run_dir, 'admin.sock')
        self.container = None

    def config(self):
        text = CONFIG.format(front=self.front_port, retries=VARIANTS[self.variant])
        for backend, servers in sorted(self.backends.items()):
            lines = [SERVER.format(name=name, port=port) for name, port in sorted(servers.items())]
            text += BACKEND.format(name=backend, servers='\n'.join(lines))
        return text

    def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        path = os.path.join(self.dir, 'haproxy.cfg')
        with open(path, 'w') as handle:
            handle.write(self.config())
        self.container = self.docker.containers.run(
            IMAGE, name=self.name, detach=True, network_mode='host',
            volumes={path: {'bind': '/etc/haproxy/haproxy.cfg', 'mode': 'ro'},
                     self.run_dir: {'bind': '/run/haproxy', 'mode': 'rw'}})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.command('show info')
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError('HAProxy front %s did not open %s: %s'
                             % (self.name, self.socket, self.container.logs()[-2000:]))

    def remove(self):
        if self.container is not None:
            convergence.remove(self.docker, self.container.id)
            self.container = None

    def command(self, line):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        try:
            sock.connect(self.socket)
            sock.sendall((line + '\n').encode())
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b''.join(chunks).decode()
                chunks.append(chunk)
        finally:
            sock.close()

    def servers(self, backend='app'):
        """{server: dict(state, weight, initial_weight, up)} from 'show servers state'."""
        lines = self.command('show servers state %s' % backend).splitlines()
        header = lines[1].lstrip('# ').split()
        found = {}
        for line in lines[2:]:
            row = dict(zip(header, line.split()))
            if not row:
                continue
            found[row['srv_name']] = dict(
                state=admin_state(int(row['srv_admin_state'])), weight=int(row['srv_uweight']),
                initial_weight=int(row['srv_iweight']), up=row['srv_op_state'] == '2')
        return found

    def snapshot(self, backend='app'):
        """What 'nothing changed' compares: admin state and weight of every server."""
        return dict((name, (s['state'], s['weight'])) for name, s in self.servers(backend).items())
