# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What 'converged' means for one service on the engine, read straight from Docker: exactly one
container, named like the service, running the desired image - no candidate, no previous, no
deploy lock, and nothing else labelled for the service.

Containers are read with one listing call of the engine API (the SDK's containers.list()
inspects each container afterwards, which fails when one is removed in between - and on a
shared engine containers come and go all the time)."""

import collections

from docker.errors import NotFound

APP_IMAGE = 'zerodowntime-test/app:%s'
SERVICE_LABEL = 'zerodowntime.service'
LOCK_LABEL = 'zerodowntime.lock'

# One container as the listing shows it. image: the image as asked for at creation.
Seen = collections.namedtuple('Seen', 'id name status image labels')


def listing(docker):
    """Every container on the engine, {name: Seen}, from one API call."""
    found = {}
    for raw in docker.api.containers(all=True):
        name = (raw.get('Names') or ['/'])[0].lstrip('/')
        found[name] = Seen(raw['Id'], name, raw.get('State'), raw.get('Image'), raw.get('Labels') or {})
    return found


def service_containers(docker, service):
    """Every container that belongs to ``service`` - by its names, its labels, its lock."""
    return dict((name, seen) for name, seen in listing(docker).items()
                if name == service or name.startswith(service + '-')
                or service in (seen.labels.get(SERVICE_LABEL), seen.labels.get(LOCK_LABEL)))


def describe(docker, service):
    """'name(status, image)' of every container of the service - the state at a kill point."""
    found = service_containers(docker, service)
    return ', '.join('%s(%s, %s)' % (name[len(service):] or 'active', seen.status, _short(seen.image))
                     for name, seen in sorted(found.items())) or 'none'


def _short(image):
    """'v1' for zerodowntime-test/app:v1; 12 hex digits for an image ID (the lock's)."""
    return image.split(':')[-1][:12]


def container_problems(docker, service, version):
    """[] when the service runs exactly one container of ``version``; else what is wrong."""
    found = service_containers(docker, service)
    problems = []
    active = found.pop(service, None)
    if active is None:
        problems.append('%s: no active container' % service)
    else:
        if active.status != 'running':
            problems.append('%s is %s' % (service, active.status))
        if active.image != APP_IMAGE % version:
            problems.append('%s runs %s, not %s' % (service, active.image, APP_IMAGE % version))
    for name, seen in sorted(found.items()):
        problems.append('left behind: %s (%s)' % (name, seen.status))
    return problems


def snapshot(docker, prefix):
    """(name, id, status) of every container whose name starts with ``prefix`` - 'nothing changed'
    compares two of these."""
    return sorted((name, seen.id, seen.status) for name, seen in listing(docker).items() if name.startswith(prefix))


def remove(docker, container_id):
    """Force-remove a container that may be gone already."""
    try:
        docker.api.remove_container(container_id, force=True)
    except NotFound:
        pass
