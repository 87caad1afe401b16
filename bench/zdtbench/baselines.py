"""The hand-written strategies the collection is measured against.

- naive-recreate: what community.docker's docker_container does on an image change — the old
  container goes first (`docker rm -f`), then the new one is started on the same port. Requests
  fail until the new app listens; requests in flight are cut.
- reuseport-sigquit: the seeds' recipe — two containers on the host network bind the same port
  with SO_REUSEPORT; start the new one, wait until it answers, then SIGQUIT the old one so it
  stops accepting and finishes what it has. Run with net.ipv4.tcp_migrate_req off (connections
  still queued on the old listener are reset when it closes) and on (the kernel hands them to
  the new listener).

- haproxy-runtime-api: blue/green behind HAProxy by hand — start the new version on the idle
  slot's port, wait until it answers there, then through the runtime API put the new server in
  service and the old one in drain, wait until the old server has no session left, SIGQUIT it.
  The hand script of blue_green with the haproxy traffic strategy.

Each swap ends when the new version answers and (reuseport, haproxy) the old container has exited.
"""

import socket
import time

from zdtbench import docker_cli, probe, sysctl
from zdtbench.strategy import Strategy, StrategyError
from zdtbench.swaps import PhaseClock

READY_TIMEOUT = 30.0
DRAIN_TIMEOUT = 40.0        # the app's own drain limit is 30 s


class NaiveRecreate(Strategy):
    description = 'docker rm -f old, then docker run new on the same port (docker_container recreate)'

    def __init__(self, name='naive-recreate'):
        super(NaiveRecreate, self).__init__(name)
        self.env = None
        self.container = None

    def setup(self, env):
        self.env = env
        self.container = env.prefix + self.name
        docker_cli.remove(self.container)
        first = env.swap_specs(1)[0]
        docker_cli.run_app(self.container, env.images[first.old_version], env.port, extra=env.app_args)
        probe.wait_for_version(env.url, first.old_version, READY_TIMEOUT)

    def swap(self, spec):
        clock = PhaseClock()
        with clock.phase('remove old'):
            docker_cli.remove(self.container)
        with clock.phase('start new'):
            docker_cli.run_app(self.container, spec.image, self.env.port, extra=self.env.app_args)
        with clock.phase('wait until new answers'):
            probe.wait_for_version(self.env.url, spec.new_version, READY_TIMEOUT)
        return clock.swap(spec.index, spec.old_version, spec.new_version)

    def teardown(self):
        docker_cli.remove(self.container)


class ReuseportSignal(Strategy):
    """Two slots (…-a, …-b) sharing the port; ``migrate_req``: the tcp_migrate_req value used."""

    def __init__(self, migrate_req, signal='SIGQUIT'):
        super(ReuseportSignal, self).__init__(
            'reuseport-%s-migrate-%s' % (signal.lower(), 'on' if migrate_req else 'off'))
        self.migrate_req = migrate_req
        self.signal = signal
        self.description = ('two containers share the port (SO_REUSEPORT); start new, wait until '
                            'it answers, %s old; tcp_migrate_req=%d' % (signal, migrate_req))
        self.env = None
        self.active = None
        self.overridden = []        # swaps before which another process had changed the sysctl

    def pending_reason(self):
        if not sysctl.available():
            return 'this kernel has no net.ipv4.tcp_migrate_req (Linux >= 5.14)'
        return None

    def session(self):
        return sysctl.temporarily(int(self.migrate_req))

    def _slot(self, letter):
        return '%s%s-%s' % (self.env.prefix, self.name, letter)

    def setup(self, env):
        self.env = env
        for letter in 'ab':
            docker_cli.remove(self._slot(letter))
        first = env.swap_specs(1)[0]
        self.active = self._slot('a')
        docker_cli.run_app(self.active, env.images[first.old_version], env.port, reuseport=True, extra=env.app_args)
        probe.wait_for_version(env.url, first.old_version, READY_TIMEOUT)

    def swap(self, spec):
        old = self.active
        new = self._slot('b' if old.endswith('-a') else 'a')
        clock = PhaseClock()
        with clock.phase('start new'):
            docker_cli.run_app(new, spec.image, self.env.port, reuseport=True, extra=self.env.app_args)
        with clock.phase('wait until new answers'):
            probe.wait_for_version(self.env.url, spec.new_version, READY_TIMEOUT)
        with clock.phase('%s old, wait for exit' % self.signal):
            self._enforce_migrate_req(spec.index)
            docker_cli.send_signal(old, self.signal)
            docker_cli.wait_exit(old, DRAIN_TIMEOUT)
        docker_cli.remove(old)
        self.active = new
        return clock.swap(spec.index, spec.old_version, spec.new_version)

    def _enforce_migrate_req(self, index):
        """The sysctl is the host's: make sure it still has our value when the old one closes."""
        if sysctl.enforce(int(self.migrate_req)) is not None:
            self.overridden.append(index)

    def take_notes(self):
        if self.overridden:
            self.notes.append('another process had changed tcp_migrate_req before %d of the swaps (%s); '
                              'it was set back to %d right before each %s'
                              % (len(self.overridden), ', '.join(map(str, self.overridden)), self.migrate_req,
                                 self.signal))
            self.overridden = []
        return super(ReuseportSignal, self).take_notes()

    def teardown(self):
        for letter in 'ab':
            docker_cli.remove(self._slot(letter))


def runtime_api(address, command, timeout=5.0):
    """One HAProxy runtime API command over its TCP stats socket (what `socat` would do); returns
    the answer. HAProxy closes the connection after answering one command."""
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(command.encode() + b'\n')
        chunks = []
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b''.join(chunks).decode(errors='replace')


def sessions(stat_csv, backend, server):
    """Current sessions (scur) of backend/server in a `show stat` answer; None when absent."""
    lines = stat_csv.splitlines()
    if not lines or not lines[0].startswith('# '):
        return None
    header = lines[0][2:].split(',')
    for line in lines[1:]:
        fields = line.split(',')
        if len(fields) == len(header):
            row = dict(zip(header, fields))
            if row['pxname'] == backend and row['svname'] == server:
                return int(row['scur'] or 0)
    return None


class HaproxyRuntimeApi(Strategy):
    """Slots blue / green on backend ports 0 and 1 behind an HAProxy front (zerodowntime-test/haproxy,
    its runtime API on backend port 2 over TCP)."""

    description = ('blue/green behind HAProxy by hand: start new on the idle slot, wait until it answers, '
                   'runtime API: new server ready, old drain, wait for 0 sessions, SIGQUIT old')
    SLOTS = ('blue', 'green')

    def __init__(self, name='haproxy-runtime-api'):
        super(HaproxyRuntimeApi, self).__init__(name)
        self.env = None
        self.active = 'blue'
        self.api = None

    def _container(self, slot):
        return '%s%s-%s' % (self.env.prefix, self.name, slot)

    def _port(self, slot):
        return self.env.backend_ports[self.SLOTS.index(slot)]

    def _api(self, command):
        answer = runtime_api(self.api, command)
        if command.startswith('set ') and answer.strip():
            raise StrategyError('%s: HAProxy runtime API refused %r: %s' % (self.name, command, answer.strip()))
        return answer

    def setup(self, env):
        self.env = env
        self.api = ('127.0.0.1', env.backend_ports[2])
        self.active = 'blue'
        self.teardown()
        first = env.swap_specs(1)[0]
        docker_cli.run_app(self._container('blue'), env.images[first.old_version], self._port('blue'),
                           extra=env.app_args)
        docker_cli.docker('run', '-d', '--name', self._container('haproxy'), '--network', 'host',
                          '-e', 'HAPROXY_BIND=127.0.0.1:%d' % env.port,
                          '-e', 'HAPROXY_BLUE=127.0.0.1:%d' % self._port('blue'),
                          '-e', 'HAPROXY_GREEN=127.0.0.1:%d' % self._port('green'),
                          '-e', 'HAPROXY_STATS_TCP=127.0.0.1:%d' % self.api[1], 'zerodowntime-test/haproxy')
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                self._api('set server app/green state maint')
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise StrategyError('%s: the HAProxy runtime API on %s:%d did not answer' % ((self.name,) + self.api))
                time.sleep(0.05)
        probe.wait_for_version(env.url, first.old_version, READY_TIMEOUT)

    def swap(self, spec):
        old, new = self.active, 'green' if self.active == 'blue' else 'blue'
        clock = PhaseClock()
        with clock.phase('start new on the idle slot'):
            docker_cli.run_app(self._container(new), spec.image, self._port(new), extra=self.env.app_args)
        with clock.phase('wait until new answers on its port'):
            probe.wait_for_version('http://127.0.0.1:%d/version' % self._port(new), spec.new_version, READY_TIMEOUT)
        with clock.phase('runtime API: new ready, old drain'):
            self._api('set server app/%s health up' % new)
            self._api('set server app/%s state ready' % new)
            self._api('set server app/%s state drain' % old)
        with clock.phase('wait for 0 sessions on old, SIGQUIT old, wait for exit'):
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while sessions(self._api('show stat'), 'app', old) and time.monotonic() < deadline:
                time.sleep(0.05)
            self._api('set server app/%s state maint' % old)
            docker_cli.send_signal(self._container(old), 'SIGQUIT')
            docker_cli.wait_exit(self._container(old), DRAIN_TIMEOUT)
        docker_cli.remove(self._container(old))
        self.active = new
        return clock.swap(spec.index, spec.old_version, spec.new_version)

    def teardown(self):
        for part in ('haproxy',) + self.SLOTS:
            docker_cli.remove(self._container(part))


def all_baselines():
    return [NaiveRecreate(), ReuseportSignal(migrate_req=False), ReuseportSignal(migrate_req=True),
            HaproxyRuntimeApi()]
