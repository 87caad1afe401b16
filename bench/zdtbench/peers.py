"""Ours against the peers users run today, in the same run: time per member / per swap, failed
requests by both judges (the load generator and wrk), p99 — and the targets of issue #13.

A pair is a strategy of ours and its peer (zdtbench.catalog.peers), under the same loads, front
and machine. The time is the median wall time of a swap, which for a rolling restart is one
member (each backend is reported as a swap of its own). Failed requests: every run that sent
load, also one that broke midway; wrk's count is per run (the loads of a group share one wrk).
"""

import collections

from zdtbench import compare

Pair = collections.namedtuple('Pair', 'ours peer unit max_ratio')
PAIRS = (
    Pair('rolling_restart-haproxy', 'rolling_restart-haproxy-peer', 'member', 1.0),
    Pair('blue_green-haproxy', 'blue_green-haproxy-peer', 'swap', 2.0),
)


def _judged(runs):
    """The runs wrk judged (it printed a summary)."""
    return [run for run in runs if isinstance(run.get('wrk'), dict) and 'failed' in run['wrk']]


def _wrk_total(runs, key):
    """wrk's ``key`` (requests, failed) over the runs, each wrk run counted once: the loads of a
    group each carry the same verdict. None when wrk judged none of them."""
    judged = _judged(runs)
    if not judged:
        return None
    return int(round(sum(run['wrk'][key] / (1.0 + len(run.get('concurrent_with') or [])) for run in judged)))


def _worst(values):
    values = [value for value in values if value is not None]
    return max(values) if values else None


def side(runs):
    """What the comparison needs of one strategy's runs."""
    measured = [run for run in runs if not run.get('error')]
    wall = compare.wall_time(runs)
    unjudged = [run.get('wrk') or {} for run in runs if run not in _judged(runs)]
    return dict(
        runs=len(measured), broken_runs=len(runs) - len(measured), swaps=wall['swaps'],
        median_s=wall['median_s'],
        requests=sum(run.get('requests', 0) for run in runs),
        failed=sum(run.get('failed', 0) for run in runs),
        wrk_requests=_wrk_total(runs, 'requests'), wrk_failed=_wrk_total(runs, 'failed'),
        wrk_missing=sorted(set(one.get('skipped') or one.get('error') or 'not run' for one in unjudged)),
        swap_p99_ms=_worst(run['swap']['latency_ms']['p99'] for run in measured),
        steady_p99_ms=_worst(run['steady']['latency_ms']['p99'] for run in measured),
        wrk_p99_ms=_worst(run['wrk']['latency_ms'].get('p99') for run in _judged(runs)),
    )


def _ratio(ours, peer):
    if ours is None or not peer:
        return None
    return round(ours / peer, 2)


def _zero_failed(ours):
    """Ours lost nothing by either judge (None: not measured as stated)."""
    if not ours['runs'] and not ours['requests']:
        return None
    if ours['failed'] or ours['wrk_failed']:
        return False
    if ours['broken_runs'] or ours['wrk_failed'] is None:
        return None
    return True


def compare_pairs(runs, pairs=PAIRS):
    """One row per pair whose two strategies both ran: each side (see side()), the time ratio
    ours/peer against the pair's limit, the p99 ratio, and whether ours lost nothing."""
    by_name = {}
    for run in runs:
        by_name.setdefault(run['strategy'], []).append(run)
    rows = []
    for pair in pairs:
        if pair.ours not in by_name or pair.peer not in by_name:
            continue
        ours, peer = side(by_name[pair.ours]), side(by_name[pair.peer])
        ratio = _ratio(ours['median_s'], peer['median_s'])
        rows.append(dict(
            ours_name=pair.ours, peer_name=pair.peer, unit=pair.unit, max_ratio=pair.max_ratio,
            ours=ours, peer=peer, time_ratio=ratio,
            time_met=None if ratio is None else ratio <= pair.max_ratio,
            p99_ratio=_ratio(ours['swap_p99_ms'], peer['swap_p99_ms']),
            zero_failed_met=_zero_failed(ours)))
    return rows


MET = {True: 'met', False: '**missed**', None: 'n/a'}


def _fmt(value, pattern):
    return 'n/a' if value is None else pattern % value


def target_lines(rows):
    """The targets of issue #13 read from the rows, one line each (Markdown emphasis on a miss)."""
    lines = []
    for row in rows:
        lines.append('%s per %s <= %gx %s: %s (%s: %s s vs %s s)' % (
            row['ours_name'], row['unit'], row['max_ratio'], row['peer_name'], MET[row['time_met']],
            _fmt(row['time_ratio'], '%.2fx'), _fmt(row['ours']['median_s'], '%.2f'),
            _fmt(row['peer']['median_s'], '%.2f')))
        lines.append('%s: 0 failed by the load generator and by wrk: %s (%d / %s; the peer: %d / %s)' % (
            row['ours_name'], MET[row['zero_failed_met']], row['ours']['failed'],
            _fmt(row['ours']['wrk_failed'], '%d'), row['peer']['failed'], _fmt(row['peer']['wrk_failed'], '%d')))
    return lines
