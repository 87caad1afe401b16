#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: balancer_member
short_description: Put a load-balancer member into rotation, drain it or take it out - and wait until that is true
version_added: 0.1.0
description:
  - Sets the state of one member (or several members, in one transaction) of one backend of a load
    balancer - V(enabled), V(drained) or V(disabled), optionally with a weight - and, by default,
    waits until the state is real - a drained member has no request left, an enabled member passes
    the balancer's health checks.
  - "One interface, four balancers: B(HAProxy) through its runtime API (unix or TCP stats socket,
    C(level admin)); B(Apache httpd) C(mod_proxy_balancer) through its balancer-manager page over
    HTTP(S); B(nginx) open source through the C(upstream) block of a configuration file, validated
    with C(nginx -t) and applied with one graceful reload, with nginx on this host or in a container;
    B(Caddy) 2.6 through its admin API (unix socket or HTTP(S)), the upstreams of one
    C(reverse_proxy) handler."
  - Last-member guard - the module refuses to take members out of rotation when fewer than
    O(min_active) members of the backend would be left serving, unless O(force=true).
  - "Atomic cutover - O(members) sets several members of the same backend in one balancer
    transaction, so that C(new enabled, old drained) leaves no moment where both or neither take
    new requests: HAProxy gets all commands in one runtime-API request, nginx one edit and one reload,
    Caddy one configuration change.
    Apache's balancer-manager changes one member per request; the module sends the members entering
    rotation first, so there may be a moment where both take requests, never one where neither does."
  - "What each balancer calls the states: HAProxy C(ready)/C(drain)/C(maint); Apache flags
    C(Drn) (drained) and C(Dis) (disabled), V(enabled) clears C(Dis), C(Drn) and C(Stop);
    nginx has a single out-of-rotation state, the C(down) flag, so V(drained) and V(disabled) both
    write C(down) and the member is reported as V(disabled). Caddy has no per-upstream state: a member
    out of rotation is moved from the handler's C(upstreams) into a parking C(reverse_proxy) handler
    placed right after it (C(@id) V(zdt-drained:<id>) or V(zdt-disabled:<id>), with the handler's
    C(@id), else its config path), which never serves - C(reverse_proxy) answers every request itself - but keeps the upstream known to Caddy,
    so its in-flight count stays visible and a later run finds the member again. The drained parking
    handler copies the handler's C(health_checks) and C(transport), so Caddy keeps checking a drained
    member; a disabled one is not checked."
  - "Active count (what the drain waits for): HAProxy C(scur + qcur) of the server; Apache C(Busy)
    of the worker; nginx open source has no per-member counters, so a member taken out by a reload
    counts the worker processes of the previous generation (the only ones that can still talk to it)
    until they have exited. A member already C(down) with no reload in this run counts the workers
    still shutting down. Caddy - C(num_requests) of the upstream in C(GET /reverse_proxy/upstreams);
    Caddy 2.6 counts per dial address across all its handlers, so requests another handler sends to
    the same address count too."
author:
  - zerodowntime.deploy contributors (@zerodowntime)
extends_documentation_fragment:
  - zerodowntime.deploy.docker
attributes:
  check_mode:
    description: Reads the balancer, computes the plan (and the guard), reports it; changes nothing and does not wait.
    support: full
  diff_mode:
    description: Shows the state and weight of the requested members before and after.
    support: full
  idempotent:
    description: C(changed) is true only when a member's state or weight changed, never because a count moved.
    support: full
requirements:
  - requests (Python library, for O(balancer=apache))
  - docker (Python SDK, for nginx in a container - O(nginx_container))
options:
  balancer:
    description:
      - Which kind of load balancer to talk to. Selects the adapter and its connection options.
    type: str
    required: true
    choices: [apache, caddy, haproxy, nginx]
  backend:
    description:
      - The group of members - HAProxy backend name, Apache balancer name (V(app) or
        V(balancer://app)), nginx C(upstream) name, Caddy C(reverse_proxy) handler - its C(@id)
        (V(app)) or its config path (V(apps/http/servers/web/routes/0/handle/0), also with a leading
        V(/config/)). A Caddy handler must be an element of a C(handle) list.
    type: str
    required: true
  member:
    description:
      - The member to set - HAProxy server name; Apache worker URL exactly as the balancer-manager
        lists it (V(http://10.0.0.5:8081) - members on one host with different ports are distinct);
        nginx server address exactly as written in the C(upstream) block (V(127.0.0.1:8081),
        V(unix:/run/app.sock)); Caddy upstream C(dial) address exactly as in the configuration
        (V(127.0.0.1:8081), V(unix//run/app.sock)).
      - Requires O(state). Mutually exclusive with O(members).
    type: str
  state:
    description:
      - V(enabled) - in rotation, takes new requests.
      - V(drained) - no new requests; requests in flight finish. HAProxy still runs health checks on
        a drained server, which makes V(drained) the right parking state for a candidate that a
        cutover will enable.
      - V(disabled) - out of rotation (HAProxy maintenance, Apache disabled; nginx C(down); Caddy
        parked without health checks).
    type: str
    choices: [enabled, drained, disabled]
  weight:
    description:
      - Weight of the member - HAProxy server weight (0-256), Apache load factor (1-100), nginx
        C(weight=) (1 or more). Not changed when omitted.
      - Caddy 2.6 has no per-upstream weight (C(weighted_round_robin) came with Caddy 2.7); a weight
        is refused there, and so is a handler that uses C(weighted_round_robin).
    type: int
  members:
    description:
      - Several members of O(backend), set in one balancer transaction (see the cutover note above).
        Members entering rotation are applied first, members leaving it last.
      - Mutually exclusive with O(member), O(state) and O(weight).
    type: list
    elements: dict
    suboptions:
      name:
        description: Member name, as in O(member).
        type: str
        required: true
      state:
        description: State of this member, as in O(state).
        type: str
        required: true
        choices: [enabled, drained, disabled]
      weight:
        description: Weight of this member, as in O(weight).
        type: int
  wait:
    description:
      - Wait until the state is real before returning.
      - For V(drained) and V(disabled) - until the member's active count is 0, at most O(drain_timeout).
        A member that is DOWN or already drained returns at once when nothing is active.
      - Then, for V(drained), the balancer lets go of the idle keep-alive connections it keeps to
        the member, so that a graceful server behind it can exit at once instead of waiting for
        connections nobody will use (RV(released)). HAProxy keeps them in its server pool
        (C(http-reuse)) even in drain - the member is put into maintenance, where HAProxy closes
        them, until C(show servers conn) counts none (1 second at most), and back to drain - it
        reads V(drained) afterwards, and a rerun finds nothing to release. V(disabled) is
        maintenance already. Measured with a graceful app that closes idle connections 2 s after
        their last use - it stopped 2.03-2.07 s after a drain under C(wrk -c16) without this,
        0.06-0.08 s with it, 0 failed requests either way.
      - nginx needs nothing - a member out of rotation counts as drained once the worker processes
        of the reload that took it out have exited, and their idle upstream connections
        (C(keepalive) in the upstream) go with them.
      - Apache cannot be told to - its balancer-manager has no way to close a worker's pooled
        connections, which stay open in drain. Set C(disablereuse=On) on the C(BalancerMember) for
        an old server that stops at once (measured - 0.05-0.07 s instead of 2.16 s, but one backend
        connection per request - C(wrk) made about 60% fewer requests through that Apache), or leave
        it to the server's own closing of idle connections.
      - For V(enabled) - until the balancer reports the member healthy, at most O(healthy_timeout)
        (HAProxy - C(UP) with its health counter at the top, so a server leaving maintenance counts only
        once a check has passed, given C(fall) of 2 or more; Apache - no C(Err)/C(HcFl) flag;
        nginx open source and Caddy 2.6 report no health (Caddy - only passive C(fails), a member
        at C(max_fails) counts as down) - the wait only covers the change, check the member with
        M(zerodowntime.deploy.wait_ready) first). A member that fails its checks makes the task fail.
    type: bool
    default: true
  drain_timeout:
    description:
      - Seconds to wait for a drained or disabled member's active count to reach 0.
    type: float
    default: 300.0
  on_drain_timeout:
    description:
      - What to do when O(drain_timeout) passes with requests still active - V(fail) the task
        (the member stays drained), or V(proceed) with a warning and RV(drain_timed_out=true).
    type: str
    default: fail
    choices: [fail, proceed]
  healthy_timeout:
    description:
      - Seconds to wait for enabled members to be reported healthy.
    type: float
    default: 60.0
  poll_interval:
    description:
      - Seconds between two reads of the balancer while waiting.
    type: float
    default: 0.2
  max_reassertions:
    description:
      - "A balancer reloaded or restarted during the task can lose the states it set (HAProxy
        without a server-state file, Apache after any restart: the member is back in rotation,
        weights reset). Every wait re-reads the members; one that is not as wanted any more is
        put back (RV(reasserted)) and the wait starts again - at most this many times per task,
        then the task fails naming the balancer and what it found. A balancer that does not
        answer for a moment (restarting) is waited for until the wait's deadline."
      - See C(docs/balancer-reloads.md) for the configuration that keeps the states instead.
    type: int
    default: 3
  min_active:
    description:
      - The last-member guard - refuse to take members out of rotation when fewer than this many
        members of the backend would be left serving (enabled, not DOWN, weight above 0).
        Members the same task enables count when their health is not known to be bad.
    type: int
    default: 1
  force:
    description:
      - Take members out of rotation even when the last-member guard refuses.
    type: bool
    default: false
  ramp:
    description:
      - Slow start by weight for members this task puts back into rotation - they enter at the first
        step and reach their final weight step by step. The final weight is O(weight) (or the
        member's O(members[].weight)), else the weight the balancer was configured with (HAProxy
        initial weight) or has now.
      - Members already in rotation are not ramped, with one exception - a member in rotation below
        the weight it was configured with (left part-way up a ramp by an interrupted run) resumes
        the ramp from its current weight when O(weight) is not given. Only HAProxy reports a
        configured weight apart from the current one. With nginx every step is one reload.
        Refused with Caddy, which has no weights.
      - HAProxy has its own slow start (C(slowstart) on the server line) that applies when a server
        leaves maintenance; use that or this, not both.
    type: dict
    suboptions:
      steps:
        description:
          - Percentages of the final weight, in order. Each step is at least weight 1; the last
            step is always the final weight. Use weights above 1 for a fine ramp (for example 100).
        type: list
        elements: int
        default: [10, 25, 50, 100]
      pause:
        description: Seconds between two steps.
        type: float
        default: 10.0
  request_timeout:
    description:
      - Seconds to wait for one answer of the balancer (runtime API request, HTTP request).
    type: float
    default: 10.0
  haproxy_socket:
    description:
      - HAProxy runtime API address - an absolute unix socket path (V(/run/haproxy/admin.sock)) or
        V(tcp://host:port) (also V(host:port), V(ipv4@host:port)). The socket needs C(level admin).
      - Required with O(balancer=haproxy).
    type: str
  apache_url:
    description:
      - URL of the balancer-manager page, for example V(https://lb.example.com/balancer-manager).
      - Required with O(balancer=apache).
      - Credentials in the URL (C(user:password@)) are refused; give them as O(apache_username) and
        O(apache_password).
    type: str
  apache_username:
    description: User for HTTP basic authentication to the balancer-manager.
    type: str
  apache_password:
    description: Password for HTTP basic authentication to the balancer-manager.
    type: str
  apache_validate_certs:
    description:
      - Verify the balancer-manager's TLS certificate. Only turn this off for throw-away test setups.
    type: bool
    default: true
  apache_ca_path:
    description:
      - CA bundle to verify the balancer-manager's certificate with.
      - Used even when E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is set; those apply only when
        this option is not given.
    type: path
  apache_client_cert:
    description: Client certificate (PEM) presented to the balancer-manager. Requires O(apache_client_key).
    type: path
  apache_client_key:
    description: Private key (PEM) of O(apache_client_cert).
    type: path
  apache_stale_busy_after:
    description:
      - httpd updates a worker's C(Busy) without atomic operations; under concurrent load it drifts,
        and a member that gets no request any more can show C(Busy 1) for good. While draining, a
        member whose C(Busy), C(Elected), C(To) and C(From) have not changed for this many seconds
        counts as idle, with a warning. A request in flight moves them when it ends, so set this
        above the longest request the member serves.
      - V(0) trusts C(Busy) alone.
    type: float
    default: 10.0
  nginx_config:
    description:
      - The nginx configuration file that holds the C(upstream) block (path inside the container
        with O(nginx_container)). The module edits only the C(server) lines it changes, in place.
      - Required with O(balancer=nginx).
    type: str
  nginx_container:
    description:
      - Name or ID of the container nginx runs in; commands run through the Docker engine's exec API
        (see the docker connection options). Omit it for nginx on the host the module runs on.
    type: str
  nginx_binary:
    description: The nginx executable used for C(nginx -t) and C(nginx -s reload).
    type: str
    default: nginx
  nginx_main_config:
    description: Main configuration file passed as C(-c) to C(nginx -t) and C(nginx -s reload), when not the built-in default.
    type: str
  nginx_pid_file:
    description: The nginx master's pid file (as set by C(pid) in the main configuration); identifies the workers to watch.
    type: str
    default: /run/nginx.pid
  caddy_admin:
    description:
      - Caddy admin endpoint - a unix socket (V(unix//run/caddy/admin.sock), Caddy's own notation,
        also V(unix:/run/caddy/admin.sock) or a bare absolute path) or a URL
        (V(http://127.0.0.1:2019), V(https://caddy.example.com:2021) for Caddy's remote admin).
      - Caddy checks the C(Host) header against C(admin.origins) - the URL's host and port must be
        one of them; on a unix socket the module sends the empty C(Host) Caddy expects.
      - Required with O(balancer=caddy).
    type: str
  caddy_origin:
    description:
      - Sent as the C(Origin) header - needed when the admin endpoint has C(enforce_origin), and then
        one of its C(origins) (V(http://127.0.0.1:2019)).
    type: str
  caddy_validate_certs:
    description:
      - Verify the certificate of an V(https://) admin endpoint. Only turn this off for throw-away test setups.
    type: bool
    default: true
  caddy_ca_path:
    description: CA bundle to verify an V(https://) admin endpoint with.
    type: path
  caddy_client_cert:
    description:
      - Client certificate (PEM) presented to an V(https://) admin endpoint (Caddy's remote admin
        authenticates clients by certificate). Requires O(caddy_client_key).
    type: path
  caddy_client_key:
    description: Private key (PEM) of O(caddy_client_cert).
    type: path
notes:
  - "Failures say what was left how: errors before the first change end with C(Nothing was changed.);
    a drain or health timeout after the change says which members were changed and left so."
  - "nginx: C(nginx -s reload) closes idle keep-alive client connections of the old workers; a client
    that sends its next request at that instant sees the connection closed. Every nginx change (and
    every ramp step) is one reload."
  - "Apache: a member that failed to connect stays in C(Err) for its C(retry) period (default 60
    seconds); with O(wait) an enabled member in C(Err) is not healthy until httpd retries it."
  - "Caddy 2.6 applies every admin-API change as a full configuration reload, whichever path is
    changed - requests in flight finish, but idle keep-alive client connections are closed (a client
    that sends its next request at that instant sees the connection closed) and upgraded connections
    (websockets) are cut at once. The module sends one change per run (a cutover of two members is one
    change) and none when nothing changes; Caddy itself skips a change that leaves the configuration
    as it was."
seealso:
  - module: zerodowntime.deploy.wait_ready
'''

EXAMPLES = r'''
- name: Drain one HAProxy server and wait for its sessions to finish
  zerodowntime.deploy.balancer_member:
    balancer: haproxy
    haproxy_socket: /run/haproxy/admin.sock
    backend: app
    member: app1
    state: drained
    drain_timeout: 120

- name: Put it back with a weight ramp (10 % -> 100 % of weight 100, 5 s apart)
  zerodowntime.deploy.balancer_member:
    balancer: haproxy
    haproxy_socket: tcp://127.0.0.1:9999
    backend: app
    member: app1
    state: enabled
    weight: 100
    ramp:
      steps: [10, 25, 50, 100]
      pause: 5

- name: Blue/green cutover in one transaction - green takes new requests, blue drains
  zerodowntime.deploy.balancer_member:
    balancer: haproxy
    haproxy_socket: /run/haproxy/admin.sock
    backend: app
    members:
      - name: green
        state: enabled
      - name: blue
        state: drained

- name: Disable one of two workers on the same host in Apache (members are full worker URLs)
  zerodowntime.deploy.balancer_member:
    balancer: apache
    apache_url: https://lb.example.com/balancer-manager
    apache_username: admin
    apache_password: "{{ vault_balancer_password }}"
    apache_ca_path: /etc/ssl/private-ca.pem
    backend: app
    member: http://10.0.0.5:8082
    state: disabled

- name: Take a server out of an nginx upstream (nginx in a container), proceed after 60 s anyway
  zerodowntime.deploy.balancer_member:
    balancer: nginx
    nginx_container: edge-nginx
    nginx_config: /etc/nginx/conf.d/upstreams.conf
    backend: app
    member: 10.0.0.5:8081
    state: drained
    drain_timeout: 60
    on_drain_timeout: proceed

- name: Blue/green cutover behind Caddy - handler with "@id" app, admin API on a unix socket
  zerodowntime.deploy.balancer_member:
    balancer: caddy
    caddy_admin: unix//run/caddy/admin.sock
    backend: app
    members:
      - name: 10.0.0.5:8082
        state: enabled
      - name: 10.0.0.5:8081
        state: drained

- name: Drain a Caddy upstream through a TCP admin endpoint that enforces the Origin
  zerodowntime.deploy.balancer_member:
    balancer: caddy
    caddy_admin: http://127.0.0.1:2019
    caddy_origin: http://127.0.0.1:2019
    backend: apps/http/servers/web/routes/0/handle/0
    member: 10.0.0.5:8081
    state: drained
'''

RETURN = r'''
backend:
  description: The backend the task worked on.
  returned: always
  type: str
  sample: app
before:
  description: The requested members as the balancer reported them before the change, by name.
  returned: when the balancer could be read
  type: dict
  sample: {"app1": {"state": "enabled", "weight": 100, "health": "up", "status": "UP"}}
after:
  description:
    - The requested members after the run, by name (in check mode, the planned state and weight).
    - C(health) is V(up), V(down), V(unconfirmed) (back in rotation, not yet confirmed by a check)
      or V(unknown) (no checks, checks paused in maintenance, nginx).
  returned: success
  type: dict
  sample: {"app1": {"state": "drained", "weight": 100, "health": "up", "status": "DRAIN"}}
active_start:
  description:
    - Active requests/connections of each requested member when the task started.
    - nginx reports null for members in rotation (not observable) and, for members out of rotation,
      the number of worker processes of the previous generation still running.
    - Caddy reports C(num_requests) of the upstream's address.
  returned: when the balancer could be read
  type: dict
  sample: {"app1": 3}
active_end:
  description: Active count of each requested member at the end (see RV(active_start)).
  returned: success, and on a drain timeout
  type: dict
  sample: {"app1": 0}
drain_seconds:
  description: Seconds spent waiting for drained/disabled members to reach 0 active.
  returned: success
  type: float
  sample: 2.41
released:
  description:
    - What was done so that the balancer lets go of its idle (pooled keep-alive) connections to the
      drained members once they had nothing in flight, or null when nothing was needed (no idle
      connection, a member already in maintenance, a balancer that needs nothing or cannot, see
      O(wait)).
  returned: after a drain wait that ended in time
  type: str
  sample: "app1: 6 connection(s) before, 0 after maintenance"
drain_timed_out:
  description: True when O(drain_timeout) passed with requests still active (and O(on_drain_timeout=proceed)).
  returned: on a drain timeout
  type: bool
  sample: true
reasserted:
  description:
    - Every re-assertion of the task - a member the balancer lost the wanted state of (a reload
      or restart during the wait), put back. Empty when the balancer kept the states.
  returned: always
  type: list
  elements: dict
  sample: [{"member": "blue", "phase": "drain", "at": 1764690000.25,
            "found": {"state": "enabled", "weight": 1, "status": "UP"},
            "wanted": {"state": "drained", "weight": null}}]
  contains:
    member:
      description: Member name.
      type: str
    phase:
      description: Where the task was - V(healthy) (waiting for health) or V(drain) (waiting for the drain, or the final read).
      type: str
    at:
      description: When (seconds since the epoch).
      type: float
    found:
      description: The member as the balancer reported it (state, weight, status).
      type: dict
    wanted:
      description: What the task holds it to (state; weight where the task set one, else null).
      type: dict
restarts:
  description:
    - Reloads and restarts of the balancer the task saw - a new generation (HAProxy - the worker's
      pid, or its uptime going back; Apache - a new balancer-manager nonce; Caddy - a new process
      start time or one more configuration load (C(caddy reload), C(POST /load)) in the admin
      endpoint's C(/metrics)), with C(before) and C(after); or a time it did not answer, with
      C(unreachable_seconds) and C(error). Seen whether or not the balancer lost the states.
  returned: always
  type: list
  elements: dict
  sample: [{"phase": "drain", "at": 1764690000.1, "before": "worker pid 12", "after": "worker pid 17"}]
persistence:
  description:
    - Whether the balancer keeps the states across its own reloads and restarts, as far as it
      tells - HAProxy - C(server-state file - applied), C(- missing) (configured, not found) or
      C(- not seen) (from C(show startup-logs) - HAProxy 2.6 shows no other trace of it);
      Apache - what the balancer-manager page says; nginx - the upstream file; Caddy - null.
  returned: success
  type: str
  sample: "server-state file: applied"
ramp:
  description: Weights each member went through (the first one with the state change), by name.
  returned: when a ramp was planned
  type: dict
  sample: {"app1": [10, 25, 50, 100]}
members:
  description: Every member of the backend at the end (in check mode, at the start).
  returned: when the balancer could be read
  type: list
  elements: dict
  contains:
    name:
      description: Member name.
      type: str
    state:
      description: V(enabled), V(drained) or V(disabled).
      type: str
    weight:
      description: Current weight / load factor.
      type: raw
    health:
      description: V(up), V(down), V(unconfirmed) or V(unknown).
      type: str
    serving:
      description: Whether the balancer would send it a new request now.
      type: bool
    active:
      description: Active count (null where not observable).
      type: int
    status:
      description: The balancer's own status text (HAProxy status, Apache status flags, nginx server
        line; Caddy - where the upstream is, its in-flight count and recent fails).
      type: str
    config_weight:
      description: The weight the member was configured with (HAProxy initial weight), the target of
        a ramp without O(weight); where the balancer does not report one, its current weight.
      type: raw
  sample: [{"name": "app1", "state": "drained", "weight": 100, "health": "up", "serving": false,
            "active": 0, "status": "DRAIN", "config_weight": 100}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import (
    ARGUMENT_RULES, ARGUMENT_SPEC, run_module,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True, **ARGUMENT_RULES)
    run_module(module)


if __name__ == '__main__':
    main()
