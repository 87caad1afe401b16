# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deterministic kill points: every phase boundary of blue_green (haproxy, reuseport, reuseport
with a watch window) and of rolling_restart, plus the states inside a task where a kill hurts
most (a candidate waiting for readiness, a member draining, a container retiring with a request
in flight, a weight ramp half way). Task names are the roles' own."""

from harness import states
from harness.killpoints import KillPoint
from tables import defects

# blue_green: a deploy is one container_hotswap run (stage, switch every balancer, retire), on a
# shared port too; only a shared port with a watch window runs in phases (WATCH, PROMOTE_SHARED).
SWAP = 'Swap the container in one run - stage, switch every balancer, retire (or put it all back)'
WATCH = 'Keep watching the new container for the watch window'
PROMOTE_SHARED = 'Promote the candidate and stop the old container gracefully'
DRAIN = "Drain this backend's member and wait until nothing is in flight"
REDEPLOY = 'Redeploy the container start-first'
ENABLE = "Enable this backend's member, ramping its weight up"


def _old_slot(service):
    return service.slot_url(service.active_slot())


def _front(service):
    return service.url


# The phase boundaries are inside the one module run: the kills land in its states.
HAPROXY = [
    KillPoint('hap-before-swap', SWAP),
    KillPoint('hap-in-readiness', SWAP, reached=states.candidate_running, note='candidate up, not ready yet'),
    KillPoint('hap-in-drain', SWAP, reached=states.active_member_draining, hold=_front,
              note='switched, old member draining a request'),
    KillPoint('hap-in-retire', SWAP, reached=states.old_container_retiring, hold=_old_slot,
              note='old container stopping with a request in flight'),
]

REUSEPORT = [
    KillPoint('rp-before-swap', SWAP),
    KillPoint('rp-in-readiness', SWAP, reached=states.candidate_running, note='candidate shares the port, not ready yet'),
    KillPoint('rp-in-retire', SWAP, reached=states.old_container_retiring, hold=_front, hold_ms=6000,
              note='old container stopping with a request in flight'),
]

WATCHED = [
    KillPoint('rpw-before-watch', WATCH),
    KillPoint('rpw-in-watch', WATCH, reached=states.candidate_running, note='candidate beside the old one, watched'),
    KillPoint('rpw-before-promote', PROMOTE_SHARED),
]

ROLLING = [
    KillPoint('rr-before-drain-b2', DRAIN, occurrence=2),
    # The redeploy waits for the readiness checks and warms up inside the same call (no verify
    # task of its own): a kill in it leaves a drained member with a candidate, ready or not.
    KillPoint('rr-in-redeploy-b1', REDEPLOY, reached=states.backend('b1', states.candidate_running),
              note='b1 drained, its candidate not ready yet'),
    KillPoint('rr-before-enable-b1', ENABLE),
    KillPoint('rr-in-ramp-b1', ENABLE, reached=states.ramping('b1'), note='b1 back at part of its weight'),
]

BY_KIND = {'haproxy': HAPROXY, 'reuseport': REUSEPORT, 'watched': WATCHED, 'rolling': ROLLING}
for _seq, _point in enumerate(HAPROXY + REUSEPORT + WATCHED + ROLLING):
    _point.seq = _seq


def params(*kinds):
    """pytest parameters (kind, point) of the given service kinds."""
    return [defects.param((kind, point), point.id, point.defect) for kind in kinds for point in BY_KIND[kind]]
