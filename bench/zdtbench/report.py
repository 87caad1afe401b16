"""The report of a benchmark run: one JSON document, its Markdown rendering, a PNG per strategy,
written to results/<timestamp>/ and copied to results/latest/."""

import json
import os
import shutil

from zdtbench import compare, markdown, peers, plot, scale, targets


def group_by_strategy(runs):
    """{strategy name: [runs]} in the order the strategies ran."""
    groups = {}
    for run in runs:
        groups.setdefault(run['strategy'], []).append(run)
    return groups


def evaluate_strategies(runs, infos, required_swaps=targets.REQUIRED_SWAPS):
    """{name: info + totals + targets + summary} for every strategy that ran, and the best baseline.
    infos: {name: Strategy.info()}."""
    groups = group_by_strategy(runs)
    totals = dict((name, compare.aggregate(group)) for name, group in groups.items())
    baselines = [name for name in groups if infos[name]['kind'] == 'baseline']
    best_name = compare.best_baseline(totals, baselines)
    strategies = {}
    for name, group in groups.items():
        info = infos[name]
        hand_runs = groups.get(info.get('hand_script'))
        evaluation = targets.evaluate(group, info, hand_runs, required_swaps)
        strategies[name] = dict(info, totals=totals[name], targets=evaluation,
                                wall=compare.wall_time(group, hand_runs if info.get('hand_script') else None),
                                summary=compare.summary_line(name, totals[name], evaluation, best_name,
                                                             totals.get(best_name)))
    return strategies, best_name


def write(report, results_root, stamp):
    """Write bench.json, bench.md and the PNGs; returns the run's directory."""
    directory = os.path.join(results_root, stamp)
    os.makedirs(directory, exist_ok=True)
    pngs = {}
    report['scale_summary'] = scale.summary(report['scale'])
    report['peers'] = peers.compare_pairs(report['runs'])
    for name, group in group_by_strategy(report['runs']).items():
        path = plot.plot_strategy(name, group, os.path.join(directory, '%s.png' % name))
        if path:
            pngs[name] = os.path.basename(path)
    if report['scale']:
        path = plot.plot_scale(report['scale_summary'], os.path.join(directory, 'rolling_restart-scale.png'))
        if path:
            pngs['rolling_restart scale'] = os.path.basename(path)
    report['pngs'] = pngs
    with open(os.path.join(directory, 'bench.json'), 'w') as handle:
        json.dump(report, handle, indent=1)
    with open(os.path.join(directory, 'bench.md'), 'w') as handle:
        handle.write(markdown.render(report))
    latest = os.path.join(results_root, 'latest')
    shutil.rmtree(latest, ignore_errors=True)
    shutil.copytree(directory, latest)
    return directory
