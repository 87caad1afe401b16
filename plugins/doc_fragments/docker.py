# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Matches DOCKER_CONNECTION_ARGS in plugins/module_utils/_docker.py; both change together.
    DOCUMENTATION = r'''
options:
  docker_host:
    description:
      - The Docker engine to talk to, as a URL (V(unix:///var/run/docker.sock), V(tcp://host:2376)).
      - Falls back to the E(DOCKER_HOST) environment variable.
    type: str
    default: unix:///var/run/docker.sock
  docker_tls:
    description:
      - Use TLS to talk to the engine. Implied when O(docker_ca_path) or O(docker_client_cert) is set.
    type: bool
    default: false
  docker_validate_certs:
    description:
      - Verify the engine's TLS certificate. Only turn this off for throw-away test engines.
    type: bool
    default: true
  docker_ca_path:
    description:
      - CA bundle used to verify the engine's certificate.
    type: path
  docker_client_cert:
    description:
      - Client certificate presented to the engine. Requires O(docker_client_key).
    type: path
  docker_client_key:
    description:
      - Private key of O(docker_client_cert).
    type: path
  docker_timeout:
    description:
      - Seconds to wait for one answer from the engine API.
    type: int
    default: 60
  docker_api_version:
    description:
      - Engine API version to speak; V(auto) negotiates the highest both sides know.
    type: str
    default: auto
requirements:
  - docker (Python SDK) >= 6.1
'''
