# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""One way to reach the Docker engine: the connection options shared by every module, a client
built from them that fails with a clear message instead of a traceback, and ``status_code()``:
the HTTP status of an engine error (404 no such object, 409 conflict, 304 not modified)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import sys
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.zerodowntime.deploy.plugins.module_utils._account import running_as, running_as_name

try:
    import docker
    HAS_DOCKER = True
    DOCKER_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where the SDK is missing
    HAS_DOCKER = False
    DOCKER_IMPORT_ERROR = traceback.format_exc()


DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock'

# Matches plugins/doc_fragments/docker.py; both change together. docker_tls has no default: when
# it is not given, the environment decides (resolve_connection).
DOCKER_CONNECTION_ARGS = dict(
    docker_host=dict(type='str', default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ['DOCKER_HOST'])),
    docker_tls=dict(type='bool'),
    docker_validate_certs=dict(type='bool', default=True),
    docker_ca_path=dict(type='path'),
    docker_client_cert=dict(type='path'),
    docker_client_key=dict(type='path', no_log=False),
    docker_timeout=dict(type='int', default=60, fallback=(env_fallback, ['DOCKER_TIMEOUT'])),
    docker_api_version=dict(type='str', default='auto', fallback=(env_fallback, ['DOCKER_API_VERSION'])),
)

DOCKER_CONNECTION_REQUIRED_TOGETHER = [('docker_client_cert', 'docker_client_key')]

# The files the docker CLI reads from DOCKER_CERT_PATH (default ~/.docker) when TLS is on.
CERT_PATH_FILES = (('docker_ca_path', 'ca.pem'), ('docker_client_cert', 'cert.pem'), ('docker_client_key', 'key.pem'))
FALSE_WORDS = ('', '0', 'false', 'no', 'off', 'n', 'f')


class DockerConnectionError(Exception):
    """The engine could not be reached or refused the connection settings."""


def _env_true(environ, name):
    return environ.get(name, '').strip().lower() not in FALSE_WORDS


def _is_tcp(host):
    return (host or '').lower().startswith(('tcp://', 'http://', 'https://'))


def resolve_connection(params, environ=None, home=None):
    """The connection settings to use: the module options, and where an option is not given, the
    environment the docker CLI reads. Pure: returns a new params dict, changes nothing.

    - docker_host, docker_timeout, docker_api_version: DOCKER_HOST, DOCKER_TIMEOUT and
      DOCKER_API_VERSION (argument spec fallbacks, already applied to ``params``).
    - docker_tls not given: on for a tcp:// engine when DOCKER_TLS_VERIFY or DOCKER_TLS is set to
      a true value (1, true, yes). Verification follows docker_validate_certs (default true):
      the environment never turns it off.
    - TLS on and docker_ca_path / docker_client_cert / docker_client_key not given: ca.pem,
      cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker), those that exist; the client
      certificate only as a pair.
    """
    environ = os.environ if environ is None else environ
    resolved = dict(params)
    explicit = params.get('docker_tls')
    if explicit is None:
        from_env = _is_tcp(params.get('docker_host')) and (
            _env_true(environ, 'DOCKER_TLS_VERIFY') or _env_true(environ, 'DOCKER_TLS'))
        resolved['docker_tls'] = bool(from_env)
    if not _tls_wanted(resolved) or not _is_tcp(params.get('docker_host')):
        return resolved
    if any(params.get(name) for name, dummy in CERT_PATH_FILES):
        return resolved                      # the user named the files: the environment stays out
    cert_path = environ.get('DOCKER_CERT_PATH') or os.path.join(
        home or os.path.expanduser('~'), '.docker')
    found = dict((name, os.path.join(cert_path, filename)) for name, filename in CERT_PATH_FILES
                 if os.path.isfile(os.path.join(cert_path, filename)))
    resolved['docker_ca_path'] = found.get('docker_ca_path')
    if 'docker_client_cert' in found and 'docker_client_key' in found:
        resolved['docker_client_cert'] = found['docker_client_cert']
        resolved['docker_client_key'] = found['docker_client_key']
    return resolved


def _tls_wanted(params):
    return bool(params.get('docker_tls') or params.get('docker_client_cert') or params.get('docker_ca_path'))


def plaintext_tcp_warning(params):
    """The warning for an engine reached over TCP without TLS (None otherwise): the Docker API
    is root on that host for anyone who can reach the port, and nothing is encrypted."""
    params = resolve_connection(params)
    host = params['docker_host'] or ''
    if not host.lower().startswith(('tcp://', 'http://')) or _tls_wanted(params):
        return None
    return ('docker_host %s is reached over TCP without TLS: the Docker API gives root on that host '
            'to anyone who can reach the port, and what is sent (environment values included) is '
            'not encrypted. Use docker_tls with docker_ca_path and docker_client_cert/docker_client_key '
            '(dockerd --tlsverify, or DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), or the engine\'s '
            'unix socket on that host.' % host)


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


def _socket_group(path):
    try:
        gid = os.stat(path).st_gid
    except OSError:
        return None
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def explain_failure(host, cause):
    """The message for an engine that could not be reached, with the fix where it is known."""
    msg = 'Cannot reach the Docker engine at %s: %s' % (host, cause)
    if host.startswith('unix://') and ('Permission denied' in msg or 'Errno 13' in msg):
        path = host[len('unix://'):]
        group = _socket_group(path) or 'docker'
        msg += ('. The module runs as %s, which may not open %s (owned by group %s): add the user '
                'to that group (usermod -aG %s %s; it applies from the next login) or run the task '
                'with become: true' % (running_as(), path, group, group, running_as_name()))
    elif host.startswith('ssh://') and 'paramiko' in msg:
        msg += ('. The docker SDK reaches ssh:// engines through the paramiko library, which %s '
                'lacks (apt-get install python3-paramiko, or pip install paramiko); or let Ansible '
                'connect to that host over SSH and use its local socket' % sys.executable)
    elif _is_tcp(host) and ('CERTIFICATE_VERIFY_FAILED' in msg or 'certificate verify failed' in msg):
        msg += ('. The engine\'s certificate was not signed by the CA in use (docker_ca_path, or '
                'ca.pem in DOCKER_CERT_PATH)')
    return msg


def docker_client(params):
    """Return a connected docker.DockerClient built from the common connection options (and the
    environment where they are not given, see resolve_connection).

    Raises DockerConnectionError with a message that names the engine address and the cause.
    """
    params = resolve_connection(params)
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
    except Exception as exc:  # DockerException; requests/urllib3 errors when the socket is absent
        raise DockerConnectionError(explain_failure(host, exc))


def status_code(exc):
    """The engine's HTTP status of a failed call (docker.errors.APIError), None for other errors."""
    return getattr(getattr(exc, 'response', None), 'status_code', None) or getattr(exc, 'status_code', None)


def require_docker_sdk(module):
    """Fail the module with Ansible's standard message when the docker SDK is not installed."""
    if not HAS_DOCKER:
        module.fail_json(msg='%s Nothing was changed.' % missing_required_lib(
            'docker (the Docker SDK for Python, >= 5.0.3, with requests >= 2.28)',
            reason='to talk to the Docker engine (Debian/Ubuntu: apt-get install python3-docker; '
                   'elsewhere: pip install docker)',
            url='https://docker-py.readthedocs.io/'),
            exception=DOCKER_IMPORT_ERROR)


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
