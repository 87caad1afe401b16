# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Every low-level Docker engine call of the collection, behind one small surface (the unit tests
replace it with a fake engine): container_hotswap's steps, its deploy lock (_lock) and the
readiness checks (_readiness). The hotswap steps' errors surface as EngineError with the
engine's own words; the calls for the lock and the readiness checks let the SDK's exception
through unchanged, since those callers read its HTTP status (_docker.status_code) and word
their own messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import status_code


class EngineError(Exception):
    """The engine refused or failed a call; the message carries its explanation."""


class ImageError(EngineError):
    """The image cannot be had (absent and not pullable)."""


def _explain(exc):
    text = getattr(exc, 'explanation', None)
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    return (text or str(exc)).strip()


class DockerEngine(object):
    """``client``: a docker.DockerClient (the low-level APIClient is ``client.api``)."""

    def __init__(self, client, clock=time.monotonic):
        self.client = client
        self.api = client.api
        self.clock = clock

    @classmethod
    def of(cls, docker):
        """``docker`` itself when it is a DockerEngine already, else a DockerEngine on that client."""
        return docker if isinstance(docker, cls) else cls(docker)

    # ------------------------------------------- raw calls: the SDK's own exceptions pass through
    def inspect_raw(self, ref):
        """Inspect dict of a container; raises what the SDK raises (404: no such container)."""
        return self.api.inspect_container(ref)

    def log_text(self, ref, tail):
        """The last ``tail`` lines of a container's stdout and stderr, as text."""
        raw = self.api.logs(ref, stdout=True, stderr=True, tail=tail)
        if isinstance(raw, bytes):
            raw = raw.decode('utf-8', 'replace')
        return raw

    def events(self, filters):
        """The engine's event stream (decoded dicts) under ``filters``; ``close()`` ends it."""
        return self.api.events(decode=True, filters=filters)

    def create_lock_container(self, image, name, labels):
        """Create (never start) the deploy lock container, no network; returns its ID. A name
        already taken raises the engine's 409 conflict."""
        host_config = self.api.create_host_config(network_mode='none')
        result = self.api.create_container(image, command=['zerodowntime-lock'], name=name,
                                           labels=labels, host_config=host_config,
                                           network_disabled=True)
        return result['Id']

    def remove_lock_container(self, ref):
        """Remove the lock container ``ref`` (by ID); one already gone is no error."""
        try:
            self.api.remove_container(ref, v=False, force=True)
        except Exception as exc:
            if status_code(exc) != 404:
                raise

    # ---------------------------------------------------------------- reading
    def inspect(self, ref):
        """Inspect dict of a container, or None when it does not exist."""
        try:
            return self.inspect_raw(ref)
        except Exception as exc:
            if status_code(exc) == 404:
                return None
            raise EngineError('inspect container %s: %s' % (ref, _explain(exc)))

    def service_infos(self, service):
        """Inspect dicts of the containers labelled for ``service`` and of those holding its names."""
        try:
            listed = self.api.containers(all=True, filters={'label': '%s=%s' % (hs.LABEL_SERVICE, service)})
        except Exception as exc:
            raise EngineError('list containers of service %s: %s' % (service, _explain(exc)))
        refs = [c['Id'] for c in listed] + [hs.container_name(service, role) for role in hs.ROLES]
        infos = []
        seen = set()
        for ref in refs:
            info = self.inspect(ref)
            if info is not None and info['Id'] not in seen:
                seen.add(info['Id'])
                infos.append(info)
        return infos

    def image_id(self, ref):
        try:
            return self.api.inspect_image(ref)['Id']
        except Exception as exc:
            if status_code(exc) == 404:
                return None
            raise EngineError('inspect image %s: %s' % (ref, _explain(exc)))

    def resolve_image(self, ref, pull, check_mode=False):
        """(image ID, pulled) of ``ref`` under the pull policy. Raises ImageError. In check mode
        nothing is pulled: (the ID on the engine or None, whether a real run would pull)."""
        if check_mode:
            image_id = self.image_id(ref)
            if image_id is None and pull == 'never':
                raise ImageError('image %s is not present on the engine and pull=never' % ref)
            return image_id, pull == 'always' or image_id is None
        pulled = False
        if pull == 'always':
            self.pull(ref)
            pulled = True
        image_id = self.image_id(ref)
        if image_id is None and pull == 'missing':
            self.pull(ref)
            pulled = True
            image_id = self.image_id(ref)
        if image_id is None:
            raise ImageError('image %s is not present on the engine%s' % (
                ref, ' and pull=never' if pull == 'never' else ' after a pull that reported success'))
        return image_id, pulled

    def pull(self, ref):
        from docker.utils import parse_repository_tag
        repository, tag = parse_repository_tag(ref)
        try:
            self.api.pull(repository, tag=tag or 'latest')
        except Exception as exc:
            raise ImageError('image %s is not present on the engine and pulling it failed: %s'
                             % (ref, _explain(exc)))

    def network_exists(self, name):
        try:
            self.api.inspect_network(name)
            return True
        except Exception as exc:
            if status_code(exc) == 404:
                return False
            raise EngineError('inspect network %s: %s' % (name, _explain(exc)))

    def port_users(self, host_port, proto, exclude_ids):
        """Names of running containers (other than ``exclude_ids``) publishing a host port."""
        try:
            listed = self.api.containers(filters={'publish': '%d/%s' % (host_port, proto)})
        except Exception as exc:
            raise EngineError('list containers publishing port %d: %s' % (host_port, _explain(exc)))
        return sorted(c['Names'][0].lstrip('/') for c in listed if c['Id'] not in exclude_ids)

    @staticmethod
    def port_free_here(ip, port, proto):
        """None when ``ip:port`` can be bound on this host, else the error text (local engines)."""
        kind = socket.SOCK_DGRAM if proto == 'udp' else socket.SOCK_STREAM
        family = socket.AF_INET6 if ':' in ip else socket.AF_INET
        sock = socket.socket(family, kind)
        try:
            sock.bind((ip, port))
            return None
        except (OSError, socket.error) as exc:
            if getattr(exc, 'errno', None) == errno.EADDRINUSE:
                return 'address already in use'
            return str(exc)
        finally:
            sock.close()

    def engine_time(self):
        """The engine's clock (``docker info`` SystemTime, RFC 3339); raises what the SDK raises."""
        return self.api.info()['SystemTime']

    def logs(self, ref, tail=20):
        try:
            raw = self.log_text(ref, tail)
        except Exception as exc:
            return ['(logs unavailable: %s)' % _explain(exc)]
        return [line[:300] for line in raw.splitlines()[-tail:]]

    # ---------------------------------------------------------------- changing
    def create(self, kwargs, extra_networks):
        """Create a container (and connect its further networks); returns its ID. A container
        that cannot be completed is removed again."""
        try:
            container_id = self.api.create_container(**kwargs)['Id']
        except Exception as exc:
            raise EngineError('create container %s: %s' % (kwargs.get('name'), _explain(exc)))
        for network, aliases in extra_networks:
            try:
                self.api.connect_container_to_network(container_id, network, aliases=aliases or None)
            except Exception as exc:
                self.remove(container_id)
                raise EngineError('connect %s to network %s: %s' % (kwargs.get('name'), network, _explain(exc)))
        return container_id

    def start(self, ref):
        try:
            self.api.start(ref)
        except Exception as exc:
            raise EngineError('start %s: %s' % (ref, _explain(exc)))

    def rename(self, ref, name):
        try:
            self.api.rename(ref, name)
        except Exception as exc:
            raise EngineError('rename %s to %s: %s' % (ref, name, _explain(exc)))

    def stop(self, ref, timeout):
        """Graceful stop: the container's stop signal, up to ``timeout`` seconds, then SIGKILL
        (the engine does both). Returns what happened."""
        start = self.clock()
        try:
            self.api.stop(ref, timeout=timeout)
        except Exception as exc:
            if status_code(exc) != 304:   # already stopped
                raise EngineError('stop %s: %s' % (ref, _explain(exc)))
        elapsed = round(self.clock() - start, 3)
        info = self.inspect(ref) or {}
        state = info.get('State') or {}
        signal = (info.get('Config') or {}).get('StopSignal') or 'SIGTERM'
        code = state.get('ExitCode')
        forced = code == 137 and signal not in ('SIGKILL', 'KILL', '9') and elapsed >= timeout
        return dict(signal=signal, timeout=timeout, elapsed=elapsed, exit_code=code, forced=forced)

    def remove(self, ref):
        try:
            self.api.remove_container(ref, v=True, force=True)
        except Exception as exc:
            if status_code(exc) != 404:
                raise EngineError('remove %s: %s' % (ref, _explain(exc)))
