"""Per-strategy totals over its runs, the best baseline, and the one-line summary against it."""

import statistics


def distinct_swaps(runs):
    """Swaps of the runs, each counted once: loads sent at the same time share their swaps (each
    of those records lists the others in concurrent_with)."""
    shared = sum(len(run['swaps']) / (1.0 + len(run.get('concurrent_with') or [])) for run in runs)
    return int(round(shared))


def aggregate(runs):
    """Totals of one strategy's runs: requests and failures of every run that sent load (also
    of runs that broke), the rest over the runs that completed."""
    measured = [run for run in runs if not run.get('error')]
    walls = [run['swap_wall_s']['median'] for run in measured if run['swap_wall_s']['median'] is not None]
    throughputs = [run['throughput_ratio'] for run in measured if run['throughput_ratio'] is not None]
    p99s = [run['p99_ratio'] for run in measured if run['p99_ratio'] is not None]
    return dict(
        runs=len(measured),
        broken_runs=len(runs) - len(measured),
        requests=sum(run.get('requests', 0) for run in runs),
        failed=sum(run.get('failed', 0) for run in runs),
        swaps=distinct_swaps(measured),
        median_wall_s=round(statistics.median(walls), 3) if walls else None,
        throughput_ratio=min(throughputs) if throughputs else None,
        p99_ratio=max(p99s) if p99s else None,
    )


def best_baseline(totals_by_name, baseline_names):
    """The baseline with the fewest failed requests, then the shortest median swap."""
    candidates = [name for name in baseline_names
                  if name in totals_by_name and totals_by_name[name]['runs']]
    if not candidates:
        return None

    def rank(name):
        totals = totals_by_name[name]
        return (totals['failed'], totals['median_wall_s'] if totals['median_wall_s'] is not None else float('inf'))

    return min(candidates, key=rank)


def _times(value, reference):
    if value is None or not reference:
        return 'n/a'
    return '%.2fx' % (value / reference)


def _fmt(value, pattern):
    return 'n/a' if value is None else pattern % value


def summary_line(name, totals, targets, best_name, best):
    """One line: failed, swap time, swap throughput and p99 against the best baseline; targets met."""
    if not totals['runs']:
        return '%s: no run completed (%d failed of %d requests sent)' % (name, totals['failed'], totals['requests'])
    met = sum(1 for target in targets.values() if target['met'] is True)
    missed = sum(1 for target in targets.values() if target['met'] is False)
    parts = ['%s: %d failed of %d requests over %d swaps' % (name, totals['failed'], totals['requests'], totals['swaps'])]
    if best is not None:
        parts.append('best baseline %s: %d failed' % (best_name, best['failed']))
        parts.append('median swap %s s = %s the best baseline'
                     % (_fmt(totals['median_wall_s'], '%.2f'), _times(totals['median_wall_s'], best['median_wall_s'])))
        parts.append('swap throughput %s of steady (baseline %s)'
                     % (_fmt(totals['throughput_ratio'], '%.2f'), _fmt(best['throughput_ratio'], '%.2f')))
        parts.append('swap p99 %s steady (baseline %s)'
                     % (_fmt(totals['p99_ratio'], '%.2fx'), _fmt(best['p99_ratio'], '%.2fx')))
    parts.append('targets met %d, missed %d, n/a %d' % (met, missed, len(targets) - met - missed))
    if totals['broken_runs']:
        parts.append('%d run(s) did not complete' % totals['broken_runs'])
    return '; '.join(parts)


def phase_medians(runs, top=4):
    """The phases that took longest per swap: [(name, median seconds per swap)], longest first.
    A phase name seen several times in one swap (a task in a loop over backends) is summed."""
    per_name = {}
    for run in runs:
        for swap in run.get('swaps') or []:
            totals = {}
            for phase in swap.get('phases') or []:
                totals[phase['name']] = totals.get(phase['name'], 0.0) + phase['end_s'] - phase['start_s']
            for name, seconds in totals.items():
                per_name.setdefault(name, []).append(seconds)
    medians = [(name, round(statistics.median(values), 3)) for name, values in per_name.items()]
    medians.sort(key=lambda item: -item[1])
    return medians[:top]


def wall_time(runs, hand_runs=None):
    """Per-swap wall time of a strategy over its completed runs: median, max, the longest phases
    and, when it has a hand script, the hand script's median and the ratio."""
    measured = [run for run in runs if not run.get('error')]
    walls = [swap['wall_s'] for run in measured for swap in run['swaps'] if swap.get('wall_s') is not None]
    result = dict(swaps=distinct_swaps(measured),
                  median_s=round(statistics.median(walls), 3) if walls else None,
                  max_s=round(max(walls), 3) if walls else None,
                  phases=phase_medians(measured), hand_median_s=None, vs_hand=None)
    if hand_runs:
        hand = [swap['wall_s'] for run in hand_runs if not run.get('error') for swap in run['swaps']]
        if hand:
            result['hand_median_s'] = round(statistics.median(hand), 3)
            if result['median_s'] is not None:
                result['vs_hand'] = round(result['median_s'] / result['hand_median_s'], 2)
    return result
