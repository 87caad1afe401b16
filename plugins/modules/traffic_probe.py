#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: traffic_probe
short_description: Send requests during a deploy and prove that none of them failed
version_added: 0.1.0
description:
  - Sends GET or HEAD requests to one URL, or a few in turn, with O(concurrency) clients at
    O(rate) requests per second in all, until O(stop_file) appears on the managed host,
    O(duration) seconds pass, or O(max_requests) requests were sent, whichever comes first.
    Requests in flight at the stop still finish and are counted.
  - By default half of the clients keep their connection open (what browsers and proxies do) and
    the other half open a new connection for every request (what new users meet - the listen
    queue, how C(SO_REUSEPORT) spreads new connections, a new balancer process). A keep-alive
    client stays on the process it first reached, so an outage that only new connections meet is
    invisible to it.
  - The clients start their requests on a schedule, evenly interleaved, so the timeline of request
    starts says what the probe could have seen - the result states its sensitivity, for example
    "an outage of 7 ms or more would have been seen with 99% certainty (16 ms or more for sure)".
    A client whose request hangs misses its next starts; when no request at all started for longer
    than O(max_gap) (the service stalled every client, or the probe got no CPU), the probe fails,
    because an outage that long could have gone unseen.
  - Returns what it saw - requests, failures per outcome class (an answer slower than
    O(latency_limit) is V(slow), and failed), statuses, latency percentiles, throughput, the
    versions that answered (count, first and last time of each, read from the O(version_header)
    response header or with O(version_regex) from the body), the versions of the first and the
    last answer, its sensitivity, and the first failure of each kind with its time and error.
  - "Fails with a message naming every reason - more than O(max_failed) requests failed, no
    request was sent at all, no request started for longer than O(max_gap), O(stop_file) was given
    but the probe was ended by O(duration) or O(max_requests) (the end of the deploy was not
    watched), or the versions did not go from O(old_version) to O(new_version) - then the URL, the
    first failures and what it probed."
  - Made to run in the background during a deploy - C(async) and C(poll=0) - and be stopped by a
    file the play creates once the deploy is done; see the first example.
  - Only reads (the requests are idempotent GET or HEAD requests); the one thing it touches is the
    stop file, which it removes when it finishes. Always returns RV(ignore:changed=false).
author:
  - zerodowntime.deploy contributors (@zerodowntime)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - ansible.builtin.action_common_attributes.flow
options:
  urls:
    description:
      - The URLs to request, C(http://) or C(https://); request number N goes to the N-th URL,
        round robin.
      - With O(unix_socket), a bare path such as V(/health) is accepted and means
        C(http://localhost/health) through the socket.
      - One URL may be given as a string. Ansible splits a string at commas, so give a URL that
        contains a comma as a list element.
    type: list
    elements: str
    required: true
    aliases: [url]
  duration:
    description:
      - Seconds after which the probe stops at the latest, stop file or not. Must be greater than 0.
      - With C(async), give the task an C(async) value greater than O(duration) plus
        O(request_timeout), or Ansible kills the probe before it can report.
    type: float
    required: true
  stop_file:
    description:
      - A path on the managed host. The probe looks for it every 0.1 seconds and stops when it
        exists; it then removes the file.
      - The file must not exist when the probe starts (a file left over from an earlier run would
        end the probe at once and prove nothing), so the probe fails without sending anything when
        it does. Remove it before starting the probe.
    type: path
  max_requests:
    description: Stop after this many requests, over all clients. At least 1.
    type: int
  concurrency:
    description:
      - Clients sending requests at the same time, each one request after the other. At least 1.
      - A client whose request hangs sends nothing else until it ends; the others go on. Eight
        clients keep the probe seeing while up to seven requests hang.
    type: int
    default: 8
  fresh_clients:
    description:
      - "How many of the O(concurrency) clients open a new connection for every request (and send
        C(Connection: close)); the others keep theirs open. At least 0; more than O(concurrency)
        means all of them. By default half of O(concurrency), rounded down - 4 of the default 8."
      - New connections are what new users meet - the balancer's or the app's accept queue, how
        C(SO_REUSEPORT) spreads connections between an old and a new container, a new balancer
        process after a reload. Keep-alive connections stay on the process they reached first
        and see none of that; they see instead a server that closes idle connections.
      - Ignored with O(keepalive=false) (every client opens a new connection then).
    type: int
  rate:
    description:
      - Requests per second, all clients together; each client starts a request every
        O(concurrency) / O(rate) seconds, the clients evenly staggered. V(0) - no pacing, every
        client sends its next request as soon as the previous one is done (as much load as the
        service and the probe's CPU allow).
      - The default, 200 per second, starts a request every 5 ms, so an outage of 10-20 ms is seen
        already, and costs about 8% of one CPU core on the managed host (measured, 2 cores) -
        the deploy keeps its CPU. Raise it to guard a service where a shorter outage matters;
        lower it for a service that cannot take the extra load.
      - A rate the clients cannot keep (each request taking longer than O(concurrency) / O(rate))
        shows in the result as RV(throughput) below the rate and in RV(sensitivity).
    type: float
    default: 200
  keepalive:
    description:
      - V(true) - all clients but O(fresh_clients) keep their connection open between requests
        (HTTP/1.1 keep-alive), as browsers and proxies do; a server that closes an idle
        connection the client reuses shows up as V(closed).
      - "V(false) - every request opens its own connection and sends C(Connection: close)."
    type: bool
    default: true
  pause:
    description:
      - Seconds each client waits between two of its requests, to limit the load. At least 0.
      - After a request that failed at once - connection refused, a missing unix socket, a name
        that does not resolve, a TLS failure - a client waits at least 0.01 s, so that a probe of a
        port that is down does not spin; every such request still counts as failed.
    type: float
    default: 0.0
  method:
    description: HTTP method. Only idempotent, read-only methods - a probe must not change state.
    type: str
    choices: [GET, HEAD]
    default: GET
  headers:
    description:
      - Request headers, for example C(Host) or C(Authorization).
      - Values are C(no_log) (they may hold credentials, for example C(Authorization) or C(Cookie))
        and masked in the task's arguments and output, also where the same text appears elsewhere
        in the output, so avoid very short values.
    type: dict
  status_codes:
    description: Statuses counted as V(ok); any other status counts as failed (outcome V(status)).
    type: list
    elements: int
    default: [200]
  request_timeout:
    description: Seconds a connect, or a wait for the answer, may take before the request counts as V(timeout).
    type: float
    default: 5.0
  validate_certs:
    description: Verify the server certificate and host name of C(https://) URLs. Turn off only for test servers.
    type: bool
    default: true
  ca_path:
    description: PEM file of the CA certificates to verify C(https://) servers with, instead of the system store.
    type: path
  unix_socket:
    description: Send the requests through this unix stream socket; the URL gives path and C(Host) header.
    type: path
  version_header:
    description:
      - Response header whose values are counted in RV(versions). An empty string turns the
        counting off (and O(old_version) and O(new_version) can then never be seen).
      - Not read when O(version_regex) is given.
    type: str
    default: X-App-Version
  version_regex:
    description:
      - 'Read the version from the response body instead of a header - a Python regular
        expression; its first group (or the whole match when it has none) is the version, for
        example V(version=([a-z0-9.]+\)) for the test app page, or V("version": *"([^"]+\)")
        for a JSON page.'
      - The body of every answer is then searched; keep it small (a version or health page).
    type: str
  old_version:
    description:
      - The version that must answer first - the one running before the deploy. The probe fails
        when it never answered or when another version answered first (the probe started after
        the deploy had begun).
    type: str
  new_version:
    description:
      - The version that must answer after O(old_version) - the one being deployed. The probe fails
        when it never answered, or, with O(old_version), only answered before the old one first did.
      - Both versions answering side by side (a rolling restart behind a balancer) is fine; the
        old one answering at the end too is what a deploy of one member among several looks like.
    type: str
  latency_limit:
    description:
      - Seconds an answer may take; a slower one counts as failed, outcome V(slow). V(0) - no limit.
      - The default, 1 s, is where users give up on a page they expected at once, and leaves room
        for a probe across the internet with a TLS handshake on every new connection. Probe a
        cheap URL (a health or version page, not a report). A request that takes longer than
        O(request_timeout) is a V(timeout) instead.
      - For a probe of a cheap URL near the service, V(0.15) also catches a member that freezes for
        200 ms while in rotation (measured - every answer there was under 30 ms otherwise).
    type: float
    default: 1.0
  max_gap:
    description:
      - Seconds in which no request may start; a longer gap fails the probe - every client was
        stuck in a request (the service stalled) or the probe got no CPU, and an outage that long
        could have gone unseen. V(0) - no limit (the gap is still reported in RV(sensitivity)).
      - By default 20 times the spacing of request starts (1 / O(rate)), and at least 0.1 s - 0.1 s
        at the default rate of 200 per second (starts 5 ms apart; runs without an outage showed
        gaps of 8-29 ms on a 2-core machine), 1 s at a rate of 20. A member frozen for 500 ms in
        rotation (every answer late, none failed) left a gap of 0.35 s; one frozen for 200 ms only
        0.05 s - for that, lower O(latency_limit).
      - Few clients and answers that may take long (a high O(latency_limit)) leave gaps without any
        outage - every client waiting for its answer; give V(0) there and let O(latency_limit) judge
        the slow answers.
    type: float
  max_failed:
    description: Failed requests allowed before the task fails. At least 0.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details:
      - Sends the requests in check mode too (they only read) and removes the stop file as in a
        normal run; the stop file is the probe's signal, not managed state.
      - In check mode M(ansible.builtin.file) does not create the stop file (unless its task has
        C(check_mode=false)), so the probe then runs for its whole O(duration).
  diff_mode:
    support: none
  idempotent:
    description: Sends new requests on every run; changes nothing but the removal of the stop file.
    support: full
  platform:
    platforms: posix
  action:
    support: none
  async:
    support: full
    details: Made for it - start with C(async) and C(poll=0), collect with M(ansible.builtin.async_status).
  bypass_host_loop:
    support: none
  action_group:
    membership:
      - zerodowntime.deploy.deploy
notes:
  - "Outcome classes of a failed request: V(status) (an answer with a status not in
    O(status_codes)), V(refused) (nothing listening), V(reset) (connection reset, or closed
    without an answer on a fresh connection), V(timeout), V(closed) (the server closed an idle
    keep-alive connection the client reused - the HTTP/1.1 keep-alive race), V(other) (name
    resolution, TLS, missing unix socket, protocol errors), V(slow) (an expected answer slower
    than O(latency_limit))."
  - "Measured with the defaults against injected outages (the collection's
    tests/fault/test_probe_detection.py) - a member stopped in rotation, an HAProxy reload that
    forgot a drain, a new container answering 503 for its first N ms on a shared port, an nginx
    reload that forgot a drain under keep-alive - every outage of 100, 200 and 500 ms failed the
    probe. A member frozen for 200 ms fails no request and passed it; with O(latency_limit=0.15) it
    failed it (see the README for the table)."
  - The probe starts sending about a second after its task starts (module start-up). A deploy step
    that ends before that is not observed; give O(old_version) (the first answer must come from
    it) to be sure the probe saw the deploy from its beginning.
  - Memory does not grow with the number of requests beyond two floats per request (its start
    and its latency) - at the default rate, 5.8 MB for a probe of 30 minutes.
  - Requests go from the managed host. Use C(delegate_to) to probe from another host, for example
    a load balancer's address from the controller.
seealso:
  - module: zerodowntime.deploy.wait_ready
    description: Waits until a service is ready, and warms it up.
  - module: ansible.builtin.async_status
    description: Collects the result of a task started with C(async) and C(poll=0).
requirements:
  - Python 3.8 or later on the managed host.
'''

EXAMPLES = r'''
# The pattern: start the probe in the background, deploy, create the stop file, collect, check.
- name: Remove a stop file an earlier, interrupted deploy may have left
  ansible.builtin.file:
    path: /tmp/web-deploy.stop
    state: absent

# With the defaults: 8 clients, 4 of them opening a new connection per request, 200 requests per
# second, an answer slower than 1 s or a gap of 0.1 s without requests fails it. old_version and
# new_version make it prove that it watched the change; the stop file that it watched to the end.
- name: Probe the app through the deploy (at most 10 minutes)
  zerodowntime.deploy.traffic_probe:
    urls: [http://127.0.0.1:8080/]
    duration: 600
    stop_file: /tmp/web-deploy.stop
    old_version: "1.4.2"
    new_version: "1.5.0"
  async: 630            # more than duration + request_timeout
  poll: 0
  register: web_probe_job

- name: Deploy the new version (any tasks)
  ansible.builtin.include_tasks: deploy.yml

- name: Tell the probe the deploy is done
  ansible.builtin.file:
    path: /tmp/web-deploy.stop
    state: touch
    mode: "0644"

- name: Wait for the probe's result
  ansible.builtin.async_status:
    jid: "{{ web_probe_job.ansible_job_id }}"
  register: web_probe
  until: web_probe.finished
  retries: 60
  delay: 1

# The task above failed already if anything was wrong; this shows what it measured.
- name: Show how long both versions answered and what the probe could see
  ansible.builtin.debug:
    msg: >-
      both versions answered for
      {{ [web_probe.versions['1.4.2'].last - web_probe.versions['1.5.0'].first, 0] | max | round(3) }} s,
      p99 {{ web_probe.latency_ms.p99 }} ms, {{ web_probe.throughput }} requests/s,
      any outage of {{ web_probe.sensitivity.likely_ms }} ms or more seen with 99% certainty

- name: Guard a latency-sensitive API harder - 500 requests/s, 0.15 s is already too slow
  zerodowntime.deploy.traffic_probe:
    urls: [http://127.0.0.1:8080/api/ping]
    duration: 600
    stop_file: /tmp/api-deploy.stop
    rate: 500
    concurrency: 16
    fresh_clients: 8
    latency_limit: 0.15     # also catches a member that freezes for 200 ms (no request fails then)
    max_gap: 0.05
  async: 630
  poll: 0
  register: api_probe_job

- name: The version is in the body, not in a header
  zerodowntime.deploy.traffic_probe:
    urls: [http://127.0.0.1:8080/version.json]
    duration: 5
    version_regex: '"version": *"([^"]+)"'
    new_version: "1.5.0"

- name: A gentle probe of a shared, slow service - 20 requests/s, keep-alive clients only
  zerodowntime.deploy.traffic_probe:
    urls: [http://127.0.0.1:8080/]
    duration: 10
    rate: 20
    concurrency: 2
    fresh_clients: 0
    latency_limit: 3
    max_gap: 0              # both clients may wait up to 3 s for an answer: no gap limit

- name: Ten seconds against two URLs, one connection per request, HEAD, up to 2 failures allowed
  zerodowntime.deploy.traffic_probe:
    urls:
      - http://127.0.0.1:8080/
      - http://127.0.0.1:8080/catalog
    duration: 10
    keepalive: false
    method: HEAD
    max_failed: 2

- name: As fast as the service answers (no pacing), 4 clients, 2000 requests
  zerodowntime.deploy.traffic_probe:
    urls: [http://127.0.0.1:8080/]
    duration: 60
    rate: 0
    concurrency: 4
    max_requests: 2000

- name: Through the balancer, from the controller, over HTTPS with a private CA, gently
  zerodowntime.deploy.traffic_probe:
    urls: [https://shop.example.com/]
    headers:
      Host: shop.example.com
    ca_path: /etc/pki/internal-ca.pem
    duration: 30
    concurrency: 2
    rate: 20
    latency_limit: 2        # over the internet, with a TLS handshake per new connection
    max_gap: 0              # two clients waiting for slow answers leave gaps: latency_limit judges
    status_codes: [200, 304]
  delegate_to: localhost

- name: HTTP over the app's unix socket, 1000 requests at most
  zerodowntime.deploy.traffic_probe:
    unix_socket: /run/app/app.sock
    urls: [/health]
    duration: 20
    max_requests: 1000
'''

RETURN = r'''
msg:
  description: What the probe saw; on failure the URL, the failed requests per class and the first failures.
  returned: always
  type: str
  sample: "Traffic probe of http://127.0.0.1:8080/: 1620 requests in 8.1s (199.9/s, 4 keep-alive
    + 4 new-connection-per-request clients, stopped by the stop file); versions v1 830 (0.0-4.1s),
    v2 790 (3.9-8.1s), all ok, p95 3.2 ms; an outage of 6.8 ms or more would have been seen with
    99% certainty (16 ms or more for sure; by new connections alone: 12 ms, 27 ms for sure)."
requests:
  description: Requests sent and finished.
  returned: when the probe ran (not for invalid input)
  type: int
  sample: 5230
ok:
  description: Requests answered with one of O(status_codes) within O(latency_limit).
  returned: when the probe ran (not for invalid input)
  type: int
  sample: 5230
failed_requests:
  description: Requests that failed, all classes together (RV(requests) minus RV(ok)).
  returned: when the probe ran (not for invalid input)
  type: int
  sample: 0
errors:
  description:
    - Failed requests per outcome class - V(status), V(refused), V(reset), V(timeout), V(closed),
      V(other), V(slow) (answered with an expected status, but slower than O(latency_limit)).
  returned: when the probe ran (not for invalid input)
  type: dict
  sample: {status: 0, refused: 0, reset: 0, timeout: 0, closed: 0, other: 0, slow: 0}
statuses:
  description: Count per HTTP status received (keys are strings).
  returned: when the probe ran (not for invalid input)
  type: dict
  sample: {"200": 5230}
latency_ms:
  description: Milliseconds per request, failed ones included - V(min), V(p50), V(p95), V(p99), V(max); V(null) without requests.
  returned: when the probe ran (not for invalid input)
  type: dict
  sample: {min: 0.3, p50: 1.1, p95: 3.2, p99: 6.0, max: 14.2}
versions:
  description:
    - Per value of the O(version_header) response header, in any answer whatever its status -
      V(count) of answers, V(first) and V(last) time it answered, in seconds from the start of
      the probe to the end of the request.
    - Answers without the header are not counted; empty when O(version_header) is empty.
  returned: when the probe ran (not for invalid input)
  type: dict
  sample: {v1: {count: 2710, first: 0.002, last: 4.113}, v2: {count: 2520, first: 3.912, last: 8.104}}
first_failures:
  description:
    - The first failed request of each kind (URL, outcome class and error text), five kinds at
      most, in the order they failed - V(time) (seconds from the start of the probe to the end of
      the request), V(url), V(outcome), V(status) (V(null) without an answer) and V(error) (the
      error, or C(status N)). RV(errors) has the counts.
  returned: when the probe ran (not for invalid input)
  type: list
  elements: dict
  sample:
    - {time: 4.12, url: "http://127.0.0.1:8080/", outcome: refused, status: null,
       error: "ConnectionRefusedError: [Errno 111] Connection refused"}
elapsed:
  description: Seconds the probe ran, from its start to the end of its last request.
  returned: when the probe ran (not for invalid input)
  type: float
  sample: 8.104
throughput:
  description: Requests per second (RV(requests) / RV(elapsed)).
  returned: when the probe ran (not for invalid input)
  type: float
  sample: 645.7
stopped_by:
  description:
    - What ended the probe - V(stop_file), V(duration) or V(max_requests). With O(stop_file)
      anything but V(stop_file) fails the probe.
  returned: when the probe ran (not for invalid input)
  type: str
  sample: stop_file
first_version:
  description: The version of the answer that started first; V(null) when no answer carried one.
  returned: when the probe ran (not for invalid input)
  type: str
  sample: v1
last_version:
  description: The version of the answer that started last; V(null) when no answer carried one.
  returned: when the probe ran (not for invalid input)
  type: str
  sample: v2
sensitivity:
  description:
    - What the timeline of request starts could have seen, from the probe's start to its stop.
    - V(likely_ms) - an outage this long or longer, at any moment of the run, would have
      overlapped a request start with probability V(certainty) (0.99); V(certain_ms) - the
      longest time in which no request started, so any outage longer than it overlapped one for
      sure; V(max_gap_at) - seconds from the start of the probe to where that gap began.
    - V(fresh_likely_ms), V(fresh_certain_ms) - the same for the new-connection clients alone,
      what an outage that only new connections meet needs (V(null) without such clients).
    - A request that starts during an outage fails when the outage fails requests (refused, 5xx,
      reset) or when it makes them slower than O(latency_limit).
  returned: when the probe ran (not for invalid input)
  type: dict
  sample: {certainty: 0.99, likely_ms: 6.8, certain_ms: 15.9, max_gap_at: 3.121,
           fresh_likely_ms: 12.1, fresh_certain_ms: 27.4}
problems:
  description: Every reason the probe failed, one text each (see the description); empty when it passed.
  returned: when the probe ran (not for invalid input)
  type: list
  elements: str
  sample: ["3 of 1602 requests failed, more than max_failed (0): status 3"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.zerodowntime.deploy.plugins.module_utils._probe import (
    ARGUMENT_SPEC, run_module,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    run_module(module)


if __name__ == '__main__':
    main()
