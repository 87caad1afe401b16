# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""One way to reach the Docker engine: the connection options shared by every module, and a
client built from them that fails with a clear message instead of a traceback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import docker
    from docker.errors import DockerException
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where the SDK is missing
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):
        pass


DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'

# Matches plugins/doc_fragments/docker.py; both change together.
DOCKER_CONNECTION_ARGS = dict(
    docker_host=dict(type='str', default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ['DOCKER_HOST'])),
    docker_tls=dict(type='bool', default=False),
    docker_validate_certs=dict(type='bool', default=True),
    docker_ca_path=dict(type='path'),
    docker_client_cert=dict(type='path'),
    docker_client_key=dict(type='path', no_log=False),
    docker_timeout=dict(type='int', default=60),
    docker_api_version=dict(type='str', default='auto'),
)

DOCKER_CONNECTION_REQUIRED_TOGETHER = [('docker_client_cert', 'docker_client_key')]


class DockerConnectionError(Exception):
    """The engine could not be reached or refused the connection settings."""


def _tls_wanted(params):
    return bool(params['docker_tls'] or params.get('docker_client_cert') or params.get('docker_ca_path'))


def plaintext_tcp_warning(params):
    """The warning for an engine reached over TCP without TLS (None otherwise): the Docker API
    is root on that host for anyone who can reach the port, and nothing is encrypted."""
    host = params['docker_host'] or ''
    if not host.lower().startswith(('tcp://', 'http://')) or _tls_wanted(params):
        return None
    return ('docker_host %s is reached over TCP without TLS: the Docker API gives root on that host '
            'to anyone who can reach the port, and what is sent (environment values included) is '
            'not encrypted. Use docker_tls with docker_ca_path and docker_client_cert/docker_client_key '
            '(dockerd --tlsverify), or the engine\'s unix socket on that host.' % host)


if HAS_DOCKER:
    class TLSAPIClient(docker.APIClient):
        """requests replaces a request's unset verify with REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from
        the environment before it merges the session's, so docker_ca_path (or
        docker_validate_certs=false) would lose to them: the session's TLS settings win here."""

        def merge_environment_settings(self, url, proxies, stream, verify, cert):
            settings = super(TLSAPIClient, self).merge_environment_settings(url, proxies, stream, verify, cert)
            if verify is None:
                settings['verify'] = self.verify
            return settings


def docker_client(params):
    """Return a connected docker.DockerClient built from the common connection options.

    Raises DockerConnectionError with a message that names the engine address and the cause.
    """
    host = params['docker_host']
    try:
        options = dict(base_url=host, version=params['docker_api_version'], timeout=params['docker_timeout'])
        if _tls_wanted(params):
            tls = docker.tls.TLSConfig(
                client_cert=(params['docker_client_cert'], params['docker_client_key'])
                if params.get('docker_client_cert') else None,
                ca_cert=params.get('docker_ca_path'),
                verify=params['docker_validate_certs'],
            )
            # DockerClient(...) is only .api = APIClient(...); built so to use TLSAPIClient
            # from the first request on (version=auto asks the engine while the APIClient is made).
            client = docker.DockerClient.__new__(docker.DockerClient)
            client.api = TLSAPIClient(tls=tls, **options)
        else:
            client = docker.DockerClient(tls=False, **options)
        client.ping()
        return client
    except DockerException as exc:
        raise DockerConnectionError('Cannot reach the Docker engine at %s: %s' % (host, exc))
    except Exception as exc:  # requests/urllib3 errors surface here when the socket is absent
        raise DockerConnectionError('Cannot reach the Docker engine at %s: %s' % (host, exc))


def require_docker_sdk(module):
    """Fail the module with Ansible's standard message when the docker SDK is not installed."""
    if not HAS_DOCKER:
        module.fail_json(msg=missing_required_lib('docker'), exception=DOCKER_IMPORT_ERROR)


def module_docker_client(module):
    """docker_client() for a module: fails the task cleanly instead of raising."""
    require_docker_sdk(module)
    warning = plaintext_tcp_warning(module.params)
    if warning:
        module.warn(warning)
    try:
        return docker_client(module.params)
    except DockerConnectionError as exc:
        module.fail_json(msg='%s. Nothing was changed.' % exc)
