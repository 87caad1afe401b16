"""One PNG per strategy: for each load, throughput, errors and latency over time, swap phases shaded."""

import textwrap

import matplotlib

matplotlib.use('Agg')                 # files only, no display

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.patches import Patch  # noqa: E402

ERROR_COLORS = dict(status='tab:orange', refused='tab:red', reset='tab:purple', timeout='tab:brown',
                    closed='tab:pink', other='tab:gray')
LABEL_CHARS = 60
PHASE_COLORS = ('tab:blue', 'tab:green', 'tab:olive', 'tab:cyan', 'tab:orange', 'tab:purple', 'tab:gray')


def phase_colors(runs):
    """A color per phase name, in the order the phases first appear."""
    names = []
    for run in runs:
        for swap in run.get('swaps', []):
            for phase in swap['phases']:
                if phase['name'] not in names:
                    names.append(phase['name'])
    return dict((name, PHASE_COLORS[number % len(PHASE_COLORS)]) for number, name in enumerate(names))


def _shade_phases(axis, run, colors):
    for swap in run['swaps']:
        for phase in swap['phases']:
            axis.axvspan(phase['start_s'], max(phase['end_s'], phase['start_s'] + 0.01),
                         color=colors[phase['name']], alpha=0.18, linewidth=0)


def _throughput(axis, run, width):
    times = [bucket['t'] + width / 2 for bucket in run['timeline']]
    axis.plot(times, [bucket['ok_per_s'] for bucket in run['timeline']], color='black', linewidth=0.8)
    axis.set_ylabel('ok requests/s')
    axis.set_ylim(bottom=0)


def _errors(axis, run, width):
    bottoms = [0] * len(run['timeline'])
    times = [bucket['t'] for bucket in run['timeline']]
    for outcome, color in ERROR_COLORS.items():
        counts = [bucket['errors'].get(outcome, 0) for bucket in run['timeline']]
        if any(counts):
            axis.bar(times, counts, width=width, bottom=bottoms, align='edge', color=color, label=outcome)
            bottoms = [low + count for low, count in zip(bottoms, counts)]
    axis.set_ylabel('failed per %.2g s' % width)
    if any(bottoms):
        axis.legend(loc='upper right', fontsize='x-small')
    else:
        axis.text(0.5, 0.5, 'no failed request', transform=axis.transAxes, ha='center', va='center',
                  color='tab:green')


def _latency(axis, run, width):
    times = [bucket['t'] + width / 2 for bucket in run['timeline']]
    for key, style in (('p50_ms', ':'), ('p99_ms', '-')):
        axis.plot(times, [bucket[key] if bucket[key] else float('nan') for bucket in run['timeline']],
                  linestyle=style, color='tab:blue', linewidth=0.8, label=key.replace('_ms', ''))
    axis.set_yscale('log')
    axis.set_ylabel('ok latency ms')
    axis.set_xlabel('seconds since the load started')
    axis.legend(loc='upper right', fontsize='x-small')


def plot_strategy(name, runs, path):
    """Write the PNG of one strategy's runs (runs that failed to run are left out)."""
    runs = [run for run in runs if not run.get('error') and run.get('timeline')]
    if not runs:
        return None
    colors = phase_colors(runs)
    # Playbook phases are task names, some long: the legend gets as many rows as it needs.
    legend_columns = max(1, min(len(colors), len(runs)))
    legend_rows = -(-len(colors) // legend_columns)
    legend_inches = 0.4 + 0.25 * legend_rows
    height = 8.5 + legend_inches
    figure, axes = plt.subplots(3, len(runs), figsize=(4.2 * len(runs) + 1, height), squeeze=False,
                                sharex='col')
    for column, run in enumerate(runs):
        timeline = run['timeline']
        width = timeline[1]['t'] - timeline[0]['t'] if len(timeline) > 1 else 1.0
        for row, draw in enumerate((_throughput, _errors, _latency)):
            axis = axes[row][column]
            _shade_phases(axis, run, colors)
            draw(axis, run, width)
            axis.grid(alpha=0.3)
        axes[0][column].set_title('%s, %d swaps, %d failed' % (run['load']['label'], len(run['swaps']), run['failed']),
                                  fontsize='small')
    figure.legend(handles=[Patch(color=color, alpha=0.4, label=textwrap.shorten(phase, LABEL_CHARS))
                           for phase, color in colors.items()],
                  loc='lower center', ncol=legend_columns, fontsize='small', title='swap phases')
    figure.suptitle(name)
    figure.tight_layout(rect=(0, (legend_inches + 0.2) / height, 1, 0.97))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plot_scale(summary, path):
    """The scale series: rolling-restart total and time per member against the number of
    backends, with the fitted line (zdtbench.scale.summary)."""
    points = [row for row in summary['rows'] if row['total_s'] is not None]
    if not points:
        return None
    figure, (total_axis, member_axis) = plt.subplots(1, 2, figsize=(10, 4.2))
    backends = [row['backends'] for row in points]
    total_axis.plot(backends, [row['total_s'] for row in points], 'o', color='black', label='measured')
    fit = summary['fit']
    if fit:
        ends = [0, max(backends)]
        total_axis.plot(ends, [fit['intercept'] + fit['slope'] * value for value in ends], '--', color='tab:blue',
                        label='%.2f s + %.2f s x N' % (fit['intercept'], fit['slope']))
    total_axis.set_xlabel('backends N')
    total_axis.set_ylabel('rolling restart wall time s')
    total_axis.set_ylim(bottom=0)
    total_axis.set_xlim(left=0)
    total_axis.legend(loc='upper left', fontsize='small')
    member_axis.bar([str(value) for value in backends], [row['per_member_s'] for row in points], color='tab:gray',
                    label='per member')
    overheads = [row['overhead_per_member_s'] for row in points]
    if all(value is not None for value in overheads):
        member_axis.bar([str(value) for value in backends], overheads, color='tab:orange', width=0.5,
                        label='per member minus app start-to-ready')
    member_axis.set_xlabel('backends N')
    member_axis.set_ylabel('s per member')
    member_axis.legend(loc='upper left', fontsize='small')
    for axis in (total_axis, member_axis):
        axis.grid(alpha=0.3)
    figure.suptitle(textwrap.shorten('rolling_restart scale: %s' % summary['verdict'], 110), fontsize='small')
    figure.tight_layout(rect=(0, 0, 1, 0.94))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
