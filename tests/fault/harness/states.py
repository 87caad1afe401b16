# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""States inside a task that a kill point waits for, read from the engine and the balancer.
Each returns a short description of what it saw, or None while the state is not there."""

from harness import convergence


def _container(service, suffix):
    containers = convergence.service_containers(service.docker, service.name)
    return containers.get(service.name + suffix)


def candidate_running(service):
    candidate = _container(service, '-candidate')
    if candidate is not None and candidate.status == 'running':
        return 'candidate running, readiness not passed yet'
    return None


def old_container_retiring(service):
    """The old container got its stop signal and drains (the test app logs 'signal=' then) - not
    just renamed: between the rename and the stop a kill leaves it serving, another state."""
    previous = _container(service, '-previous')
    if previous is None or previous.status != 'running':
        return None
    logs = service.docker.api.logs(previous.id, tail=5).decode('utf-8', 'replace')
    if 'signal=' in logs:
        return 'renamed to -previous, got its stop signal, draining a request'
    return None


def active_member_draining(service):
    """HAProxy: the cutover is done (candidate in) and the old slot drains its requests."""
    slot = service.active_slot()
    servers = service.front.servers()
    if slot is not None and servers[slot]['state'] == 'drained' and servers[slot]['weight'] > 0:
        return '%s drained with a request in flight, candidate enabled' % slot
    return None


def backend(host, reached):
    """``reached`` applied to one backend of a RollingBackends (its own service name)."""
    def check(service):
        return reached(_Backend(service, host))
    return check


def ramping(host):
    """rolling_restart: the backend is back in rotation, its weight still below the final one."""
    def check(service):
        server = service.front.servers()[host]
        if server['state'] == 'enabled' and server['weight'] < server['initial_weight']:
            return '%s enabled at weight %d of %d' % (host, server['weight'], server['initial_weight'])
        return None
    return check


class _Backend(object):
    """One backend of RollingBackends, seen as a service of its own."""

    def __init__(self, service, host):
        self.docker = service.docker
        self.name = '%s-%s' % (service.name, host)
