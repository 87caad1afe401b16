"""Which strategies run under which loads, how many swaps each: the default and the quick plan.

The default plan fits 15 minutes on 2 cores: the baselines run under every load with 6 swaps;
the collection's strategies run 20 swaps under the two loads their targets are stated for
(256 clients, keep-alive and not) — every load with --full. rolling_restart also runs the scale
series (3, 6, 12 backends, one rolling restart each).
"""

import collections

from zdtbench.baselines import all_baselines
from zdtbench.playbook import PlaybookStrategy

Load = collections.namedtuple('Load', 'concurrency keepalive')
RunPlan = collections.namedtuple('RunPlan', 'strategy load swaps backends')

LOADS = [Load(4, True), Load(4, False), Load(64, True), Load(64, False), Load(256, True), Load(256, False)]
TARGET_LOADS = [Load(256, True), Load(256, False)]
QUICK_LOADS = [Load(16, False)]
SCALE_LOAD = Load(64, True)
SCALE_BACKENDS = (3, 6, 12)
BASELINE_SWAPS = 6
OURS_SWAPS = 20
QUICK_SWAPS = 2
BLUE_GREEN_TRAFFIC = ('reuseport', 'haproxy', 'apache', 'nginx')
ROLLING_BALANCERS = ('haproxy', 'apache', 'nginx')
DEFAULT_BACKENDS = 3


def load_label(load):
    return 'c=%d %s' % (load.concurrency, 'keep-alive' if load.keepalive else 'close')


def ours():
    """The collection's strategies: one playbook per role, the traffic strategy as a variable."""
    strategies = [
        PlaybookStrategy('blue_green-%s' % traffic, 'blue_green.yml', role='blue_green',
                         extravars=dict(bench_traffic_strategy=traffic),
                         hand_script='reuseport-sigquit-migrate-on' if traffic == 'reuseport' else None,
                         description='role blue_green, traffic strategy %s' % traffic)
        for traffic in BLUE_GREEN_TRAFFIC]
    strategies += [rolling_restart(balancer) for balancer in ROLLING_BALANCERS]
    return strategies


def rolling_restart(balancer):
    # Several backends answer during a rolling restart by design: no mixed-version target.
    return PlaybookStrategy('rolling_restart-%s' % balancer, 'rolling_restart.yml', role='rolling_restart',
                            extravars=dict(bench_balancer=balancer), mixed_window_target=False,
                            description='role rolling_restart behind %s' % balancer)


def plumbing_check():
    return PlaybookStrategy('playbook-plumbing-check', 'plumbing_check.yml', kind='plumbing',
                            hand_script='naive-recreate',
                            description='naive recreate as a playbook: proves the playbook plug-in point')


def every_strategy():
    return all_baselines() + ours() + [plumbing_check()]


def build_plan(quick=False, full=False, only=None):
    """(runs, scale runs, pending {name: reason}). only: strategy names to keep (None: the
    plan's own choice; the plumbing check runs in the quick plan or when named)."""
    runs, scale, pending = [], [], {}
    for strategy in every_strategy():
        if only is not None and strategy.name not in only:
            continue
        if only is None and strategy.kind == 'plumbing' and not quick:
            continue
        reason = strategy.pending_reason()
        if reason:
            pending[strategy.name] = reason
            continue
        if quick:
            loads, swaps = QUICK_LOADS, QUICK_SWAPS
        elif strategy.kind == 'baseline':
            loads, swaps = LOADS, BASELINE_SWAPS
        else:
            loads, swaps = (LOADS if full else TARGET_LOADS), OURS_SWAPS
        runs += [RunPlan(strategy, load, swaps, DEFAULT_BACKENDS) for load in loads]
    if not quick and (only is None or 'rolling_restart-haproxy' in only):
        scale_strategy = rolling_restart('haproxy')
        reason = scale_strategy.pending_reason()
        if reason:
            pending['scale: rolling_restart-haproxy x %s backends' % '/'.join(map(str, SCALE_BACKENDS))] = reason
        else:
            scale = [RunPlan(scale_strategy, SCALE_LOAD, 1, backends) for backends in SCALE_BACKENDS]
    return runs, scale, pending
