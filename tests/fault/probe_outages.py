# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Known, injected outages for the traffic probe's detection tests (test_probe_detection.py).

Four stacks on the host network, each with an ``outage(seconds)`` that breaks what users meet for
that long and then puts it back:

- ``PausedMember``: an HAProxy front (retries 0, no redispatch) over two app members; one member
  is frozen (docker pause) while it is still in rotation.
- ``HaproxyReloadForgetsDrain``: the same front; a retired member (no container) is in
  maintenance, HAProxy is reloaded without a server-state file (SIGUSR2 to the master), which
  puts it back into rotation, and it is put into maintenance again ``seconds`` later.
- ``ColdStartOnSharedPort``: an app on a port it shares with SO_REUSEPORT; a new container binds
  the same port and answers 503 for its first ``seconds`` (APP_COLD_503).
- ``NginxReloadForgetsDrain``: an nginx front under keep-alive over two members, one of them retired
  and marked ``down``; the upstream is rewritten without ``down`` and nginx reloaded (SIGHUP to
  the master), then the ``down`` is written back and nginx reloaded again ``seconds`` later.

``run_case()`` runs the probe (the module's own code, in this process) with its defaults across
one outage and returns its result and verdict.
"""

import os
import socket
import subprocess
import threading
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _probe
from ansible_collections.zerodowntime.deploy.plugins.modules.traffic_probe import ARGUMENT_SPEC
from harness import fronts

PREFIX = 'zdt-fault-probe-'
APP = 'zerodowntime-test/app:v1'
COLD = 'zerodowntime-test/app:cold-503'
HAPROXY = 'zerodowntime-test/haproxy:latest'
NGINX = 'zerodowntime-test/nginx:latest'
NO_HEALTHCHECK = {'test': ['NONE']}

# The fault suite's strict front (retries 0, no redispatch), over two members with no health
# check: an outage must reach the probe, not be hidden by HAProxy taking the member out.
HAPROXY_CONFIG = fronts.CONFIG.replace('{retries}', fronts.VARIANTS['strict']) + '''backend app
    balance roundrobin
    server m1 127.0.0.1:{m1}
    server m2 127.0.0.1:{m2}
'''

NGINX_CONFIG = '''upstream app {{
    server 127.0.0.1:{m1};
    server 127.0.0.1:{m2}{down};
    keepalive 16;
}}
server {{
    listen 127.0.0.1:{front};
    location / {{
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream off;
    }}
}}
'''


def defaults(**given):
    """The probe's parameters: every option at its default, plus ``given``."""
    out = dict((name, rule.get('default')) for name, rule in ARGUMENT_SPEC.items())
    out.update(given)
    return out


def wait_http(port, path='/health', timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                sock.sendall(b'GET ' + path.encode() + b' HTTP/1.0\r\n\r\n')
                if b' 200 ' in sock.recv(256):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError('nothing answered 200 on 127.0.0.1:%d%s within %gs' % (port, path, timeout))


class Stack(object):
    """Containers of one stack, removed by close()."""

    url = None

    def __init__(self, engine, workdir, base_port):
        self.engine = engine
        self.dir = str(workdir)
        self.port = base_port
        self.containers = []

    def run(self, name, image, **kwargs):
        kwargs.setdefault('healthcheck', NO_HEALTHCHECK)
        self.remove_named(PREFIX + name)
        container = self.engine.containers.run(image, name=PREFIX + name, detach=True,
                                               network_mode='host', **kwargs)
        self.containers.append(container)
        return container

    def one_serving(self, name):
        """Ports (front, m1, m2) of a front whose m1 serves (started here) and whose m2 is
        retired: nothing listens on it."""
        ports = self.port, self.port + 1, self.port + 2
        self.app(name + '-m1', ports[1])
        wait_http(ports[1])
        return ports

    def app(self, name, port, image=APP, **env):
        env.update(APP_PORT=str(port))
        return self.run(name, image, environment=env)

    def remove_named(self, name):
        for container in self.engine.containers.list(all=True, filters={'name': name}):
            if container.name == name:
                container.remove(force=True)

    def close(self):
        for container in self.containers:
            try:
                container.remove(force=True)
            except Exception:
                pass
        self.containers = []


class StoppedMember(Stack):
    """The member's port answers every packet with a reset for ``seconds`` (iptables REJECT
    --reject-with tcp-reset on the loopback): what HAProxy meets when the member's process is gone
    - new connections refused, pooled ones reset - and then it is back, in rotation throughout."""
    kind = 'member stopped in rotation (HAProxy)'
    name = 'stop'

    def start(self):
        front, m1, m2 = self.port, self.port + 1, self.port + 2
        self.m2_port = m2
        self.m1 = self.app(self.name + '-m1', m1)
        self.m2 = self.app(self.name + '-m2', m2)
        wait_http(m1)
        wait_http(m2)
        path = os.path.join(self.dir, 'haproxy.cfg')
        with open(path, 'w') as handle:
            handle.write(HAPROXY_CONFIG.format(front=front, m1=m1, m2=m2))
        self.run(self.name + '-front', HAPROXY, volumes={path: {'bind': '/etc/haproxy/haproxy.cfg', 'mode': 'ro'}})
        wait_http(front, '/')
        self.url = 'http://127.0.0.1:%d/' % front
        return self

    def rule(self, action):
        subprocess.check_call(['iptables', action, 'INPUT', '-p', 'tcp', '-d', '127.0.0.1', '--dport',
                               str(self.m2_port), '-j', 'REJECT', '--reject-with', 'tcp-reset'])

    def outage(self, seconds):
        self.rule('-I')
        began = time.monotonic()
        try:
            time.sleep(seconds)
        finally:
            self.rule('-D')
        return time.monotonic() - began


class PausedMember(StoppedMember):
    """The member's container is frozen (docker pause) for ``seconds``: every request it has
    waits, none fails - a stall, seen only through the latency limit or the gap."""
    kind = 'member frozen in rotation (HAProxy)'
    name = 'pause'

    def outage(self, seconds):
        self.m2.pause()
        began = time.monotonic()
        time.sleep(seconds)
        self.m2.unpause()
        return time.monotonic() - began


class HaproxyReloadForgetsDrain(Stack):
    kind = 'HAProxy reload forgets a drain'

    def start(self):
        front, m1, m2 = self.one_serving('reload')
        path = os.path.join(self.dir, 'haproxy.cfg')
        with open(path, 'w') as handle:
            handle.write(HAPROXY_CONFIG.format(front=front, m1=m1, m2=m2))
        self.run_dir = os.path.join(self.dir, 'run')
        os.makedirs(self.run_dir, exist_ok=True)
        self.front = self.run('reload-front', HAPROXY, volumes={
            path: {'bind': '/etc/haproxy/haproxy.cfg', 'mode': 'ro'},
            self.run_dir: {'bind': '/run/haproxy', 'mode': 'rw'}})
        wait_http(front, '/')
        self.retire()
        self.url = 'http://127.0.0.1:%d/' % front
        return self

    def command(self, line, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(os.path.join(self.run_dir, 'admin.sock'))
                sock.sendall((line + '\n').encode())
                return sock.recv(65536).decode()
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
            finally:
                sock.close()

    def retire(self):
        self.command('set server app/m2 state maint')

    def outage(self, seconds):
        began = time.monotonic()
        self.front.kill(signal='SIGUSR2')           # reload: the new process forgets 'maint'
        time.sleep(seconds)
        self.retire()
        return time.monotonic() - began


class ColdStartOnSharedPort(Stack):
    kind = 'new container 503 first N ms (SO_REUSEPORT)'

    def start(self):
        self.old = self.app('cold-old', self.port, APP_REUSEPORT='1')
        wait_http(self.port)
        self.url = 'http://127.0.0.1:%d/' % self.port
        self.new = None
        return self

    def outage(self, seconds):
        began = time.monotonic()
        self.new = self.app('cold-new', self.port, image=COLD, APP_REUSEPORT='1',
                            APP_COLD_503=str(seconds))
        # The outage begins when the new one binds (its log line) and lasts ``seconds``.
        deadline = time.monotonic() + 30
        while b'listen=' not in self.new.logs():
            if time.monotonic() > deadline:
                raise AssertionError('the new container did not bind: %s' % self.new.logs())
            time.sleep(0.02)
        bound = time.monotonic()
        time.sleep(max(seconds - (bound - began) * 0, 0) + 0.2)
        return seconds

    def after(self):
        if self.new is not None:
            self.new.remove(force=True)
            self.new = None


class NginxReloadForgetsDrain(Stack):
    kind = 'nginx reload forgets a drain (keep-alive)'

    def start(self):
        front, m1, m2 = self.one_serving('nginx')
        self.conf_dir = os.path.join(self.dir, 'conf.d')
        os.makedirs(self.conf_dir, exist_ok=True)
        self.ports = dict(front=front, m1=m1, m2=m2)
        self.write(down=True)
        self.front = self.run('nginx-front', NGINX, volumes={self.conf_dir: {'bind': '/etc/nginx/conf.d', 'mode': 'ro'}})
        wait_http(front, '/')
        self.url = 'http://127.0.0.1:%d/' % front
        return self

    def write(self, down):
        with open(os.path.join(self.conf_dir, 'site.conf'), 'w') as handle:
            handle.write(NGINX_CONFIG.format(down=' down' if down else '', **self.ports))

    def outage(self, seconds):
        began = time.monotonic()
        self.write(down=False)
        self.front.kill(signal='SIGHUP')
        time.sleep(seconds)
        self.write(down=True)
        self.front.kill(signal='SIGHUP')
        return time.monotonic() - began


def run_case(stack, seconds, workdir, before=0.6, after=0.6, **given):
    """Probe ``stack.url`` with the defaults (plus ``given``), inject ``stack.outage(seconds)``
    after ``before`` seconds (none for 0), stop by the stop file ``after`` seconds later.
    Returns (result, reasons the probe fails, seconds the injection took)."""
    stop_file = os.path.join(str(workdir), 'probe.stop')
    if os.path.exists(stop_file):
        os.remove(stop_file)
    params = defaults(urls=[stack.url], duration=60.0, stop_file=stop_file, **given)
    targets = _probe.prepare(params)
    box = {}
    cpu, wall = time.process_time(), time.monotonic()
    thread = threading.Thread(target=lambda: box.update(zip(('out', 'warnings'), _probe.run_probe(targets, params))))
    thread.start()
    time.sleep(before)
    took = stack.outage(seconds) if seconds else 0.0
    time.sleep(after)
    with open(stop_file, 'w'):
        pass
    thread.join(30)
    if hasattr(stack, 'after'):
        stack.after()
    out = box['out']
    # CPU of this process (the probe's threads; the injection mostly sleeps) per second of wall time.
    out['cpu_share'] = round((time.process_time() - cpu) / (time.monotonic() - wall), 3)
    return out, _probe.verdict(out, params), took
