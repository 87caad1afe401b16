"""Which strategies run under which loads, how many swaps each: the quick, default and full plans.

- quick: one low load, 2 swaps per strategy (rolling_restart: 1); the playbook plumbing check
  runs in it only while none of the collection's strategies can run.
- default (meant to fit 15 minutes on 2 cores): the baselines under every load with 5 swaps;
  the collection's strategies under the two loads their targets are stated for (256 clients,
  keep-alive and not), blue_green with 3 swaps, rolling_restart with 1 (one swap restarts every
  backend). The "over 20 swaps" target is then reported as not measured. The report says how
  long the run took; the roles' swap times decide whether it fits.
- full: the collection's strategies under every load with the targets' 20 swaps, and the
  rolling_restart scale series (3, 6, 12 backends, one rolling restart each; also --scale).
--swaps overrides the swap count of the collection's strategies in default and full.
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
BASELINE_SWAPS = 5
TARGET_SWAPS = 20
DEFAULT_SWAPS = dict(blue_green=3, rolling_restart=1)
QUICK_SWAPS = dict(baseline=2, plumbing=2, blue_green=2, rolling_restart=1)
BLUE_GREEN_TRAFFIC = ('reuseport', 'haproxy', 'apache', 'nginx')
ROLLING_BALANCERS = ('haproxy', 'apache', 'nginx')
DEFAULT_BACKENDS = 3


def load_label(load):
    return 'c=%d %s' % (load.concurrency, 'keep-alive' if load.keepalive else 'close')


def ours():
    """The collection's strategies: a playbook per role and traffic strategy (each sets up its own
    fronts), pending until both exist."""
    strategies = [
        PlaybookStrategy('blue_green-%s' % traffic, 'blue_green_%s.yml' % traffic, role='blue_green',
                         hand_script='reuseport-sigquit-migrate-on' if traffic == 'reuseport' else None,
                         description='role blue_green, traffic strategy %s' % traffic)
        for traffic in BLUE_GREEN_TRAFFIC]
    strategies += [rolling_restart(balancer) for balancer in ROLLING_BALANCERS]
    return strategies


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
    return all_baselines() + ours() + [plumbing_check()]


def _wanted(strategy, only, quick, ours_runnable):
    if only is not None:
        return strategy.name in only
    if strategy.kind == 'plumbing':
        return quick and not ours_runnable
    return True


def _loads_and_swaps(strategy, quick, full, ours_swaps):
    if quick:
        return QUICK_LOADS, QUICK_SWAPS[strategy.role or strategy.kind]
    if strategy.kind == 'baseline':
        return LOADS, BASELINE_SWAPS
    if full:
        return LOADS, ours_swaps or TARGET_SWAPS
    return TARGET_LOADS, ours_swaps or DEFAULT_SWAPS[strategy.role]


def build_plan(quick=False, full=False, only=None, ours_swaps=None, scale=False):
    """(runs, scale runs, pending {name: reason}). only: strategy names to keep (None: the
    plan's own choice); ours_swaps: swaps per run of the collection's strategies (None: the
    plan's); scale: the rolling_restart scale series also without full."""
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
        loads, swaps = _loads_and_swaps(strategy, quick, full, ours_swaps)
        runs += [RunPlan(strategy, load, swaps, DEFAULT_BACKENDS) for load in loads]
    if (full or scale) and not quick and (only is None or 'rolling_restart-haproxy' in only):
        scale_strategy = rolling_restart('haproxy')
        reason = scale_strategy.pending_reason()
        if reason:
            pending['scale: rolling_restart-haproxy x %s backends' % '/'.join(map(str, SCALE_BACKENDS))] = reason
        else:
            scale_runs = [RunPlan(scale_strategy, SCALE_LOAD, 1, backends) for backends in SCALE_BACKENDS]
    return runs, scale_runs, pending
