# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""An in-memory Docker engine for the container_hotswap unit tests: the low-level APIClient
calls the module makes, with names, labels, states and 404/409 errors like the real one.
Every call is recorded; ``MUTATING`` lists the ones that change something."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools

import docker
from docker.errors import APIError, NotFound

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness

MUTATING = ('create_container', 'start', 'stop', 'remove_container', 'rename',
            'connect_container_to_network', 'pull', 'kill')

# Image behaviour in the fake: how a container of it behaves when started.
NEVER_READY = 'sha256:never'
CRASHES = 'sha256:crash'


class Response(object):
    def __init__(self, status_code):
        self.status_code = status_code
        self.reason = 'fake'


def not_found(what):
    return NotFound('No such object: %s' % what, response=Response(404), explanation='No such object: %s' % what)


def conflict(what):
    return APIError('Conflict: %s' % what, response=Response(409),
                    explanation='Conflict. The container name "/%s" is already in use' % what)


class FakeAPI(object):
    def __init__(self, images=None, networks=('bridge', 'host', 'none'), pullable=(), system_time='2024-05-01T12:00:00.5Z'):
        self.images = dict(images or {})          # ref -> image id
        self.networks = set(networks)
        self.pullable = dict(pullable)            # ref -> image id it gets when pulled
        self.system_time = system_time
        self.created_time = '2024-05-01T12:00:00Z'
        self.store = {}                           # id -> inspect dict
        self.calls = []
        self.fail = {}                            # method -> exception raised once
        self._ids = itertools.count(1)
        self._helper = docker.APIClient(base_url='unix:///nonexistent.sock', version='1.41')

    # helpers of the real client (pure functions)
    def create_host_config(self, **kwargs):
        return self._helper.create_host_config(**kwargs)

    def create_networking_config(self, *args, **kwargs):
        return self._helper.create_networking_config(*args, **kwargs)

    def create_endpoint_config(self, *args, **kwargs):
        return self._helper.create_endpoint_config(*args, **kwargs)

    # ------------------------------------------------------------------ bookkeeping
    def _record(self, method, *args, **kwargs):
        self.calls.append((method, args, kwargs))
        if method in self.fail:
            raise self.fail.pop(method)

    def mutations(self):
        return [c for c in self.calls if c[0] in MUTATING]

    def _find(self, ref):
        if ref in self.store:
            return self.store[ref]
        for info in self.store.values():
            if info['Name'] == '/' + ref or info['Id'].startswith(ref):
                return info
        raise not_found(ref)

    def add(self, name, labels=None, image_id='sha256:v1', image='app:v1', status='running',
            health=None, stop_signal=None, stop_timeout=None, healthcheck=None):
        """Put a container straight into the store (a state found on the engine)."""
        container_id = '%064x' % next(self._ids)
        self.store[container_id] = dict(
            Id=container_id, Name='/' + name, Image=image_id, Created=self.created_time,
            Config=dict(Image=image, Labels=dict(labels or {}), StopSignal=stop_signal,
                        StopTimeout=stop_timeout, Healthcheck=healthcheck),
            HostConfig=dict(Sysctls=None),
            State=dict(Status=status, Running=status == 'running', ExitCode=0,
                       Health=dict(Status=health, Log=[]) if health else None))
        return container_id

    def by_name(self, name):
        for info in self.store.values():
            if info['Name'] == '/' + name:
                return info
        return None

    # ------------------------------------------------------------------ reading
    def containers(self, all=False, filters=None):
        self._record('containers', all=all, filters=filters)
        out = []
        for info in self.store.values():
            if not all and info['State']['Status'] != 'running':
                continue
            label = (filters or {}).get('label')
            if label:
                key, dummy, value = label.partition('=')
                if info['Config']['Labels'].get(key) != value:
                    continue
            if (filters or {}).get('publish'):
                continue                           # the fake publishes nothing
            out.append(dict(Id=info['Id'], Names=[info['Name']], Labels=info['Config']['Labels']))
        return out

    def inspect_container(self, ref):
        self._record('inspect_container', ref)
        return self._find(ref)

    def inspect_image(self, ref):
        self._record('inspect_image', ref)
        if ref in self.images:
            return dict(Id=self.images[ref])
        raise not_found(ref)

    def inspect_network(self, name):
        self._record('inspect_network', name)
        if name in self.networks:
            return dict(Name=name)
        raise not_found(name)

    def info(self):
        self._record('info')
        return dict(SystemTime=self.system_time)

    def logs(self, ref, stdout=True, stderr=True, tail=10):
        self._record('logs', ref)
        info = self._find(ref)
        return ('app: started %s\napp: exiting\n' % info['Name']).encode()

    # ------------------------------------------------------------------ changing
    def pull(self, repository, tag=None):
        self._record('pull', repository, tag=tag)
        ref = '%s:%s' % (repository, tag) if tag else repository
        if ref not in self.pullable:
            raise APIError('pull access denied for %s' % repository, response=Response(404),
                           explanation='pull access denied for %s, repository does not exist' % repository)
        self.images[ref] = self.pullable[ref]

    def create_container(self, image, name=None, command=None, labels=None, host_config=None,
                         healthcheck=None, stop_signal=None, stop_timeout=None, **kwargs):
        self._record('create_container', image, name=name, command=command, labels=labels,
                     host_config=host_config, healthcheck=healthcheck, stop_signal=stop_signal,
                     stop_timeout=stop_timeout, **kwargs)
        if name and self.by_name(name) is not None:
            raise conflict(name)
        if image not in self.images and image not in self.images.values():
            raise not_found(image)
        image_id = self.images.get(image, image)
        container_id = self.add(name, labels=labels, image_id=image_id, image=image, status='created',
                                stop_signal=stop_signal, stop_timeout=stop_timeout, healthcheck=healthcheck)
        return dict(Id=container_id)

    def connect_container_to_network(self, container, net_id, aliases=None):
        self._record('connect_container_to_network', container, net_id, aliases=aliases)
        if net_id not in self.networks:
            raise not_found(net_id)

    def start(self, ref):
        self._record('start', ref)
        info = self._find(ref)
        if info['Image'] == CRASHES:
            info['State'].update(Status='exited', Running=False, ExitCode=1)
        else:
            info['State'].update(Status='running', Running=True, ExitCode=0)

    def stop(self, ref, timeout=None):
        self._record('stop', ref, timeout=timeout)
        info = self._find(ref)
        info['State'].update(Status='exited', Running=False, ExitCode=0)

    def remove_container(self, ref, v=False, force=False):
        self._record('remove_container', ref, v=v, force=force)
        info = self._find(ref)
        del self.store[info['Id']]

    def rename(self, ref, name):
        self._record('rename', ref, name)
        info = self._find(ref)
        if self.by_name(name) is not None:
            raise conflict(name)
        info['Name'] = '/' + name


class FakeClient(object):
    """What docker.DockerClient offers the module: ``.api``."""

    def __init__(self, api):
        self.api = api


def fake_wait_ready(api):
    """A wait_until_ready() stand-in: ready when the waited-for container runs an image that
    becomes ready; never sleeps."""
    def wait(checks, timeout, interval, success_threshold, initial_delay=0, docker=None, clock=None,
             sleep=None, option_prefix=''):
        wait.calls.append(checks)
        name = checks[0]['container']
        try:
            info = api._find(name)
        except NotFound:
            return _readiness.ReadinessResult(False, 0.0, 1, [], 'container %s was removed' % name, True)
        state = info['State']['Status']
        if state != 'running':
            return _readiness.ReadinessResult(False, 0.1, 1, [], 'container %s is %s (exit code 1)'
                                              % (name, state), True)
        if info['Image'] == NEVER_READY:
            return _readiness.ReadinessResult(False, timeout, 5, [], 'Not ready after %gs: status 503' % timeout)
        return _readiness.ReadinessResult(True, 0.2, 2, [], 'Ready after 0.2s (2 attempts).')
    wait.calls = []
    return wait


def service_labels(service, slot, config_hash):
    return {hs.LABEL_SERVICE: service, hs.LABEL_SLOT: slot, hs.LABEL_HASH: config_hash}
