# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Matches DOCKER_CONNECTION_ARGS and resolve_connection() in plugins/module_utils/_docker.py;
    # they change together.
    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - The Docker engine to talk to, as a URL (V(unix:///var/run/docker.sock), V(tcp://host:2376),
        V(ssh://user@host)).
      - Falls back to the E(DOCKER_HOST) environment variable of the host the module runs on.
      - An V(ssh://) URL needs the C(paramiko) library beside the docker SDK (the SDK's SSH
        transport imports it). Usually simpler, let Ansible connect to the Docker host over SSH and
        keep the default local socket there.
    type: str
    default: unix:///var/run/docker.sock
  docker_tls:
    description:
      - Use TLS to talk to the engine. Implied when O(docker_ca_path) or O(docker_client_cert) is set.
      - When not given, TLS is on for a V(tcp://) engine if the environment variable
        E(DOCKER_TLS_VERIFY) or E(DOCKER_TLS) is set to a true value (V(1), V(true), V(yes)), as the
        docker CLI does. The certificate is verified all the same unless O(docker_validate_certs=false).
      - With TLS on and none of O(docker_ca_path), O(docker_client_cert), O(docker_client_key) given,
        C(ca.pem), C(cert.pem) and C(key.pem) are taken from the directory E(DOCKER_CERT_PATH)
        (default C(~/.docker)), those of them that exist.
    type: bool
  docker_validate_certs:
    description:
      - Verify the engine's TLS certificate. Only turn this off for throw-away test engines.
      - No environment variable turns this off.
    type: bool
    default: true
  docker_ca_path:
    description:
      - CA bundle used to verify the engine's certificate.
      - Default with TLS on, see O(docker_tls) - C(ca.pem) in E(DOCKER_CERT_PATH).
    type: path
  docker_client_cert:
    description:
      - Client certificate presented to the engine. Requires O(docker_client_key).
      - Default with TLS on, see O(docker_tls) - C(cert.pem) in E(DOCKER_CERT_PATH).
    type: path
  docker_client_key:
    description:
      - Private key of O(docker_client_cert).
      - Default with TLS on, see O(docker_tls) - C(key.pem) in E(DOCKER_CERT_PATH).
    type: path
  docker_timeout:
    description:
      - Seconds to wait for one answer from the engine API.
      - Falls back to the E(DOCKER_TIMEOUT) environment variable.
    type: int
    default: 60
  docker_api_version:
    description:
      - Engine API version to speak; V(auto) negotiates the highest both sides know.
      - Falls back to the E(DOCKER_API_VERSION) environment variable.
    type: str
    default: auto
requirements:
  - docker (Python SDK) >= 5.0.3, on the host the module runs on
  - requests >= 2.28
'''
