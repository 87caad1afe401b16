# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services the fault scenarios deploy, each with the playbook variables an operator would
give, the URL users reach it on, and what 'converged' means for it (containers and balancer).

- ReuseportService: blue_green, strategy reuseport - both slots share one port, no balancer.
- HaproxyBlueGreen: blue_green, strategy haproxy - one port per slot behind an HAProxy front.
- RollingBackends:  rolling_restart over three inventory hosts (local connection), one app
  container each (container_hotswap, reuseport on the backend's port), HAProxy servers b1..b3.
"""

import sys

from harness import convergence
from harness.fronts import HaproxyFront
from harness.playbook import PlaybookRun

VERSIONS = ('v1', 'v2')
RUN_TIMEOUT = 240


def other(version):
    return VERSIONS[1] if version == VERSIONS[0] else VERSIONS[0]


# The test image checks /health every 1 s with a 1 s timeout and 2 retries; on a loaded two-core
# machine that check times out now and then, a candidate turns 'unhealthy' for a moment, and
# promote (rightly) refuses it - a rollback, covered by test_rollback_paths, not what a kill
# point measures. Same interval, more patience.
HEALTHCHECK = {'timeout': '5s', 'retries': 3}


# The X-App-Version of the test images whose tag is not their version (tests/images/README.md).
HEADER_VERSION = {'never-ready': 'never', 'slow-start': 'v2s', 'crash-after-ready': 'v2c'}


def version_check(url, version):
    """Readiness on a shared port: only the new version's answer counts."""
    return {'type': 'http', 'url': url, 'response_headers': {'X-App-Version': HEADER_VERSION.get(version, version)}}


def blue_green(service, version, strategy, **variables):
    """The blue_green role's variables for deploying ``version`` of ``service``."""
    variables.update(blue_green_service=service.name, blue_green_image=convergence.APP_IMAGE % version,
                     blue_green_strategy=strategy)
    return variables


class Service(object):
    """Base: subclasses give ``playbook`` and ``variables(version)``, and where they differ
    ``inventory()`` (one local Docker host), ``services()`` (their container_hotswap services),
    ``balancer_problems(version)`` and ``reset_balancer()``."""

    playbook = None

    def __init__(self, docker, name, workdir):
        self.docker = docker
        self.name = name
        self.workdir = workdir
        self.runs = 0
        self.version = None

    # -- deploys
    def run(self, label, version, hold_at=None, vary=None):
        """A PlaybookRun (not started) that deploys ``version``; ``vary(service, variables)``
        changes the variables in place (a scenario's own settings)."""
        self.runs += 1
        extra = self.variables(version)
        if vary is not None:
            vary(self, extra)
        return PlaybookRun(self.workdir, '%02d-%s' % (self.runs, label), self.playbook, self.inventory(),
                           extra, hold_at=hold_at)

    def deploy(self, version, label='deploy'):
        """A full deploy that must succeed (setup, and putting things right between scenarios)."""
        run = self.run(label, version)
        rc = run.run(RUN_TIMEOUT)
        assert rc == 0, '%s: deploying %s failed (rc %s): %s' % (self.name, version, rc, run.tail())
        self.version = version
        return run

    def ensure(self):
        """Start a scenario from a converged service. A scenario whose deploy did not converge
        leaves things behind; they must not leak into the next scenario. When the containers run
        one version, that version is adopted and a balancer left wrong is put right by the test
        itself (reset_balancer - not the code under test); otherwise the service is deployed."""
        for version in VERSIONS:
            if self.container_problems(version):
                continue
            self.version = version
            if self.balancer_problems(version):
                self.reset_balancer()
            if not self.problems(version):
                return
        self.deploy(self.version or VERSIONS[0], 'repair')

    def inventory(self):
        """One Docker host, this machine (local connection)."""
        return {'all': {'hosts': {'docker_host': {'ansible_connection': 'local',
                                                  'ansible_python_interpreter': sys.executable}}}}

    # -- the truth
    def services(self):
        """The container_hotswap service names this environment deploys."""
        return [self.name]

    def container_problems(self, version):
        found = []
        for service in self.services():
            found += convergence.container_problems(self.docker, service, version)
        return found

    def problems(self, version):
        return self.container_problems(version) + self.balancer_problems(version)

    def balancer_problems(self, version):
        return []

    def reset_balancer(self):
        """Every member back in rotation at its configured weight (only for scenarios' leftovers)."""

    def state(self):
        """Containers (and balancer members) now - what the report shows for a kill point."""
        return '; '.join(convergence.describe(self.docker, s) for s in self.services())

    def remove(self):
        for service in self.services():
            for seen in convergence.service_containers(self.docker, service).values():
                convergence.remove(self.docker, seen.id)


class ReuseportService(Service):
    playbook = 'zerodowntime.deploy.blue_green'

    def __init__(self, docker, name, workdir, port, watch=0):
        super(ReuseportService, self).__init__(docker, name, workdir)
        self.port = port
        self.url = 'http://127.0.0.1:%d/' % port
        self.watch = watch

    def variables(self, version):
        return blue_green(self, version, 'reuseport', blue_green_watch=self.watch,
                          blue_green_container={'env': {'APP_PORT': str(self.port), 'APP_REUSEPORT': '1'},
                                                'healthcheck': HEALTHCHECK},
                          blue_green_readiness={'checks': [version_check(self.url, version)], 'timeout': 30,
                                                'interval': 0.1})


class FrontedService(Service):
    """A service behind an HAProxy front whose backend 'app' has ``members`` ({server: port});
    ``front``: (container name, port). Users reach the front."""

    def __init__(self, docker, name, workdir, front, members, variant=None):
        super(FrontedService, self).__init__(docker, name, workdir)
        self.front = self.make_front(front, members, workdir, variant)
        self.url = self.front.url

    def make_front(self, front, members, workdir, variant):
        """The front users reach (an HAProxy one here; test_balancer_reloads has others)."""
        return HaproxyFront(self.docker, front[0], front[1], {'app': members}, workdir,
                            **({'variant': variant} if variant else {}))

    def state(self):
        servers = self.front.servers()
        return '%s; haproxy %s' % (super(FrontedService, self).state(), ', '.join(
            '%s %s/%d' % (name, s['state'], s['weight']) for name, s in sorted(servers.items())))


class HaproxyBlueGreen(FrontedService):
    playbook = 'zerodowntime.deploy.blue_green'

    def __init__(self, docker, name, workdir, front, slot_ports, variant=None):
        super(HaproxyBlueGreen, self).__init__(docker, name, workdir, front, slot_ports, variant)
        self.slot_ports = slot_ports

    def variables(self, version):
        return blue_green(
            self, version, 'haproxy', blue_green_drain_timeout=30,
            blue_green_container={'network_mode': 'host', 'healthcheck': HEALTHCHECK, 'slots': dict(
                (slot, {'env': {'APP_PORT': str(port)}}) for slot, port in self.slot_ports.items())},
            blue_green_readiness={'checks': [{'type': 'http', 'url': 'http://127.0.0.1:${APP_PORT}/health'}],
                                  'timeout': 30, 'interval': 0.2},
            blue_green_balancers=[{'backend': 'app', 'members': {'blue': 'blue', 'green': 'green'},
                                   'connection': {'haproxy_socket': self.front.socket}}])

    def active_slot(self):
        containers = convergence.service_containers(self.docker, self.name)
        active = containers.get(self.name)
        return active.labels.get('zerodowntime.slot') if active is not None else None

    def slot_url(self, slot):
        return 'http://127.0.0.1:%d/' % self.slot_ports[slot]

    def balancer_problems(self, version):
        slot = self.active_slot()
        if slot is None:
            return []
        servers = self.front.servers()
        want = {slot: 'enabled', other_slot(slot): 'drained'}
        found = ['HAProxy %s is %s, not %s' % (name, servers[name]['state'], state)
                 for name, state in sorted(want.items()) if servers[name]['state'] != state]
        if not servers[slot]['up']:
            found.append('HAProxy %s (active slot) is not UP' % slot)
        return found


def other_slot(slot):
    return 'green' if slot == 'blue' else 'blue'


class RollingBackends(FrontedService):
    playbook = 'zerodowntime.deploy.rolling_restart'

    def __init__(self, docker, name, workdir, front, backend_ports):
        super(RollingBackends, self).__init__(docker, name, workdir, front, backend_ports)
        self.backend_ports = backend_ports

    def services(self):
        return ['%s-%s' % (self.name, host) for host in sorted(self.backend_ports)]

    def inventory(self):
        hosts = dict((host, {'app_port': port}) for host, port in self.backend_ports.items())
        return {'backends': {'hosts': hosts, 'vars': {'ansible_connection': 'local',
                                                      'ansible_python_interpreter': sys.executable}}}

    def variables(self, version):
        url = 'http://127.0.0.1:{{ app_port }}/'
        return {
            'rolling_restart_container': {
                'name': self.name + '-{{ inventory_hostname }}',
                'image': convergence.APP_IMAGE % version,
                'strategy': 'reuseport',
                'env': {'APP_PORT': '{{ app_port }}', 'APP_REUSEPORT': '1'},
                'healthcheck': HEALTHCHECK,
                'readiness': {'checks': [version_check(url, version)], 'timeout': 30, 'interval': 0.1},
            },
            'rolling_restart_balancers': [{'balancer': 'haproxy', 'backend': 'app',
                                           'connection': {'haproxy_socket': self.front.socket}}],
            'rolling_restart_checks': [{'type': 'http', 'url': url + 'health'}],
            'rolling_restart_ready_timeout': 30,
            'rolling_restart_drain_timeout': 30,
            'rolling_restart_ramp': {'steps': [50, 100], 'pause': 1.5},
        }

    def reset_balancer(self):
        for name, server in self.front.servers().items():
            self.front.command('set weight app/%s %d' % (name, server['initial_weight']))
            self.front.command('set server app/%s state ready' % name)

    def balancer_problems(self, version):
        found = []
        for name, server in sorted(self.front.servers().items()):
            if server['state'] != 'enabled':
                found.append('HAProxy %s is %s, not enabled' % (name, server['state']))
            if server['weight'] != server['initial_weight']:
                found.append('HAProxy %s has weight %d, not %d' % (name, server['weight'], server['initial_weight']))
            if not server['up']:
                found.append('HAProxy %s is not UP' % name)
        return found
