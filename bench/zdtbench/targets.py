"""The targets of the collection's strategies, evaluated per strategy over its runs.

Each target gives ``met``: True, False, or None (not applicable, or not measured as stated —
the detail says which) and a ``detail`` with the number behind it. Baselines are evaluated the
same way, for comparison.
"""

import collections
import statistics

Target = collections.namedtuple('Target', 'key title')

TARGETS = (
    Target('zero_failed', 'zero failed requests at 256 clients, keep-alive and not, over >= 20 swaps'),
    Target('p99', 'p99 during swap <= 2x steady p99'),
    Target('throughput', 'throughput during swap >= 90% of steady'),
    Target('mixed_window', 'mixed-version window <= longest in-flight request (blue/green)'),
    Target('wall_vs_hand', 'wall time <= 2x the hand script for the same strategy'),
)
REQUIRED_SWAPS = 20
REQUIRED_CONCURRENCY = 256
MAX_P99_RATIO = 2.0
MIN_THROUGHPUT_RATIO = 0.9
MAX_WALL_RATIO = 2.0


def _result(met, detail):
    return dict(met=met, detail=detail)


def _measured(runs):
    return [run for run in runs if not run.get('error')]


def zero_failed(runs, required_swaps=REQUIRED_SWAPS):
    """Failed requests of every run that sent load, also of runs that broke midway."""
    failed = sum(run.get('failed', 0) for run in runs)
    broken = len(runs) - len(_measured(runs))
    detail = '%d failed over %d runs' % (failed, len(runs)) + (' (%d did not complete)' % broken if broken else '')
    if failed:
        return _result(False, detail)
    if broken:
        return _result(None, detail)
    covered = set((run['load']['keepalive']) for run in runs
                  if run['load']['concurrency'] >= REQUIRED_CONCURRENCY
                  and len(run['swaps']) >= required_swaps)
    if covered != {True, False}:
        return _result(None, detail + '; not run at %d clients x %d swaps, keep-alive and not'
                       % (REQUIRED_CONCURRENCY, required_swaps))
    return _result(True, detail)


def _worst_ratio(runs, key, worst, passes, text):
    ratios = [run[key] for run in _measured(runs) if run.get(key) is not None]
    if not ratios:
        return _result(None, 'not measured')
    value = worst(ratios)
    return _result(passes(value), text % value)


def p99(runs):
    return _worst_ratio(runs, 'p99_ratio', max, lambda value: value <= MAX_P99_RATIO,
                        'worst swap/steady p99 %.2fx')


def throughput(runs):
    return _worst_ratio(runs, 'throughput_ratio', min, lambda value: value >= MIN_THROUGHPUT_RATIO,
                        'lowest swap/steady throughput %.2f')


def mixed_window(runs, applies=True):
    if not applies:
        return _result(None, 'not a target for this strategy')
    pairs = [(run['mixed_window_ms']['max'], run['longest_in_flight_ms']) for run in _measured(runs)
             if run['mixed_window_ms']['max'] is not None and run['longest_in_flight_ms'] is not None]
    if not pairs:
        return _result(None, 'not measured')
    window, in_flight = max(pairs, key=lambda pair: pair[0] - pair[1])
    return _result(window <= in_flight, 'max window %.0f ms vs longest in-flight %.0f ms' % (window, in_flight))


def _median_wall(runs):
    walls = [run['swap_wall_s']['median'] for run in _measured(runs) if run['swap_wall_s']['median'] is not None]
    return statistics.median(walls) if walls else None


def wall_vs_hand(runs, hand_runs):
    if hand_runs is None:
        return _result(None, 'no hand script for this strategy')
    ours, hand = _median_wall(runs), _median_wall(hand_runs)
    if ours is None or not hand:
        return _result(None, 'not measured')
    ratio = ours / hand
    return _result(ratio <= MAX_WALL_RATIO, 'median swap %.2f s vs hand %.2f s (%.2fx)' % (ours, hand, ratio))


def evaluate(runs, strategy_info, hand_runs=None, required_swaps=REQUIRED_SWAPS):
    """{target key: {met, detail}} for one strategy. hand_runs: the runs of its hand script."""
    return dict(
        zero_failed=zero_failed(runs, required_swaps),
        p99=p99(runs),
        throughput=throughput(runs),
        mixed_window=mixed_window(runs, strategy_info.get('mixed_window_target', True)),
        wall_vs_hand=wall_vs_hand(runs, hand_runs if strategy_info.get('hand_script') else None),
    )
