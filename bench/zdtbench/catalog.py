"""Which strategies run under which loads, how many swaps each: the quick, default and full plans.

A run puts one or more loads on the same swaps at the same time (a load group): the default plan
runs 256 keep-alive and 256 non-keep-alive clients together, each load counted apart (its own
record). That halves the runs, and the machine carries 512 clients during those swaps — a harsher
load than either alone; the report says which loads ran together.

Every client waits THINK_SECONDS after an answer before its next request, as users and API
callers do: 512 clients then send about 2,500 requests/s, about 40 % of what the app alone
serves on 2 cores, so latency and throughput during a swap are measured against a steady state
that has headroom, and the deploy's own processes are not starved by the clients (in production
the clients are other machines). --think 0 gives the stress variant: every client sends its next
request at once, the machine saturates (and the p99 is mostly queueing).

- quick: 16 clients keep-alive and 16 not at once, 2 swaps per strategy (rolling_restart: 1); the
  playbook plumbing check runs in it only while none of the collection's strategies can run.
- default (meant to fit 15 minutes on 2 cores): every strategy under 256 clients keep-alive and
  not at once; the baselines with 5 swaps (enough to show how they fail), the collection's
  strategies with at least the targets' 20 swaps: blue_green 20 deploys, rolling_restart 7
  rolling restarts over 3 backends = 21 backend replacements, each reported as a swap.
- full: every strategy under every load (4, 64, 256 clients, keep-alive and not, each load on its
  own), the collection's strategies with 20 deploys / rolling restarts, and the rolling_restart
  scale series (3, 6, 12 backends, one rolling restart each; also --scale).
--swaps overrides the number of deploys / rolling restarts of the collection's strategies.
"""

import collections

from zdtbench.baselines import all_baselines
from zdtbench.playbook import PlaybookStrategy

# pause: think time, seconds a client waits after an answer before its next request.
Load = collections.namedtuple('Load', 'concurrency keepalive pause', defaults=(0.0,))
THINK_SECONDS = 0.2
# loads: a tuple of Loads sent at the same time against the same swaps, each accounted apart.
RunPlan = collections.namedtuple('RunPlan', 'strategy loads swaps backends')

LOADS = [Load(concurrency, keepalive, THINK_SECONDS) for concurrency in (4, 64, 256) for keepalive in (True, False)]
TARGET_LOADS = [Load(256, True, THINK_SECONDS), Load(256, False, THINK_SECONDS)]
# Load groups: the loads of one group run together.
FULL_GROUPS = [(load,) for load in LOADS]
DEFAULT_GROUPS = [tuple(TARGET_LOADS)]
QUICK_GROUPS = [(Load(16, True, THINK_SECONDS), Load(16, False, THINK_SECONDS))]
SCALE_GROUP = (Load(64, True, THINK_SECONDS),)
SCALE_BACKENDS = (3, 6, 12)
SCALE_SWAPS = 1
BASELINE_SWAPS = 5
TARGET_SWAPS = 20
# A rolling restart reports each backend it replaces as a swap (bench/playbooks/rolling_restart):
# 7 rolling restarts over 3 backends are 21 swaps.
DEFAULT_SWAPS = dict(blue_green=TARGET_SWAPS, rolling_restart=7)
QUICK_SWAPS = dict(baseline=2, plumbing=2, blue_green=2, rolling_restart=1)
# The kinds whose runs get the swap counts of the collection's strategies and share the time budget:
# ours and the peers they are measured against.
BUDGETED_KINDS = ('ours', 'peer')
BLUE_GREEN_TRAFFIC = ('reuseport', 'haproxy', 'apache', 'nginx', 'caddy')
ROLLING_BALANCERS = ('haproxy', 'apache', 'nginx', 'caddy')
DEFAULT_BACKENDS = 3
# The baseline doing by hand what blue_green does with that traffic strategy (wall-time target).
HAND_SCRIPTS = dict(reuseport='reuseport-sigquit-migrate-on', haproxy='haproxy-runtime-api')
# A peer strategy is named after the strategy of ours it is compared with, plus this suffix.
PEER_SUFFIX = '-peer'
PEER_COLLECTIONS = ('community.general', 'community.docker')


def load_label(load):
    return 'c=%d %s%s' % (load.concurrency, 'keep-alive' if load.keepalive else 'close',
                          ', think %g s' % load.pause if load.pause else ', no think time')


def group_label(loads):
    """'c=256 keep-alive + c=256 close': the loads of a group, sent at the same time."""
    return ' + '.join(load_label(load) for load in loads)


def ours():
    """The collection's strategies: a playbook per role and traffic strategy (each sets up its own
    fronts), pending until both exist."""
    strategies = [
        PlaybookStrategy('blue_green-%s' % traffic, 'blue_green_%s.yml' % traffic, role='blue_green',
                         hand_script=HAND_SCRIPTS.get(traffic),
                         description='role blue_green, traffic strategy %s' % traffic)
        for traffic in BLUE_GREEN_TRAFFIC]
    strategies += [rolling_restart(balancer) for balancer in ROLLING_BALANCERS]
    return strategies


def with_peers(strategies):
    """The strategies, each peer right after the strategy of ours it is measured against (so both
    run on the machine in the same state)."""
    by_ours = dict((peer.name[:-len(PEER_SUFFIX)], peer) for peer in peers())
    ordered = []
    for strategy in strategies:
        ordered.append(strategy)
        if strategy.name in by_ours:
            ordered.append(by_ours[strategy.name])
    return ordered


def peers():
    """What users run today without the collection, as playbooks of the peer collections (kind
    'peer'; role: the role of ours whose swaps they are counted like). Pending while the peer
    collections are not installed."""
    return [
        PlaybookStrategy('blue_green-haproxy' + PEER_SUFFIX, 'blue_green_haproxy_peer.yml', role='blue_green',
                         kind='peer', collections=PEER_COLLECTIONS,
                         description='peer: community.docker.docker_container redeploys the one service container in '
                                     'place behind the HAProxy front, then ansible.builtin.wait_for'),
        PlaybookStrategy('rolling_restart-haproxy' + PEER_SUFFIX, 'rolling_restart_haproxy_peer.yml',
                         role='rolling_restart', kind='peer', collections=PEER_COLLECTIONS, mixed_window_target=False,
                         description='peer: per backend community.general.haproxy drain + wait, '
                                     'community.docker.docker_container, ansible.builtin.wait_for, '
                                     'community.general.haproxy enable + wait'),
    ]


def rolling_restart(balancer):
    # Several backends answer during a rolling restart by design: no mixed-version target.
    return PlaybookStrategy('rolling_restart-%s' % balancer, 'rolling_restart_%s.yml' % balancer,
                            role='rolling_restart', mixed_window_target=False,
                            description='role rolling_restart behind %s' % balancer)


def plumbing_check():
    return PlaybookStrategy('playbook-plumbing-check', 'plumbing_check.yml', kind='plumbing',
                            hand_script='naive-recreate',
                            description='naive recreate as a playbook: proves the playbook plug-in point')


def every_strategy():
    return all_baselines() + with_peers(ours()) + [plumbing_check()]


def _wanted(strategy, only, quick, ours_runnable):
    if only is not None:
        return strategy.name in only
    if strategy.kind == 'plumbing':
        return quick and not ours_runnable
    return True


def _groups_and_swaps(strategy, quick, full, ours_swaps):
    groups = QUICK_GROUPS if quick else (FULL_GROUPS if full else DEFAULT_GROUPS)
    if quick:
        swaps = QUICK_SWAPS[strategy.role or strategy.kind]
    elif strategy.kind == 'baseline':
        swaps = BASELINE_SWAPS
    else:
        swaps = TARGET_SWAPS if full else DEFAULT_SWAPS[strategy.role]
    if ours_swaps and strategy.kind in BUDGETED_KINDS:
        swaps = ours_swaps
    return groups, swaps


def _with_think(groups, think):
    return groups if think is None else [tuple(load._replace(pause=think) for load in group) for group in groups]


def build_plan(quick=False, full=False, only=None, ours_swaps=None, scale=False, think=None):
    """(runs, scale runs, pending {name: reason}). only: strategy names to keep (None: the
    plan's own choice); ours_swaps: swaps per run of the collection's strategies (None: the
    plan's); scale: the rolling_restart scale series also without full; think: every client's
    think time in seconds (None: THINK_SECONDS)."""
    runs, scale_runs, pending = [], [], {}
    strategies = every_strategy()
    reasons = dict((strategy.name, strategy.pending_reason()) for strategy in strategies)
    ours_runnable = any(not reasons[strategy.name] for strategy in strategies if strategy.kind == 'ours')
    for strategy in strategies:
        if not _wanted(strategy, only, quick, ours_runnable):
            continue
        if reasons[strategy.name]:
            pending[strategy.name] = reasons[strategy.name]
            continue
        groups, swaps = _groups_and_swaps(strategy, quick, full, ours_swaps)
        groups = _with_think(groups, think)
        runs += [RunPlan(strategy, group, swaps, DEFAULT_BACKENDS) for group in groups]
    if (full or scale) and not quick and (only is None or 'rolling_restart-haproxy' in only):
        scale_strategy = rolling_restart('haproxy')
        reason = scale_strategy.pending_reason()
        if reason:
            pending['scale: rolling_restart-haproxy x %s backends' % '/'.join(map(str, SCALE_BACKENDS))] = reason
        else:
            group = _with_think([SCALE_GROUP], think)[0]
            scale_runs = [RunPlan(scale_strategy, group, SCALE_SWAPS, backends) for backends in SCALE_BACKENDS]
    return runs, scale_runs, pending
