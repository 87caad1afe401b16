# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The services of one test module: made on first use (front started, first version deployed),
each on its own ports and names, and removed with everything they started."""

from harness.services import VERSIONS, HaproxyBlueGreen, ReuseportService, RollingBackends


# Ports of a pool, relative to its base: every test module gets a block of ten of its own.
# 'watched': reuseport with a watch window (stage, watch, promote). 'forgiving': blue_green with
# HAProxy like 'haproxy', behind the forgiving front (retries, redispatch) whatever
# ZDT_FAULT_FRONT says - for the cases whose documented promise needs it; only
# test_rollback_paths (base 18720) has one, on 18742-18744, a block no module uses. Names must
# not be prefixes of each other: a service's containers are found by name.
OFFSETS = {'reuseport': 0, 'watched': 1, 'haproxy': 2, 'rolling': 5, 'forgiving': 22}
WATCH = 3


def build(kind, docker, tag, workdir, base):
    """The service ``kind`` named zdt-fault-<tag>-<kind>; its front (if any) zdt-fault-<tag>-front-<kind>,
    a name that no service name is a prefix of."""
    name = 'zdt-fault-%s-%s' % (tag, kind)
    port = base + OFFSETS[kind]
    front = ('zdt-fault-%s-front-%s' % (tag, kind), port)
    if kind == 'reuseport':
        return ReuseportService(docker, name, workdir, port)
    if kind == 'watched':
        return ReuseportService(docker, name, workdir, port, watch=WATCH)
    if kind == 'haproxy':
        return HaproxyBlueGreen(docker, name, workdir, front, {'blue': port + 1, 'green': port + 2})
    if kind == 'forgiving':
        return HaproxyBlueGreen(docker, name, workdir, front, {'blue': port + 1, 'green': port + 2}, 'forgiving')
    return RollingBackends(docker, name, workdir, front, {'b1': port + 1, 'b2': port + 2, 'b3': port + 3})


class ServicePool(object):
    """The services of one test module, made on first use - front started, first version
    deployed - and removed with everything they started by close()."""

    def __init__(self, docker, workdir, base, tag):
        self.docker = docker
        self.workdir = workdir
        self.base = base
        self.tag = tag
        self.made = {}

    def get(self, kind):
        if kind not in self.made:
            workdir = self.workdir / kind
            workdir.mkdir()
            service = build(kind, self.docker, self.tag, workdir, self.base)
            self.made[kind] = service
            front = getattr(service, 'front', None)
            if front is not None:
                front.start()
            service.deploy(VERSIONS[0], 'first')
        return self.made[kind]

    def close(self):
        for service in self.made.values():
            service.remove()
            front = getattr(service, 'front', None)
            if front is not None:
                front.remove()
