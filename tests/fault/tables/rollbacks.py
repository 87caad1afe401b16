# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback paths of blue_green: a candidate that never gets ready, crashes in its warmup or
in the watch window, turns unhealthy after the cutover, and a balancer that refuses the change.
Each must end with the old version serving, the balancer as it was, zero failed requests (with
the balancer strategies; see may_fail for what reuseport documents), and a message that names
the step and the cause."""

import os
import re

from harness.rollback import RollbackCase, in_flight_per_client, sent_within
from tables import defects, kill_points


def failed_at(task):
    """The role's own failure message names the task that failed."""
    return "failed at '%s'" % re.escape(task)


WATCH = failed_at(kill_points.WATCH)
# A deploy is one module run (the balancer strategies, and a shared port without a watch window):
# its message is the failure message and names the step itself.
READY = r'ready zdt-fault-\S+-candidate failed'
WARMUP = r'warmup zdt-fault-\S+-candidate failed'
SWITCH_WATCH = r'switch to zdt-fault-\S+-candidate failed: watch of zdt-fault-\S+-candidate'
BALANCER = r"balancers\[0\] \(haproxy backend 'app'\)"

# Seconds: the candidate crashes or turns unhealthy this long after it started, well after a
# slow stage and cutover; the watch window is longer still (a crash ends it at once).
LATE = 30
WATCH_WINDOW = 90
# Seconds HAProxy's check (tests/fault/harness/fronts.py: inter 500ms fall 2) takes at most to
# take a dead server out: two failed checks, the first up to one interval after the crash.
HAPROXY_TAKE_OUT = 1.5


def quick_readiness(service, variables):
    variables['blue_green_readiness']['timeout'] = 8


def never_listens(service, variables):
    """On a shared port the only proof of readiness is the new version's own answer (the app's
    HEALTHCHECK probes the port, which the old container answers): a candidate that never binds
    never gives it. (never-ready's /health fails, but its / answers with its version.)"""
    quick_readiness(service, variables)
    variables['blue_green_container']['env']['APP_STARTUP_DELAY'] = '3600'


def warmup_outlives_a_crash(service, variables):
    """Readiness passes at once (no HEALTHCHECK wait), the warmup lasts ~10 s, the app exits
    after 3 s: the crash lands in the warmup."""
    variables['blue_green_container'].update(wait_healthy=False)
    variables['blue_green_container'].setdefault('env', {})['APP_CRASH_AFTER'] = '3'
    variables['blue_green_readiness']['warmup'] = {
        'urls': ['http://127.0.0.1:${APP_PORT}/slow?ms=20'], 'requests_per_url': 1000, 'concurrency': 2}


def watched(env):
    """A watch window, and the image's own HEALTHCHECK timings (how fast it notices matters)."""
    def vary(service, variables):
        variables['blue_green_watch'] = WATCH_WINDOW
        variables['blue_green_container'].pop('healthcheck', None)
        variables['blue_green_container'].setdefault('env', {}).update(env)
    return vary


def unknown_candidate_member(service, variables):
    candidate = 'green' if service.active_slot() == 'blue' else 'blue'
    variables['blue_green_balancers'][0]['members'][candidate] = 'no-such-server'


# The watch of the balancer strategies and the put-back after it are inside the module run: no task
# boundary to hold them at. Only the shared port's watch (WATCH) is a task of its own.


def hide_socket(service):
    os.rename(service.front.socket, service.front.socket + '.hidden')


def restore_socket(service):
    if os.path.exists(service.front.socket + '.hidden'):
        os.rename(service.front.socket + '.hidden', service.front.socket)


CASES = [
    RollbackCase('never-ready-haproxy', 'haproxy', 'never-ready', READY, r'[Nn]ot ready|[Tt]imed out|timeout',
                 vary=quick_readiness),
    RollbackCase('never-listens-reuseport', 'reuseport', 'v3', READY, r'Not ready after',
                 vary=never_listens),
    RollbackCase('crash-in-warmup-haproxy', 'haproxy', 'crash-after-ready', WARMUP, r'warm',
                 vary=warmup_outlives_a_crash),
    # During the watch the old member stays in rotation at weight 1 (blue_green_watch), so HAProxy
    # always has a member to send requests to. What a crashing candidate costs depends on the
    # front, and the README says what the role relies on: retries with option redispatch.
    # - Strict front (retries 0, no redispatch): every request HAProxy routes to the dead
    #   candidate fails (503: refused, not retried) until its own check takes it out - fall 2 x
    #   inter 500 ms, at most 1.5 s with the check's own timing - plus the requests in flight on
    #   it when it crashed (502, or 'closed' for a reused client connection). No deploy tool
    #   can save them; this case bounds them by what the load can send in that window.
    RollbackCase('crash-in-watch-haproxy', 'haproxy', 'crash-after-ready', SWITCH_WATCH, r'exited',
                 vary=watched({'APP_CRASH_AFTER': str(LATE)}),
                 may_fail=sent_within(HAPROXY_TAKE_OUT, 'strict front: routed to the crashed candidate until '
                                      'HAProxy took it out, or in flight on it', 'status 503', 'status 502',
                                      'closed')),
    # - Forgiving front (retries 3, option redispatch), the one the README asks for: a refused
    #   request goes to the old member, and only the requests in flight on the candidate when it
    #   crashes die with it: HAProxy closes their reused client connections for the client to
    #   retry ('closed') or answers 502; without L7 retries (retry-on empty-response) in the front,
    #   no deploy tool can save them. Each load client has one request in flight: one each.
    RollbackCase('crash-in-watch-haproxy-forgiving', 'forgiving', 'crash-after-ready', SWITCH_WATCH, r'exited',
                 vary=watched({'APP_CRASH_AFTER': str(LATE)}),
                 may_fail=in_flight_per_client('forgiving front: the requests in flight on the candidate when '
                                               'it crashed', 'closed', 'status 502')),
    # A candidate that crashes while it shares the port resets the connections it holds - the
    # role documents it (blue_green_watch); nothing else may fail. Each load client holds one
    # connection: at most one failed request each.
    RollbackCase('crash-in-watch-reuseport', 'watched', 'crash-after-ready', WATCH, r'exited',
                 vary=watched({'APP_CRASH_AFTER': str(LATE)}),
                 may_fail=in_flight_per_client('the connections the crashed candidate held', 'reset', 'closed')),
    RollbackCase('unhealthy-in-watch-haproxy', 'haproxy', 'v3', SWITCH_WATCH, r'unhealthy',
                 vary=watched({'APP_UNHEALTHY_AFTER': str(LATE)})),
    # The module reads every balancer before its first change: these fail with nothing changed.
    RollbackCase('unknown-member-haproxy', 'haproxy', 'v3', BALANCER, r"'no-such-server' not found",
                 vary=unknown_candidate_member),
    RollbackCase('socket-gone-haproxy', 'haproxy', 'v3', BALANCER, r'socket file does not exist',
                 fault=(kill_points.SWAP, hide_socket, restore_socket)),
]


for _seq, _case in enumerate(CASES):
    _case.seq = _seq


def params():
    return [defects.param(case, case.id, case.defect) for case in CASES]
