#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: wait_ready
short_description: Wait until a service is ready to take traffic, then warm it up
version_added: 0.1.0
description:
  - Runs readiness checks until every one of them passes O(success_threshold) attempts in a row,
    or fails when O(timeout) runs out, saying what each failing check saw last.
  - "Checks, any number and any mix: HTTP/HTTPS (status, body text or regex, response headers;
    also HTTP over a unix socket), TCP connect, unix socket connect, file present (optionally a pid
    file whose process is alive), Docker container running / healthy."
  - A Docker container that exits, is removed, restarts or turns unhealthy fails the task at once
    instead of waiting out O(timeout), with its state and last log lines.
  - Optionally warms the service up once it is ready (O(warmup)) and returns per-URL latency.
  - Only reads; never changes anything, so it runs in check mode as well and always returns
    RV(ignore:changed=false).
author:
  - zerodowntime.deploy contributors (@zerodowntime)
extends_documentation_fragment:
  - zerodowntime.deploy.readiness
  - zerodowntime.deploy.docker
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Runs the checks and the warmup in check mode too; both only read.
  diff_mode:
    support: none
  idempotent:
    description: Running the task again with the same options gives the same result on an unchanged system.
    support: full
  platform:
    platforms: posix
  action_group:
    membership:
      - zerodowntime.deploy.deploy
notes:
  - The Docker connection options are only used, and the Docker SDK only needed, when there is a
    V(container) check.
  - The warmup runs only after every check passed; it is part of the result, not of O(timeout).
  - A V(file) check with O(checks[].pid_alive=true) looks the process up on the managed host. The
    main process of a container has a host pid (C(docker inspect -f '{{.State.Pid}}')); a pid written
    inside a container's pid namespace means nothing outside it.
seealso:
  - module: ansible.builtin.wait_for
    description: Waits for a port, a path or a string in a file, one condition at a time.
  - module: ansible.builtin.uri
    description: Sends one HTTP request; with C(until) and C(retries) it can poll one URL.
requirements:
  - Python 3.8 or later on the managed host.
'''

EXAMPLES = r'''
- name: Wait until the new app answers 200 on /health (poll every 0.2 s, at most 60 s)
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        url: http://127.0.0.1:8080/health
    interval: 0.2
    timeout: 60

- name: Require the right version, three passes in a row, first attempt after 2 s
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        url: http://127.0.0.1:8080/
        status_codes: [200]
        body: version=v2
        response_headers:
          X-App-Version: v2
    success_threshold: 3
    initial_delay: 2
    interval: 0.5
    timeout: 30

- name: HTTPS with a private CA, a client certificate and basic auth
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        url: https://app.internal.example:8443/ready
        method: HEAD
        status_codes: [200, 204]
        body_regex: '"status":\s*"(ok|degraded)"'
        headers:
          X-Probe: deploy
        ca_path: /etc/pki/internal-ca.pem
        client_cert: /etc/pki/probe.crt
        client_key: /etc/pki/probe.key
        url_username: probe
        url_password: "{{ vault_probe_password }}"
        request_timeout: 2

- name: A throw-away test server with a self-signed certificate (never do this in production)
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        url: https://127.0.0.1:8443/health
        validate_certs: false

- name: HTTP over the unix socket the app listens on
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        unix_socket: /var/run/app.sock
        url: /health

- name: The database port, the app's socket and its pid file
  zerodowntime.deploy.wait_ready:
    checks:
      - type: tcp
        host: 127.0.0.1
        port: 5432
      - type: unix
        path: /run/app/app.sock
      - type: file
        path: /run/app/app.pid
        pid_alive: true
    timeout: 20

- name: The container is running and its HEALTHCHECK says healthy (fails at once if it exits)
  zerodowntime.deploy.wait_ready:
    checks:
      - type: container
        container: web-blue
        name: web-blue container
      - type: http
        url: http://127.0.0.1:8081/health
    docker_host: unix:///var/run/docker.sock
    timeout: 90

- name: Only running is required (the image's health check is too slow to wait for)
  zerodowntime.deploy.wait_ready:
    checks:
      - type: container
        container: "{{ new_container_id }}"
        healthy: false

- name: Ready, then warm up with 50 requests per URL, 8 at a time, and report latency
  zerodowntime.deploy.wait_ready:
    checks:
      - type: http
        url: http://127.0.0.1:8080/health
    warmup:
      urls:
        - http://127.0.0.1:8080/
        - http://127.0.0.1:8080/search?q=warm
      url_file: /etc/app/warmup-urls.txt
      requests_per_url: 50
      concurrency: 8
      status_codes: [200, 304]
  register: ready

- name: Show the warmup latency
  ansible.builtin.debug:
    msg: "p95 {{ ready.warmup.total.latency_ms.p95 }} ms after {{ ready.elapsed }} s"

- name: Warm up an HTTPS site with a private CA, one connection per request, 2 s per request
  zerodowntime.deploy.wait_ready:
    checks:
      - type: tcp
        port: 8443
    warmup:
      urls: [https://app.internal.example:8443/]
      ca_path: /etc/pki/internal-ca.pem
      headers:
        Host: shop.example.com
      keepalive: false
      request_timeout: 2

- name: Warm up over the unix socket, report failures without failing the task
  zerodowntime.deploy.wait_ready:
    warmup:
      unix_socket: /var/run/app.sock
      urls: [/, /catalog]
      fail_on_error: false
'''

RETURN = r'''
msg:
  description: What happened; on failure, each failing check and what it saw last.
  returned: always
  type: str
  sample: "Ready after 3.1s (32 attempts): 2 checks passed 1 time in a row."
elapsed:
  description: Seconds the readiness wait took (the warmup not included).
  returned: always
  type: float
  sample: 3.104
attempts:
  description: How many times the checks ran.
  returned: always
  type: int
  sample: 32
checks:
  description:
    - The last result of each check, in the order of O(checks).
    - Besides the keys below, V(http) results carry RV(checks[].status), RV(checks[].outcome),
      RV(checks[].body), RV(checks[].latency_ms), RV(checks[].error); V(tcp) and V(unix) results
      RV(checks[].errno) and RV(checks[].error); V(file) results RV(checks[].exists) and
      RV(checks[].pid); V(container) results RV(checks[].state), RV(checks[].health),
      RV(checks[].exit_code) and, when the wait failed, RV(checks[].logs).
  returned: always
  type: list
  elements: dict
  contains:
    index:
      description: Position of the check in O(checks).
      type: int
      returned: always
      sample: 0
    type:
      description: The check type.
      type: str
      returned: always
      sample: http
    name:
      description: O(checks[].name), or a description of the check.
      type: str
      returned: always
      sample: GET http://127.0.0.1:8080/health
    ok:
      description: Whether the check passed on the last attempt.
      type: bool
      returned: always
      sample: true
    msg:
      description: What the check saw on the last attempt.
      type: str
      returned: always
      sample: status 503, expected 200; body 'not ready\n'
    fatal:
      description: The check saw something waiting cannot fix (container exited, removed, unhealthy).
      type: bool
      returned: when true
      sample: true
    status:
      description: HTTP status of the last answer; V(null) when there was none.
      type: int
      returned: http checks
      sample: 503
    outcome:
      description: Outcome class of the last request (V(ok), V(status), V(refused), V(reset), V(timeout), V(closed), V(other)).
      type: str
      returned: http checks
      sample: status
    body:
      description: The first 200 characters of the last response body.
      type: str
      returned: http checks
      sample: "not ready\n"
    latency_ms:
      description: Milliseconds the last request took.
      type: float
      returned: http checks
      sample: 1.2
    error:
      description: The error of the last attempt, V(null) when there was none.
      type: str
      returned: http, tcp and unix checks
      sample: "ConnectionRefusedError: [Errno 111] Connection refused"
    errno:
      description: Symbolic errno of the last failed connect.
      type: str
      returned: tcp and unix checks
      sample: ECONNREFUSED
    exists:
      description: Whether the file existed.
      type: bool
      returned: file checks
      sample: true
    pid:
      description: Process id read from the pid file.
      type: int
      returned: file checks
      sample: 4242
    state:
      description: Docker state of the container (V(running), V(exited)...), V(missing) when there is none.
      type: str
      returned: container checks
      sample: running
    health:
      description: Docker health status, V(null) without a HEALTHCHECK.
      type: str
      returned: container checks
      sample: starting
    exit_code:
      description: Exit code Docker reports for the container.
      type: int
      returned: container checks
      sample: 1
    logs:
      description: The last 10 log lines of the container.
      type: list
      elements: str
      returned: container checks, when the wait failed
      sample: ["app: version=v2 listen=tcp:127.0.0.1:8080 pid=1"]
warmup:
  description: Warmup statistics; latencies in milliseconds.
  returned: when O(warmup) is set and every check passed
  type: dict
  contains:
    failed:
      description: Whether any warmup request failed.
      type: bool
      sample: false
    msg:
      description: Summary of the warmup.
      type: str
      sample: "Warmup: 100 requests to 2 URLs, all ok, p95 3.2 ms"
    elapsed:
      description: Seconds the warmup took.
      type: float
      sample: 0.41
    total:
      description:
        - All warmup requests together. V(requests), V(ok), V(failed) (counts), V(errors) (failed
          requests per outcome class - V(status), V(refused), V(reset), V(timeout), V(closed),
          V(other)), V(statuses) (count per HTTP status), V(latency_ms) (V(min), V(p50), V(p95), V(p99), V(max)).
      type: dict
      sample:
        requests: 100
        ok: 100
        failed: 0
        errors: {status: 0, refused: 0, reset: 0, timeout: 0, closed: 0, other: 0}
        statuses: {"200": 100}
        latency_ms: {min: 0.3, p50: 0.9, p95: 3.2, p99: 4.0, max: 4.4}
    urls:
      description: The same statistics per URL, in order, with V(url) and V(first_error).
      type: list
      elements: dict
      sample:
        - url: http://127.0.0.1:8080/
          requests: 50
          ok: 50
          failed: 0
          first_error: null
          errors: {status: 0, refused: 0, reset: 0, timeout: 0, closed: 0, other: 0}
          statuses: {"200": 50}
          latency_ms: {min: 0.3, p50: 0.8, p95: 2.9, p99: 3.5, max: 3.5}
    concurrency:
      description: Clients that sent requests at the same time.
      type: int
      sample: 8
    requests_per_url:
      description: Requests each URL got.
      type: int
      sample: 50
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.zerodowntime.deploy.plugins.module_utils._wait_ready import (
    ARGUMENT_RULES, ARGUMENT_SPEC, run_module,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES)
    run_module(module)


if __name__ == '__main__':
    main()
