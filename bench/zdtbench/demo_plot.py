"""The PNG of `make demo`: throughput, failed requests and latency over the whole demo, each step
shaded by its kind and labelled on top. The panels are the benchmark's (zdtbench.plot), one
wide column instead of one column per load."""

import textwrap

from zdtbench import plot

plt = plot.plt
Patch = plot.Patch


def plot_demo(report, title, path):
    """Write the PNG of analyze()'s result; returns the path (None without a timeline)."""
    if not report.get('timeline'):
        return None
    timeline = report['timeline']
    width = timeline[1]['t'] - timeline[0]['t'] if len(timeline) > 1 else 1.0
    colors = plot.phase_colors([report])
    figure, axes = plt.subplots(3, 1, figsize=(13, 9), sharex=True)
    for axis, draw in zip(axes, (plot._throughput, plot._errors, plot._latency)):
        plot._shade_phases(axis, report, colors)
        draw(axis, report, width)
        axis.grid(alpha=0.3)
    top = axes[0]
    for record in report['swaps']:
        middle = (record['start_s'] + record['end_s']) / 2.0
        top.annotate(textwrap.shorten(record['label'], 28), xy=(middle, 1.0), xycoords=('data', 'axes fraction'),
                     xytext=(0, 3), textcoords='offset points', rotation=30, fontsize='x-small',
                     ha='left', va='bottom')
    figure.legend(handles=[Patch(color=color, alpha=0.4, label=name) for name, color in colors.items()],
                  loc='lower center', ncol=max(1, len(colors)), fontsize='small')
    figure.suptitle('%s - %d requests, %d failed' % (title, report['requests'], report['failed']))
    figure.tight_layout(rect=(0, 0.04, 1, 0.93))
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
