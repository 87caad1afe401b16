"""One strategy under a load group: set up, steady load, the swaps, steady load, tear down, analyse.

The loads of a group (e.g. 256 clients keep-alive and 256 not) run at the same time against the
same swaps, each from its own worker processes, so each load's requests are counted apart: one
record per load, sharing the swaps.

The swaps are driven from this process while the load comes from worker processes
(zdtbench.loadgen), so the driver's own work does not slow the clients down more than the
machine's two cores have to.
"""

import collections
import contextlib
import time
import traceback

from zdtbench import stats
from zdtbench.judge import WrkJudge
from zdtbench.catalog import load_label
from zdtbench.docker_cli import DockerError
from zdtbench.loadgen import LoadGenerator
from zdtbench.probe import NotAnswering
from zdtbench.strategy import StrategyError

Timing = collections.namedtuple('Timing', 'warmup steady_before pause steady_after settle')
# pause: steady load after each swap (the playbook's sleep task adds its own ~0.3 s); settle: how
# long after a swap the old container may still answer, left out of steady.
DEFAULT_TIMING = Timing(warmup=1.0, steady_before=1.5, pause=0.5, steady_after=1.5, settle=0.5)
QUICK_TIMING = Timing(warmup=0.5, steady_before=1.5, pause=0.5, steady_after=1.0, settle=0.5)
SWAP_BUDGET = 60.0              # seconds a swap may take before the load stops by itself
EXPECTED_ERRORS = (StrategyError, DockerError, NotAnswering)   # their text says it all: no traceback


class SwapsFailed(Exception):
    """The swaps failed under load; the requests sent meanwhile still count."""

    def __init__(self, cause, samples):
        super(SwapsFailed, self).__init__(str(cause))
        self.cause = cause
        self.samples = samples


def _swaps_under_load(strategy, generators, specs, timing, swap_seconds):
    """Every load, steady time, the swaps, steady time. Returns (samples per generator, swaps);
    raises SwapsFailed with the samples of every generator when the swaps fail."""
    with contextlib.ExitStack() as stack:
        for generator in generators:
            stack.enter_context(generator)
        time.sleep(timing.warmup + timing.steady_before)
        try:
            swaps = strategy.run_swaps(specs, timing.pause, swap_seconds)
        except Exception as exc:
            raise SwapsFailed(exc, _stop_all(generators))
        time.sleep(max(0.0, timing.steady_after - timing.pause))
        return _stop_all(generators), swaps


def _stop_all(generators):
    """Halt every load before reading any samples: reading one load's takes seconds, and the
    others must not run on alone meanwhile (their steady state would be another one)."""
    for generator in generators:
        generator.halt()
    return [generator.collect() for generator in generators]


def _records(plan):
    """The empty record of each load of the plan (one per load, also when loads ran together)."""
    labels = [load_label(load) for load in plan.loads]
    records = []
    for load, label in zip(plan.loads, labels):
        records.append(dict(
            strategy=plan.strategy.name,
            load=dict(concurrency=load.concurrency, keepalive=load.keepalive, think_s=load.pause, label=label),
            # The other loads sent at the same time against the same swaps (harsher than alone).
            concurrent_with=[other for other in labels if other != label],
            swaps_planned=plan.swaps, swap_budget_s=None, backends=plan.backends, error=None))
    return records


def load_limit(plan, timing):
    """Seconds after which the load workers stop by themselves (a safety net: stop() ends them
    first). Each swap may take SWAP_BUDGET — per backend for a rolling restart, whose one swap
    replaces every backend — or the load would stop in the middle of the swaps."""
    per_swap = SWAP_BUDGET * (plan.backends if plan.strategy.role == 'rolling_restart' else 1)
    return (timing.warmup + timing.steady_before + timing.steady_after
            + plan.swaps * (per_swap + timing.pause))


def run_one(plan, env, timing, ready_reference=None, log=print, swap_seconds=None):
    """Run ``plan`` (a catalog.RunPlan: one or more loads at once against the same swaps);
    returns one record per load (see stats.analyze) with strategy, load, concurrent_with, error
    (None, or what failed — then only the counts of the requests sent, if the load had started).
    swap_seconds: the time budget of the swaps (zdtbench.budget; None: every planned swap)."""
    strategy = plan.strategy
    records = _records(plan)
    for record in records:
        record['swap_budget_s'] = None if swap_seconds is None else round(swap_seconds, 1)
    env = env._replace(backends=plan.backends)
    specs = env.swap_specs(plan.swaps)
    max_seconds = load_limit(plan, timing)
    generators = [LoadGenerator(env.url, load.concurrency, load.keepalive, max_seconds=max_seconds,
                                pause=load.pause)
                  for load in plan.loads]
    # The second judge runs as long as the loads, its result after theirs (zdtbench.judge).
    judge = WrkJudge(env.url, max_seconds)
    began = time.monotonic()
    try:
        strategy.setup(env)
        per_load, swaps = _swaps_under_load(strategy, generators + [judge], specs, timing, swap_seconds)
    except Exception as exc:        # a broken run is reported; the other runs go on
        if isinstance(exc, SwapsFailed):
            for record, samples in zip(records, exc.samples):
                record.update(stats.counts(samples))
                record['wrk'] = exc.samples[-1]
            exc = exc.cause
        for record in records:
            record['error'] = '%s: %s' % (type(exc).__name__, exc)
        log('  run failed: %s' % records[0]['error'])
        if not isinstance(exc, EXPECTED_ERRORS):
            log(traceback.format_exc())
        return records
    finally:
        _teardown(strategy, records, log)
        notes = strategy.take_notes()
        for record in records:
            record['notes'] = list(notes)
    seconds = round(time.monotonic() - began, 1)
    for record, samples, generator in zip(records, per_load, generators):
        record.update(stats.analyze(samples, swaps, generator.started_at, generator.stopped_at,
                                    ready_reference, timing.warmup, timing.settle))
        # The same wrk run for every load of the group: it saw all of them.
        record['wrk'] = per_load[-1]
        record['run_seconds'] = seconds
        # Outer swaps done (a rolling restart's backends count as one here) vs planned.
        record['swaps_done'] = len(set(swap.index if swap.group is None else swap.group for swap in swaps))
    return records


def _teardown(strategy, records, log):
    try:
        strategy.teardown()
    except Exception as exc:
        for record in records:
            record['teardown_error'] = '%s: %s' % (type(exc).__name__, exc)
        log('  teardown failed: %s' % records[0]['teardown_error'])
