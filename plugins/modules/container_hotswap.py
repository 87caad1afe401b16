#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: container_hotswap
short_description: Replace a service's Docker container start-first, with rollback
version_added: 0.1.0
description:
  - Deploys a new version of one service's container without a gap - not "stop the old, start the
    new" but "start the new beside the old, wait until it is ready, then retire the old one
    gracefully".
  - A service has two B(slots), V(blue) and V(green). The container taking the traffic is the
    B(active) one and is named O(name); a new version starts in the free slot as the B(candidate)
    (C(<name>-candidate)); after the cutover the former active one is the B(previous) container
    (C(<name>-previous)), stopped and kept for an instant rollback (O(keep_previous)) or removed.
  - Labels on each container record the service, the slot, the image asked for and a hash of the
    configuration. Docker labels cannot change after creation, so the role is the container
    name (renames are atomic in the engine; two containers cannot share a name). Everything is
    read from the engine on every run; there is no state file, and a run interrupted at any
    point converges when run again.
  - B(Full swap) (O(state=present)) - create and start the candidate in the free slot, wait until
    it is ready (O(readiness), plus the container running and, when its image has a HEALTHCHECK,
    healthy), optionally warm it up, then rename it to O(name) and retire the former active
    container - its stop signal (O(stop_signal), for example C(SIGQUIT) for nginx), up to its
    stop timeout (O(stop_timeout)) to finish the requests in flight, then C(SIGKILL).
  - B(Phases), for a balancer between the slots - O(state=staged) (candidate up and ready, the
    active one untouched), O(state=promoted) (candidate becomes active, the former active one is
    retired), O(state=rolled_back) (the candidate is removed, or the previous container is
    restored). Each phase is idempotent and safe to run again after an interruption.
  - When the active container already runs the desired image (compared by image ID) with the
    desired configuration, nothing happens.
  - B(Failure before the cutover) (the candidate cannot be created or started, is not ready in
    time, exits, turns unhealthy, or its warmup fails) removes the candidate (O(keep_failed) keeps
    it), leaves the active container untouched, and fails with the reason and the candidate's
    last log lines.
  - B(With balancers) (O(balancers)) the module moves the traffic itself, in the same run and under the
    same lock - no other task between the phases. B(Blue/green) (O(balancers[].members), one member
    per slot) - stage, ready, warmup, then the B(switch) on every balancer - the candidate's member
    into rotation (one change), wait until the balancer itself reports it up (O(healthy_timeout)),
    the old member drained, wait for 0 requests in flight (O(drain_timeout)) - an optional watch
    (O(watch)), a re-check of every balancer right before the old container is retired, then the
    retire. B(Rolling) (O(balancers[].member), the one member that serves whichever container) -
    the member drained before the first change, the container replaced, the member re-checked right
    before the old container stops, then enabled again once the balancer reports it up.
  - B(Re-check before capacity goes) - right before a container that no longer serves is stopped,
    the module reads every balancer again. A member the balancer put back into rotation (a reload
    or restart that forgot the runtime state) is drained again, and its drain waited for again;
    each such re-assertion is returned in RV(reasserted) and warned about. Blue/green reads them
    once more after the old container is gone (phase C(after retiring the old container)) - a
    reload while it stopped has put its member back, pointing at nothing.
  - B(Failure before the old container is retired) (the candidate not ready, the balancer not
    reporting it up in time, a drain timeout, a failed watch) puts every balancer this run changed
    back - the old member into rotation with its weight from before, the candidate's member
    drained - and then removes the candidate. The message says which balancers were put back and
    which could not be; a candidate that a balancer which could not be put back may still send
    requests to is kept running (and the message says so).
  - A per-service lock on the Docker engine keeps two deploys of one service from interleaving
    (O(lock_timeout), O(lock_ttl)); it is taken by the run and released at its end. With
    O(balancers) a whole deploy is one run, so the lock covers the switch and the retire too.
author:
  - zerodowntime.deploy contributors (@zerodowntime)
extends_documentation_fragment:
  - zerodowntime.deploy.readiness.nested
  - zerodowntime.deploy.docker
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  check_mode:
    support: full
    details: Reports the plan (RV(plan), which slot, which container would start, stop or be
      removed, and with O(balancers) which member each balancer would put in or take out of
      rotation) without changing anything, without pulling an image and without taking the lock;
      with O(balancers) it reads them.
  diff_mode:
    support: full
    details: Image, image ID, slot and configuration of the active, candidate and previous
      containers, before and after, and with O(balancers) the state and weight of each member.
      Environment values are never shown, only which variables changed.
  idempotent:
    description: Running the task again with the same options on an unchanged system changes nothing.
    support: full
  platform:
    platforms: posix
  action_group:
    membership:
      - zerodowntime.deploy.deploy
options:
  name:
    description:
      - The service. Its active container has this name; the candidate and previous containers
        add C(-candidate) and C(-previous), the deploy lock is C(<name>-hotswap-lock).
    type: str
    required: true
  state:
    description:
      - V(present) - full swap; the active container runs the desired image and configuration.
      - V(staged) - a ready candidate of the desired image and configuration runs in the free slot
        beside the untouched active container (nothing to stage when the active one is already
        the desired version; a candidate of another version is removed then).
      - V(promoted) - the candidate becomes the active container and the former active one is
        retired. With O(image), the candidate must be that version (else the task fails); with
        no candidate and the active container already that version, nothing happens.
      - V(rolled_back) - a candidate is removed; without one, the previous container is started
        (if stopped), must be ready, and becomes the active one again while the rolled-back one
        is retired and removed - with O(balancers), after the traffic was switched back to it
        through them. Nothing to roll back is not an error (a warning says so). No image is pulled.
      - V(absent) - every container of the service is stopped gracefully and removed.
    type: str
    default: present
    choices: [present, staged, promoted, rolled_back, absent]
  strategy:
    description:
      - How traffic moves from the old container to the new one.
      - V(balancer) - each slot has its own address (per-slot O(slots.blue.env) or
        O(slots.blue.published_ports)); a balancer in front moves traffic, typically between
        O(state=staged) and O(state=promoted).
      - V(reuseport) - both slots share one network namespace (O(network_mode=host), the default
        with this strategy, or V(container:<name>)) and bind the same port with C(SO_REUSEPORT);
        the cutover is the old container's graceful stop. The module makes sure
        C(net.ipv4.tcp_migrate_req) is V(1) there (see O(tcp_migrate_req)).
      - With V(reuseport), a readiness check on the shared port may be answered by the active
        container; use checks that only the candidate passes (a body or header with its version,
        its own unix socket or pid file) or a HEALTHCHECK that probes the candidate itself.
    type: str
    default: balancer
    choices: [balancer, reuseport]
  tcp_migrate_req:
    description:
      - O(strategy=reuseport) only. When a listener closes, connections still in its accept queue
        are reset unless C(net.ipv4.tcp_migrate_req=1) (Linux 5.14 or later) hands them to the
        other listener of the port.
      - V(require) - set it to V(1) where the slots listen, and fail before any change when that
        cannot be done (kernel without it, not root, remote engine, or a V(container:<name>)
        network namespace created without C(--sysctl net.ipv4.tcp_migrate_req=1)).
      - V(warn) - the same, but warn and go on when it cannot be done.
      - V(ignore) - do not look.
      - With O(network_mode=host) the value belongs to the Docker host, so the module must run on
        that host (engine reached over a local unix socket) to read or set it.
    type: str
    default: require
    choices: [require, warn, ignore]
  keep_previous:
    description:
      - Keep the retired container, stopped, as C(<name>-previous) for O(state=rolled_back).
        It is removed when the next version is staged in its slot.
      - With V(false) (or not set) the retired container is removed, and so is a stopped
        C(<name>-previous) that O(state=present), O(state=staged) or O(state=promoted) finds (a
        run killed between stopping and removing it leaves one).
      - With O(state=rolled_back), V(false) means that a stopped C(<name>-previous) beside an active
        container is no rollback point (a run that was to remove it was interrupted) - it is removed,
        not restored, and a warning says so. Not set or V(true), it is restored. A running one (a
        cutover interrupted while retiring it) is restored either way.
    type: bool
  keep_failed:
    description:
      - Keep a candidate that failed before the cutover (for debugging) instead of removing it.
        The next run replaces it, or reuses it when it is the same version and still running.
    type: bool
    default: false
  wait_healthy:
    description:
      - Besides O(readiness.checks), wait until the container's own HEALTHCHECK (when it has one)
        reports C(healthy), and fail at once when it turns C(unhealthy) after having been healthy.
      - The engine runs the first health check one HEALTHCHECK interval after the start, so this
        adds up to one interval to every swap. With V(false) the container must only be running
        (an exit still fails at once) and O(readiness.checks) decide.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for another deploy of the same service to release the lock before
        failing with the name of its holder. V(0) fails at once.
    type: float
    default: 300
  lock_ttl:
    description:
      - Seconds after which a lock left behind (by a run that was killed) is taken over. A lock
        whose holder ran on the same machine and is gone is taken over at once.
      - Must be longer than the longest deploy of the service (with O(balancers), including the
        drain and the watch).
    type: int
    default: 1800
  image:
    description:
      - The image to run, for example V(registry.example.com/app:2.1). Compared by image ID.
      - Required for O(state=present) and O(state=staged).
      - With O(state=promoted), the version the candidate must be (the image must be present).
        Ignored by O(state=rolled_back) and O(state=absent).
    type: str
  pull:
    description:
      - V(missing) - pull only when the image is not on the engine.
      - V(always) - pull before every deploy (a failed pull fails the task).
      - V(never) - use the image on the engine only.
      - An image that cannot be had fails the task before anything is changed.
    type: str
    default: missing
    choices: [missing, always, never]
  command:
    description:
      - Command of the container (a list, or a string split like a shell would).
        Defaults to the image's.
    type: raw
  entrypoint:
    description:
      - Entrypoint of the container. Defaults to the image's.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values must be strings or numbers; quote V(true)/V(false).
      - Applied after O(env_files), before the slot's own O(slots.blue.env).
    type: dict
    default: {}
  env_files:
    description:
      - Files on the managed host with C(KEY=VALUE) lines (the rules of C(docker run --env-file)).
    type: list
    elements: path
    default: []
  labels:
    description:
      - Labels of the container. Keys starting with C(zerodowntime.) are reserved.
    type: dict
    default: {}
  mounts:
    description:
      - Mounts of the container.
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description:
          - Mount type.
        type: str
        default: volume
        choices: [bind, volume, tmpfs]
      source:
        description:
          - Absolute host path (V(bind)), volume name (V(volume); none for an anonymous volume).
            None for V(tmpfs).
        type: str
      target:
        description:
          - Absolute path in the container.
        type: str
        required: true
      read_only:
        description:
          - Mount read-only.
        type: bool
        default: false
      tmpfs_size:
        description:
          - Size of a V(tmpfs) mount, for example V(64m).
        type: str
  volumes:
    description:
      - Mounts in the short C(docker run -v) syntax, C(source:target[:ro|rw]) or C(target) for an
        anonymous volume; a source starting with C(/) is a bind mount, else a volume name.
    type: list
    elements: str
    default: []
  network_mode:
    description:
      - V(host), V(none), V(bridge), V(container:<name>) or the name of a network.
        Defaults to the engine's default (V(bridge)), or to V(host) with O(strategy=reuseport),
        or to the first of O(networks).
    type: str
  networks:
    description:
      - User-defined networks to join, each with its aliases (the same aliases on both slots
        make the service name resolve to the slots that are running).
      - Every network must exist; the task fails before any change otherwise.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Network name.
        type: str
        required: true
      aliases:
        description:
          - DNS aliases of the container on this network.
        type: list
        elements: str
        default: []
  user:
    description:
      - User (and group) the container runs as, C(user[:group]).
    type: str
  working_dir:
    description:
      - Working directory in the container.
    type: str
  restart_policy:
    description:
      - Restart policy of the container. A container stopped by this module stays stopped.
    type: str
    default: 'no'
    choices: ['no', on-failure, always, unless-stopped]
  restart_retries:
    description:
      - Maximum restarts with O(restart_policy=on-failure).
    type: int
  memory:
    description:
      - Memory limit, for example V(512m) or V(1g).
    type: str
  cpus:
    description:
      - CPU limit in CPUs, for example V(1.5).
    type: float
  pids_limit:
    description:
      - Maximum number of processes in the container.
    type: int
  log_driver:
    description:
      - Logging driver, for example V(json-file) or V(local). Defaults to the engine's.
    type: str
  log_options:
    description:
      - Options of O(log_driver), for example C(max-size).
    type: dict
    default: {}
  healthcheck:
    description:
      - Docker HEALTHCHECK of the container, replacing the image's. The module waits for
        C(healthy) and fails at once on C(unhealthy) after having been healthy.
      - Durations are seconds, or Go-style like V(1m30s) or V(500ms).
    type: dict
    suboptions:
      test:
        description:
          - Command, as a list (exec form; C(CMD) prepended unless it starts with C(CMD),
            C(CMD-SHELL) or C(NONE)) or a string (run by the shell).
          - Without it the image's test is kept and only the given timings change (for example a
            shorter O(healthcheck.interval), so that the first check comes sooner).
        type: raw
      interval:
        description:
          - Time between two checks.
        type: str
      timeout:
        description:
          - Time one check may take.
        type: str
      retries:
        description:
          - Failures in a row before the container is unhealthy.
        type: int
      start_period:
        description:
          - Start-up time during which failures do not count.
        type: str
      disable:
        description:
          - Disable the image's HEALTHCHECK.
        type: bool
        default: false
  stop_signal:
    description:
      - Signal that asks the container to stop gracefully (for example V(SIGQUIT) for nginx,
        V(SIGTERM), V(SIGWINCH) for Apache). Names with or without C(SIG), or numbers.
      - Defaults to the image's C(STOPSIGNAL), or C(SIGTERM).
    type: str
  stop_timeout:
    description:
      - Seconds a container gets after its stop signal to finish its requests in flight before it
        is killed.
    type: int
    default: 10
  balancers:
    description:
      - The balancers in front of the service. With them the module switches the traffic itself (see
        the description) - blue/green with O(balancers[].members), rolling with O(balancers[].member);
        every entry uses the same one of the two.
      - Blue/green works with O(state=present), O(state=staged) (the candidate's member stays
        drained), O(state=promoted) (the switch, then the retire) and O(state=rolled_back) (back to
        the previous container - started if stopped, ready, switch, the current one retired; no
        pull). Rolling works with O(state=present) and O(state=rolled_back).
      - A run that switches nothing still makes sure the active slot's member is in rotation and the
        other slot's member drained (blue/green), or that the member is in rotation (rolling);
        C(changed) only when a balancer had to change.
      - Invalid entries fail before any change, naming the entry (C(balancers[1] ...)).
    type: list
    elements: dict
    suboptions:
      balancer:
        description:
          - The kind of balancer, as O(zerodowntime.deploy.balancer_member#module:balancer).
        type: str
        required: true
        choices: [apache, caddy, haproxy, nginx]
      backend:
        description:
          - The backend, as O(zerodowntime.deploy.balancer_member#module:backend).
        type: str
        required: true
      members:
        description:
          - Blue/green - the member of each slot (names as
            O(zerodowntime.deploy.balancer_member#module:member)). The active slot's member is in
            rotation, the other one drained (parked) between deploys.
          - Mutually exclusive with O(balancers[].member); one of the two is required.
        type: dict
        suboptions:
          blue:
            description: The member that reaches the V(blue) slot.
            type: str
            required: true
          green:
            description: The member that reaches the V(green) slot.
            type: str
            required: true
      member:
        description:
          - Rolling - the one member that serves whichever container is active (for example
            O(strategy=reuseport) with both slots on one port). It is drained before the first change
            of a swap, re-checked right before the old container stops, and enabled again at the end.
          - When the container is already the desired one, nothing is drained; the member is only
            made sure to be in rotation.
        type: str
      connection:
        description:
          - How to reach the balancer - the connection options of
            M(zerodowntime.deploy.balancer_member), as they are there - C(haproxy_socket),
            C(apache_url), C(apache_username), C(apache_password), C(apache_validate_certs),
            C(apache_ca_path), C(apache_client_cert), C(apache_client_key),
            C(apache_stale_busy_after), C(nginx_config), C(nginx_container), C(nginx_binary),
            C(nginx_main_config), C(nginx_pid_file), C(caddy_admin), C(caddy_origin),
            C(caddy_validate_certs), C(caddy_ca_path), C(caddy_client_cert), C(caddy_client_key),
            C(request_timeout), C(poll_interval), and C(healthy_timeout) (this balancer's, instead of
            O(healthy_timeout)).
          - Validated like that module's options; an unknown key fails before any change.
        type: dict
        default: {}
  drain_timeout:
    description:
      - With O(balancers) - seconds to wait for the old member's requests in flight to finish after it
        was drained (each balancer, each drain).
    type: float
    default: 300
  on_drain_timeout:
    description:
      - With O(balancers) - what happens when O(drain_timeout) passes with requests (or long-lived
        connections - websockets, server-sent events, long polls) still open on the old member.
      - V(fail) - fail the deploy before the old container is retired - the balancers are put back,
        the candidate is removed, the old container keeps serving and nothing is lost. The default,
        because a deploy should never cut a user's connection unless told so, and because a drain
        that does not end is usually something the operator wants to see (a stuck request, a
        drain_timeout shorter than the longest request).
      - V(close) - go on - the old container gets its graceful stop signal (O(stop_signal)), which a
        well-behaved app answers by closing what remains cleanly (close frame, end of stream); what
        was still open is counted in RV(long_lived).
      - Apache - a drained member whose counters have not moved for C(apache_stale_busy_after)
        (default 10 s) counts as idle, and an open websocket or event stream moves none of them;
        with V(fail) and long-lived connections, set C(connection.apache_stale_busy_after) to at
        least O(drain_timeout), or the drain ends before the deadline and the stop closes them.
      - Caddy 2.6 - every change through its admin API is a configuration reload that ends every
        long-lived connection on every upstream (measured - see docs/long-lived.md), so neither
        choice can keep them open.
    type: str
    default: fail
    choices: [fail, close]
  healthy_timeout:
    description:
      - With O(balancers) - seconds to wait until the balancer itself reports a member it put into
        rotation as up (its own health checks), before the old member is drained. A balancer entry
        may set its own in O(balancers[].connection).
    type: float
    default: 60
  watch:
    description:
      - With O(balancers) (blue/green) - seconds to watch the new container under real traffic before
        the old member is drained - it must stay running (and healthy, with a HEALTHCHECK) the whole
        time. During the watch the old member stays in rotation at weight 1, so that the balancer
        itself has a fallback the moment the candidate fails its health check; a failed watch puts
        everything back. Balancers without weights (Caddy) drain the old member at once.
      - V(0) - no watch.
    type: float
    default: 0
  min_active:
    description:
      - With O(balancers) - the last-member guard of M(zerodowntime.deploy.balancer_member) - a drain
        that would leave fewer members of the backend serving fails (before the drain) instead.
    type: int
    default: 1
  slots:
    description:
      - Settings that differ between the slots. Both slots run at the same time during a swap,
        so with O(strategy=balancer) each needs its own port.
    type: dict
    default: {}
    suboptions:
      blue:
        description:
          - Settings of the V(blue) slot.
        type: dict
        default: {}
        suboptions:
          env:
            description:
              - Environment variables of this slot, on top of O(env) (for example C(APP_PORT) with
                host networking).
            type: dict
            default: {}
          published_ports:
            description:
              - Ports published on the host, C([ip:][host_port:]container_port[/tcp|udp]). Not with
                host or container network modes. A host port that is already taken fails the task
                before any change.
            type: list
            elements: str
            default: []
          vars:
            description:
              - Extra values for the C(${NAME}) placeholders of O(readiness) in this slot (not
                passed to the container).
            type: dict
            default: {}
      green:
        description:
          - Settings of the V(green) slot; the same keys as O(slots.blue).
        type: dict
        default: {}
        suboptions:
          env:
            description:
              - Environment variables of this slot, on top of O(env).
            type: dict
            default: {}
          published_ports:
            description:
              - Ports published on the host, C([ip:][host_port:]container_port[/tcp|udp]).
            type: list
            elements: str
            default: []
          vars:
            description:
              - Extra values for the C(${NAME}) placeholders of O(readiness) in this slot.
            type: dict
            default: {}
notes:
  - "Readiness per slot: in the string values of O(readiness.checks) and O(readiness.warmup)
    (except O(readiness.checks[].body_regex)), C(${NAME}) is replaced with the value for the
    slot being checked - V(SLOT) (V(blue) or V(green)), any environment variable of that slot's
    container (O(env_files), O(env), O(slots.blue.env)), or O(slots.blue.vars). For example
    C(http://127.0.0.1:${APP_PORT}/health). An unknown name fails the task before any change.
    Integer options such as O(readiness.checks[].port) cannot hold placeholders; use an V(http)
    check with a URL. (Options of type path also expand the managed host's environment
    variables first.)"
  - The module always adds a check of the container it waits for - running, and healthy when it
    has a HEALTHCHECK - so a container that exits or turns unhealthy fails at once.
  - Other failures before any change - invalid options, a stop signal the engine does not know,
    invalid mounts or ports, a network that does not exist, an image that cannot be had, a
    published host port already taken, an unreachable engine, a lock held by another deploy.
  - A failure after the cutover (for example retiring the old container) fails the task, says
    what runs now, and leaves the rest for the next run, which converges.
  - Without O(balancers), traffic moves only as the strategy and the balancer move it; this module
    never edits a balancer then (see M(zerodowntime.deploy.balancer_member) and the C(blue_green) role).
  - With O(balancers), the balancer connection options are those of
    M(zerodowntime.deploy.balancer_member) (O(balancers[].connection)), and the Docker connection
    options of this module serve an nginx in a container (C(nginx_container)) too.
  - "With O(balancers), O(state=absent) does not touch the balancers: take the members out first."
  - "Check mode with O(balancers) reads the balancers (nothing else) and reports the balancer steps in
    RV(plan) and the members' states before and after in the diff."
  - "Check mode pulls nothing: an image that a real run would pull is reported in RV(plan) as
    C(pull image ...), and its ID is not known then."
  - "A member whose health the balancer does not check (nginx open source, a server without
    C(check)) counts as up as soon as it is in rotation."
seealso:
  - module: zerodowntime.deploy.wait_ready
    description: The readiness checks this module runs on the candidate.
  - module: community.docker.docker_container
    description: Manages one container; recreating it stops the old one first.
requirements:
  - Python 3.8 or later on the managed host.
'''

EXAMPLES = r'''
- name: Swap the nginx front on a shared port (reuseport) - no balancer needed
  zerodowntime.deploy.container_hotswap:
    name: front
    image: registry.example.com/front:1.25.3
    strategy: reuseport          # network_mode host; net.ipv4.tcp_migrate_req set to 1
    stop_signal: SIGQUIT         # the old nginx finishes its requests in flight
    stop_timeout: 30
    readiness:
      checks:
        # on a shared port either container may answer: wait for the new version's answer
        - type: http
          url: http://127.0.0.1:80/version
          body: 1.25.3
      timeout: 30

- name: Full swap of an app, one port per slot on the host network, previous kept for rollback
  zerodowntime.deploy.container_hotswap:
    name: shop
    image: registry.example.com/shop:{{ shop_version }}
    network_mode: host
    env:
      APP_HOST: 127.0.0.1
    env_files:
      - /etc/shop/shop.env
    slots:
      blue:
        env: {APP_PORT: "8081"}
      green:
        env: {APP_PORT: "8082"}
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:${APP_PORT}/health
      timeout: 90
      warmup:
        urls:
          - http://127.0.0.1:${APP_PORT}/
          - http://127.0.0.1:${APP_PORT}/catalog
        requests_per_url: 20
    keep_previous: true
    restart_policy: unless-stopped
    memory: 512m
  register: shop

- name: Bridge network with published ports per slot, behind a balancer
  zerodowntime.deploy.container_hotswap:
    name: api
    image: registry.example.com/api:3.2.0
    state: staged
    networks:
      - name: backend
        aliases: [api]
    slots:
      blue:
        published_ports: ["127.0.0.1:9001:8080"]
        vars: {HOST_PORT: "9001"}
      green:
        published_ports: ["127.0.0.1:9002:8080"]
        vars: {HOST_PORT: "9002"}
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:${HOST_PORT}/health
  register: staged

# ... enable staged.candidate.slot in the balancer, drain the other slot (balancer_member) ...

- name: Promote the staged candidate
  zerodowntime.deploy.container_hotswap:
    name: api
    image: registry.example.com/api:3.2.0
    state: promoted
    keep_previous: true

- name: Roll back (removes the candidate, or restores the previous container)
  zerodowntime.deploy.container_hotswap:
    name: api
    state: rolled_back
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:${HOST_PORT}/health
    slots:
      blue:
        vars: {HOST_PORT: "9001"}
      green:
        vars: {HOST_PORT: "9002"}

- name: Blue/green behind HAProxy in one run - switch, 30 s watch, re-check, retire
  zerodowntime.deploy.container_hotswap:
    name: api
    image: registry.example.com/api:3.2.0
    network_mode: host
    slots:
      blue:
        env: {APP_PORT: "9001"}
      green:
        env: {APP_PORT: "9002"}
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:${APP_PORT}/health
    keep_previous: true
    balancers:
      - balancer: haproxy
        backend: api
        members: {blue: api_blue, green: api_green}
        connection:
          haproxy_socket: /run/haproxy/admin.sock
    watch: 30
    drain_timeout: 120
  register: deployed

- name: Swap back to the previous container through the balancers (no pull)
  zerodowntime.deploy.container_hotswap:
    name: api
    state: rolled_back
    network_mode: host
    slots:
      blue:
        env: {APP_PORT: "9001"}
      green:
        env: {APP_PORT: "9002"}
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:${APP_PORT}/health
    balancers:
      - balancer: haproxy
        backend: api
        members: {blue: api_blue, green: api_green}
        connection:
          haproxy_socket: /run/haproxy/admin.sock

- name: Two balancers (HAProxy and Apache) switched together; websockets closed after 10 minutes
  zerodowntime.deploy.container_hotswap:
    name: chat
    image: registry.example.com/chat:5.0
    network_mode: host
    stop_signal: SIGTERM
    slots:
      blue:
        env: {APP_PORT: "7001"}
      green:
        env: {APP_PORT: "7002"}
    balancers:
      - balancer: haproxy
        backend: chat
        members: {blue: chat1, green: chat2}
        connection: {haproxy_socket: /run/haproxy/admin.sock}
      - balancer: apache
        backend: chat
        members: {blue: "http://10.0.0.5:7001", green: "http://10.0.0.5:7002"}
        connection:
          apache_url: https://lb2.example.com/balancer-manager
          apache_username: admin
          apache_password: "{{ vault_balancer_password }}"
    drain_timeout: 600
    on_drain_timeout: close
  register: chat

- name: Rolling - one backend member, drained, replaced on its shared port, enabled again
  zerodowntime.deploy.container_hotswap:
    name: app1
    image: registry.example.com/app:2.0
    strategy: reuseport
    env: {APP_PORT: "8081"}
    readiness:
      checks:
        - type: http
          url: http://127.0.0.1:8081/version
          body: "2.0"
    balancers:
      - balancer: haproxy
        backend: app
        member: app1
        connection: {haproxy_socket: /run/haproxy/admin.sock}

- name: Remove the service
  zerodowntime.deploy.container_hotswap:
    name: api
    state: absent
'''

RETURN = r'''
plan:
  description: What the task does (in check mode, would do), one line per step, in order.
  returned: always
  type: list
  elements: str
  sample:
    - create shop-candidate in slot green (image registry.example.com/shop:2.1)
    - start shop-candidate
    - wait until shop-candidate (slot green) is ready
    - rename shop to shop-previous
    - rename shop-candidate to shop
    - stop shop-previous (SIGTERM, up to 10s, then kill) and remove it
state:
  description: The O(state) asked for.
  returned: always
  type: str
  sample: present
active:
  description:
    - The active container afterwards (in check mode, as predicted; C(id) is V(null) for a
      container that would be created). V(null) when there is none.
  returned: success, and on failure after the engine was read
  type: dict
  contains:
    id:
      description: Container ID.
      type: str
    name:
      description: Container name.
      type: str
    role:
      description: V(active), V(candidate) or V(previous).
      type: str
    slot:
      description: V(blue) or V(green).
      type: str
    image:
      description: The image asked for when the container was created.
      type: str
    image_id:
      description: ID of the image the container runs.
      type: str
    config_hash:
      description: Hash of the container's configuration.
      type: str
    status:
      description: Engine status (V(running), V(exited), V(created)...).
      type: str
    health:
      description: Health status, V(null) without a HEALTHCHECK.
      type: str
  sample:
    id: 4f6c1e...
    name: shop
    role: active
    slot: green
    image: registry.example.com/shop:2.1
    image_id: sha256:9d2b...
    config_hash: 1b7c...
    status: running
    health: healthy
candidate:
  description: The candidate container afterwards, the same keys as RV(active); V(null) when none.
  returned: success, and on failure after the engine was read
  type: dict
previous:
  description: The previous container afterwards, the same keys as RV(active); V(null) when none.
  returned: success, and on failure after the engine was read
  type: dict
readiness:
  description:
    - Outcome of the last readiness wait (the candidate's, or the previous container's when a
      rollback restored it); V(null) when there was none.
    - C(ok), C(elapsed) (seconds), C(attempts), C(checks) (last result of each check, the
      container check first), C(msg), C(failed_fast).
  returned: when a readiness wait ran
  type: dict
warmup:
  description: Warmup statistics (see M(zerodowntime.deploy.wait_ready)); V(null) without warmup.
  returned: when a warmup ran
  type: dict
retired:
  description: One entry per container stopped by the task.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the container when it was stopped.
      type: str
    role:
      description: Its role then.
      type: str
    id:
      description: Container ID.
      type: str
    signal:
      description: Its stop signal.
      type: str
    timeout:
      description: Seconds it had before being killed.
      type: int
    elapsed:
      description: Seconds it took to stop.
      type: float
    exit_code:
      description: Its exit code.
      type: int
    forced:
      description: V(true) when it had to be killed after the timeout.
      type: bool
candidate_logs:
  description: Last log lines of a candidate that failed before the cutover.
  returned: on failure before the cutover
  type: list
  elements: str
sysctl:
  description:
    - O(strategy=reuseport) - C(name), C(where), C(before), C(after), C(changed), C(msg) of
      C(net.ipv4.tcp_migrate_req).
  returned: with O(strategy=reuseport)
  type: dict
  sample:
    name: net.ipv4.tcp_migrate_req
    where: host
    before: '0'
    after: '1'
    changed: true
    msg: net.ipv4.tcp_migrate_req set from 0 to 1
lock:
  description:
    - The deploy lock - C(name), C(id), C(waited) (seconds), C(took_over) (stale locks taken over,
      with their holders), C(expires_in) (seconds of the lease, O(lock_ttl)).
  returned: when the lock was taken (not in check mode)
  type: dict
  sample:
    name: api-hotswap-lock
    id: 0d2c...
    waited: 0.0
    took_over: []
    expires_in: 1800
balancers:
  description:
    - With O(balancers) - one entry per balancer, in order (in check mode C(after) is the plan).
  returned: when O(balancers) is given (not with O(state=absent))
  type: list
  elements: dict
  contains:
    balancer:
      description: The kind of balancer.
      type: str
    backend:
      description: The backend.
      type: str
    before:
      description: The members of this entry (both slots', or the rolling one) before the run - C(state),
        C(weight), C(health), C(status), by name.
      type: dict
    after:
      description: The same, at the end.
      type: dict
    up_seconds:
      description: Seconds spent putting members into rotation and waiting until the balancer reported them up.
      type: float
    drain_seconds:
      description: Seconds spent waiting for drained members to reach 0 in flight.
      type: float
    active_at_switch:
      description: Requests or connections the old member (rolling - the member) still had when it was
        drained; V(null) when nothing was drained.
      type: int
    reasserted:
      description: This balancer's re-assertions (see RV(reasserted)).
      type: list
      elements: dict
    restarts:
      description:
        - Every reload or restart of this balancer the run saw while it waited or re-checked - C(phase),
          C(at) (seconds since the epoch) and either C(before)/C(after) (HAProxy - the worker's pid; Apache -
          the balancer-manager's nonce) or C(unreachable_seconds)/C(error) (it did not answer for a moment).
        - As RV(zerodowntime.deploy.balancer_member#module:restarts) of balancer_member; see C(docs/balancer-reloads.md).
      type: list
      elements: dict
    persistence:
      description:
        - Whether the balancer keeps runtime states across its own reloads and restarts, read
          before any change - as RV(zerodowntime.deploy.balancer_member#module:persistence) of
          balancer_member (HAProxy - C(server-state file - applied), C(- missing) or C(- not seen)).
      type: str
  sample:
    - balancer: haproxy
      backend: api
      before: {api_blue: {state: enabled, weight: 100, health: up, status: UP},
               api_green: {state: drained, weight: 100, health: down, status: DOWN}}
      after: {api_blue: {state: drained, weight: 100, health: up, status: DRAIN},
              api_green: {state: enabled, weight: 100, health: up, status: UP}}
      up_seconds: 0.62
      drain_seconds: 0.41
      active_at_switch: 12
      reasserted: []
      restarts: []
      persistence: "server-state file: applied"
reasserted:
  description:
    - Every member a balancer lost the state of during the run (a reload, a restart) and that the
      module set again before capacity was removed - C(balancer), C(backend), C(member), C(found)
      (C(state), C(weight), C(status) the balancer reported), C(wanted) (C(state), C(weight); V(null)
      weight - any), C(phase) (the step it was about to take, or C(after retiring the old
      container)).
  returned: when O(balancers) is given (not with O(state=absent))
  type: list
  elements: dict
  sample:
    - balancer: haproxy
      backend: api
      member: api_blue
      found: {state: enabled, weight: 100, status: UP}
      wanted: {state: drained, weight: null}
      phase: stopping api-previous
long_lived:
  description:
    - Connections still open on the old member - C(open_at_switch) (its active count when it was
      drained, summed over the balancers), C(open_at_deadline) (still open when O(drain_timeout)
      passed) and C(closed) (of those, closed by the graceful stop with O(on_drain_timeout=close)).
    - All V(0) in check mode.
  returned: when O(balancers) is given (not with O(state=absent))
  type: dict
  sample: {open_at_switch: 14, open_at_deadline: 2, closed: 2}
timings:
  description: Seconds per phase - C(pull), C(lock), C(create), C(start), C(ready), C(warmup),
    C(switch) (balancer changes and waiting until the balancers report members up, without the drain
    wait and the watch), C(drain) (waiting for 0 in flight), C(cutover) (renames), C(retire) (graceful
    stops and removals), C(total).
  returned: always
  type: dict
  sample:
    pull: 0.004
    lock: 0.012
    create: 0.061
    start: 0.187
    ready: 1.412
    warmup: 0.0
    switch: 0.0
    drain: 0.0
    cutover: 0.03
    retire: 0.421
    total: 2.214
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import (
    REQUIRED_IF, REQUIRED_TOGETHER, argument_spec, run_module)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_if=REQUIRED_IF,
                           required_together=REQUIRED_TOGETHER, supports_check_mode=True)
    run_module(module)


if __name__ == '__main__':
    main()
