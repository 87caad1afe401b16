"""The hand-written strategies the collection is measured against.

- naive-recreate: what community.docker's docker_container does on an image change — the old
  container goes first (`docker rm -f`), then the new one is started on the same port. Requests
  fail until the new app listens; requests in flight are cut.
- reuseport-sigquit: the seeds' recipe — two containers on the host network bind the same port
  with SO_REUSEPORT; start the new one, wait until it answers, then SIGQUIT the old one so it
  stops accepting and finishes what it has. Run with net.ipv4.tcp_migrate_req off (connections
  still queued on the old listener are reset when it closes) and on (the kernel hands them to
  the new listener).

Each swap ends when the new version answers and (reuseport) the old container has exited.
"""

from zdtbench import docker_cli, probe, sysctl
from zdtbench.strategy import Strategy
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
        docker_cli.run_app(self.container, env.images[first.old_version], env.port)
        probe.wait_for_version(env.url, first.old_version, READY_TIMEOUT)

    def swap(self, spec):
        clock = PhaseClock()
        with clock.phase('remove old'):
            docker_cli.remove(self.container)
        with clock.phase('start new'):
            docker_cli.run_app(self.container, spec.image, self.env.port)
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
        docker_cli.run_app(self.active, env.images[first.old_version], env.port, reuseport=True)
        probe.wait_for_version(env.url, first.old_version, READY_TIMEOUT)

    def swap(self, spec):
        old = self.active
        new = self._slot('b' if old.endswith('-a') else 'a')
        clock = PhaseClock()
        with clock.phase('start new'):
            docker_cli.run_app(new, spec.image, self.env.port, reuseport=True)
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


def all_baselines():
    return [NaiveRecreate(), ReuseportSignal(migrate_req=False), ReuseportSignal(migrate_req=True)]
