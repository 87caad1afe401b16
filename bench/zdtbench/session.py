"""One strategy under one load: set up, steady load, the swaps, steady load, tear down, analyse.

The swaps are driven from this process while the load comes from worker processes
(zdtbench.loadgen), so the driver's own work does not slow the clients down more than the
machine's two cores have to.
"""

import collections
import time
import traceback

from zdtbench import stats
from zdtbench.catalog import load_label
from zdtbench.docker_cli import DockerError
from zdtbench.loadgen import LoadGenerator
from zdtbench.probe import NotAnswering
from zdtbench.strategy import StrategyError

Timing = collections.namedtuple('Timing', 'warmup steady_before pause steady_after settle')
DEFAULT_TIMING = Timing(warmup=1.0, steady_before=2.0, pause=1.0, steady_after=1.5, settle=0.5)
QUICK_TIMING = Timing(warmup=0.5, steady_before=1.5, pause=0.5, steady_after=1.0, settle=0.5)
SWAP_BUDGET = 60.0              # seconds a swap may take before the load stops by itself
EXPECTED_ERRORS = (StrategyError, DockerError, NotAnswering)   # their text says it all: no traceback


class SwapsFailed(Exception):
    """The swaps failed under load; the requests sent meanwhile still count."""

    def __init__(self, cause, samples):
        super(SwapsFailed, self).__init__(str(cause))
        self.cause = cause
        self.samples = samples


def _swaps_under_load(strategy, env, load, specs, timing, max_seconds):
    """Load, steady time, the swaps, steady time. Returns (samples, swaps, generator); raises
    SwapsFailed with the samples when the swaps fail."""
    generator = LoadGenerator(env.url, load.concurrency, load.keepalive, max_seconds=max_seconds)
    with generator:
        time.sleep(timing.warmup + timing.steady_before)
        try:
            swaps = strategy.run_swaps(specs, timing.pause)
        except Exception as exc:
            raise SwapsFailed(exc, generator.stop())
        time.sleep(max(0.0, timing.steady_after - timing.pause))
        return generator.stop(), swaps, generator


def run_one(plan, env, timing, ready_reference=None, log=print):
    """Run ``plan`` (a catalog.RunPlan); returns the run's record (see stats.analyze) with
    strategy, load, error (None, or what failed — then only the counts of the requests sent, if
    the load had started)."""
    strategy, load = plan.strategy, plan.load
    record = dict(strategy=strategy.name, load=dict(concurrency=load.concurrency, keepalive=load.keepalive,
                                                    label=load_label(load)),
                  swaps_planned=plan.swaps, backends=plan.backends, error=None)
    env = env._replace(backends=plan.backends)
    specs = env.swap_specs(plan.swaps)
    max_seconds = (timing.warmup + timing.steady_before + timing.steady_after
                   + plan.swaps * (SWAP_BUDGET + timing.pause))
    began = time.monotonic()
    try:
        strategy.setup(env)
        samples, swaps, generator = _swaps_under_load(strategy, env, load, specs, timing, max_seconds)
    except Exception as exc:        # a broken run is reported; the other runs go on
        if isinstance(exc, SwapsFailed):
            record.update(stats.counts(exc.samples))
            exc = exc.cause
        record['error'] = '%s: %s' % (type(exc).__name__, exc)
        log('  run failed: %s' % record['error'])
        if not isinstance(exc, EXPECTED_ERRORS):
            log(traceback.format_exc())
        return record
    finally:
        _teardown(strategy, record, log)
        record['notes'] = strategy.take_notes()
    record.update(stats.analyze(samples, swaps, generator.started_at, generator.stopped_at,
                                ready_reference, timing.warmup, timing.settle))
    record['run_seconds'] = round(time.monotonic() - began, 1)
    return record


def _teardown(strategy, record, log):
    try:
        strategy.teardown()
    except Exception as exc:
        record['teardown_error'] = '%s: %s' % (type(exc).__name__, exc)
        log('  teardown failed: %s' % record['teardown_error'])
