"""The rolling_restart scale series: total time per rolling restart against the number of
backends, and whether it grows linearly (a least-squares line through the points).

A rolling restart restarts its members one at a time, so its cost should be a fixed part (the
play, the balancer connection) plus a per-member part: total = intercept + slope * N. The slope
is the time per member; the residuals say how far the measured points are from that line.
"""

import statistics


def linear_fit(points):
    """Least-squares line through (x, y) points: dict(slope, intercept, r2, max_residual_ratio)
    — max_residual_ratio: the largest |y - fit| / y. None when fewer than two distinct x."""
    points = [(float(x), float(y)) for x, y in points if x is not None and y is not None]
    xs = [x for x, _y in points]
    if len(set(xs)) < 2:
        return None
    mean_x = statistics.fmean(xs)
    mean_y = statistics.fmean(y for _x, y in points)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    intercept = mean_y - slope * mean_x
    residuals = [y - (intercept + slope * x) for x, y in points]
    total = sum((y - mean_y) ** 2 for _x, y in points)
    r2 = 1.0 - sum(value ** 2 for value in residuals) / total if total else 1.0
    worst = max(abs(value) / y if y else 0.0 for value, (_x, y) in zip(residuals, points))
    return dict(slope=round(slope, 3), intercept=round(intercept, 3), r2=round(r2, 4),
                max_residual_ratio=round(worst, 3))


def restart_totals(run):
    """Wall time of each whole rolling restart of a run: from its first member's start to its
    last member's end (swaps grouped by ``group``); a run without members: each swap's wall."""
    groups = {}
    for swap in run.get('swaps') or []:
        if swap.get('group') is None:
            groups[('swap', swap['index'])] = [(swap['start_s'], swap['end_s'])]
        else:
            groups.setdefault(('group', swap['group']), []).append((swap['start_s'], swap['end_s']))
    return [round(max(end for _start, end in spans) - min(start for start, _end in spans), 3)
            for spans in groups.values()]


def rows(runs):
    """Per scale run: backends, total (median wall time of a whole rolling restart), per member,
    overhead per member (per member minus the app's own start-to-ready time), or the run's error."""
    result = []
    for run in runs:
        row = dict(strategy=run['strategy'], backends=run['backends'], error=run.get('error'),
                   total_s=None, per_member_s=None, overhead_per_member_s=None)
        if not run.get('error'):
            totals = restart_totals(run)
            total = round(statistics.median(totals), 3) if totals else None
            if total is not None:
                row['total_s'] = total
                row['per_member_s'] = round(total / run['backends'], 3)
                ready = run.get('ready_reference_s')
                if ready is not None:
                    row['overhead_per_member_s'] = round(total / run['backends'] - ready, 3)
        result.append(row)
    return result


LINEAR_WITHIN = 0.15        # every point within 15% of the line: "linear"


def summary(runs):
    """rows, the fit of total against backends, and a verdict sentence."""
    table = rows(runs)
    fit = linear_fit([(row['backends'], row['total_s']) for row in table if row['total_s'] is not None])
    if fit is None:
        verdict = 'not enough points for a line (need two backend counts that completed)'
    else:
        linear = fit['max_residual_ratio'] <= LINEAR_WITHIN
        verdict = ('total = %.2f s + %.2f s x backends (R^2 %.3f, points within %.0f%% of the line): %s'
                   % (fit['intercept'], fit['slope'], fit['r2'], 100 * fit['max_residual_ratio'],
                      'linear in the number of backends' if linear
                      else 'NOT linear within %.0f%%' % (100 * LINEAR_WITHIN)))
    return dict(rows=table, fit=fit, verdict=verdict)
