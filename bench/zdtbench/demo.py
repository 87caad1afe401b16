"""`make demo`: the steps of playbooks/demo.yml from its task events, and the report's numbers and text.

The playbook brackets every step (a blue/green swap, one backend's rolling restart) with two
marker tasks setting the facts ``demo_step_started`` / ``demo_step_ended`` to the step
(kind, label, old, new). A step ran from the end of its first marker to the start of the second.
The numbers reuse the benchmark's: stats.analyze over the merged samples of every site, plus
the steady load *before* the first step (the question the demo answers: does latency change
while we deploy?) and each step's own failed count and latency.
"""

import collections

from zdtbench import stats, windows
from zdtbench.collection import traffic
from zdtbench.playbook import task_records
from zdtbench.samples import merge
from zdtbench.swaps import Phase

START_MARK = 'demo_step_started'
END_MARK = 'demo_step_ended'
KIND_LABELS = dict(blue_green='blue/green swap', rolling_restart='rolling restart (one backend)')
# A Swap (zdtbench.swaps) with the step's kind and label: stats.analyze takes it as it is.
Step = collections.namedtuple('Step', 'index start end old_version new_version phases kind label tasks')
Site = collections.namedtuple('Site', 'name url concurrency keepalive')
SLOWEST_TASKS = 5           # per step in report.json: where a step's time went


def steps_from_events(events, to_monotonic):
    """(steps, unfinished): the finished Steps in order, each with one phase named after its
    kind (what the timeline shades), and the label of a step that started but never ended
    (None when every started step ended). ``to_monotonic`` turns epoch seconds into
    time.monotonic() values, the samples' clock."""
    steps = []
    current = None
    for name, start, end, facts in task_records(events):
        if START_MARK in facts:
            current = dict(facts[START_MARK], start=end, tasks=[])
        elif END_MARK in facts and current is not None:
            kind = current.get('kind') or '?'
            begin, finish = to_monotonic(current['start']), to_monotonic(start)
            steps.append(Step(len(steps) + 1, begin, finish, current.get('old'), current.get('new'),
                              [Phase(KIND_LABELS.get(kind, kind), begin, finish)], kind,
                              current.get('label') or kind, current['tasks']))
            current = None
        elif current is not None:
            current['tasks'].append((name, round(end - start, 3)))
    return steps, (current.get('label') or '?') if current is not None else None


def _latency(window):
    latency = window['latency_ms']
    return dict(p50_ms=latency['p50'], p99_ms=latency['p99'], max_ms=latency['max'],
                ok_per_s=window['ok_per_s'], requests=window['requests'], failed=window['failed'])


def analyze(samples_by_site, steps, begin, end, warmup=1.0, settle=0.5, bucket=0.5):
    """The demo's numbers. samples_by_site: {site name: samples}; steps: Steps; begin/end: when
    the load started and was told to stop (time.monotonic()). Latency is of ok requests.
    ``before``: from the end of the warm-up to the first step; ``during``: inside the steps."""
    samples = merge(*samples_by_site.values())
    result = stats.analyze(samples, steps, begin, end, None, warmup, settle, bucket)
    first = min([step.start for step in steps] or [end])
    before_span = [windows.Interval(begin + warmup, first)]
    before = stats.window_stats(windows.within(samples, before_span), windows.total_length(before_span))
    during = result['swap']
    result['before'] = _latency(before)
    result['during'] = _latency(during)
    result['sites'] = dict((name, stats.counts(group)) for name, group in samples_by_site.items())
    for record, step in zip(result['swaps'], sorted(steps, key=lambda step: step.start)):
        inside = windows.within(samples, [windows.Interval(step.start, step.end)])
        slowest = sorted(step.tasks, key=lambda task: -task[1])[:SLOWEST_TASKS]
        record.update(kind=step.kind, label=step.label, slowest_tasks=[list(task) for task in slowest],
                      latency=_latency(stats.window_stats(inside, step.end - step.start)))
    kinds = collections.OrderedDict()
    for record in result['swaps']:
        kinds.setdefault(record['kind'], []).append(record['wall_s'])
    result['kinds'] = dict((kind, dict(count=len(walls), total_s=round(sum(walls), 3),
                                       max_s=round(max(walls), 3)))
                           for kind, walls in kinds.items())
    return result


def _ms(value):
    return '-' if value is None else '%.1f ms' % value


def _errors_text(errors):
    return ', '.join('%s %d' % (outcome, errors.get(outcome, 0))
                     for outcome in traffic.OUTCOMES if outcome != traffic.OK)


def render(report, sites, png=None, data=None):
    """The report's lines. report: analyze()'s result plus ``error`` (None, or what failed),
    ``wall_s`` (the whole demo); sites: the Sites, in order."""
    lines = ['', '==== make demo: zero-downtime deploys under load ====']
    for site in sites:
        counts = report['sites'].get(site.name, dict(requests=0, failed=0))
        lines.append('load   %-34s %2d clients, %-22s %7d requests, %d failed' % (
            '%s %s' % (site.url, site.name), site.concurrency,
            'keep-alive' if site.keepalive else 'one connection/request', counts['requests'],
            counts['failed']))
    lines.append('total  %d requests sent in %.1f s, %d ok, %d failed (%s)' % (
        report['requests'], report.get('seconds') or 0.0, report['ok'], report['failed'],
        _errors_text(report['errors'])))
    lines.append('')
    lines.append('latency of ok requests      p50        p99        max      ok/s')
    for title, key in (('before the steps', 'before'), ('during the steps', 'during')):
        window = report.get(key)
        if window:
            lines.append('  %-22s %9s  %9s  %9s  %7s' % (
                title, _ms(window['p50_ms']), _ms(window['p99_ms']), _ms(window['max_ms']),
                '-' if window['ok_per_s'] is None else '%.0f' % window['ok_per_s']))
    lines.append('')
    lines.append('step                                              time   failed   p50        p99')
    for record in report.get('swaps', []):
        latency = record['latency']
        lines.append('  %d %-42s %6.1f s  %5d   %9s  %9s' % (
            record['index'], '%s (%s -> %s)' % (record['label'], record['old_version'], record['new_version'])
            if record['kind'] == 'rolling_restart' else record['label'], record['wall_s'], record['failed'],
            _ms(latency['p50_ms']), _ms(latency['p99_ms'])))
    for kind, summary in report.get('kinds', {}).items():
        lines.append('  %-44s %6.1f s in all, %d steps, longest %.1f s' % (
            KIND_LABELS.get(kind, kind).replace(' (one backend)', ''), summary['total_s'], summary['count'],
            summary['max_s']))
    lines.append('')
    if report.get('wall_s') is not None:
        lines.append('demo wall time %.1f s (stack up, load, steps, clean-up)' % report['wall_s'])
    if png:
        lines.append('timeline: %s' % png)
    if data:
        lines.append('numbers:  %s' % data)
    if report.get('error'):
        lines.append('FAILED: %s' % report['error'])
    elif report['failed']:
        lines.append('FAILED: %d requests failed (%s)' % (report['failed'], _errors_text(report['errors'])))
    else:
        lines.append('PASSED: %d requests, 0 failed' % report['requests'])
    return lines


def verdict(report):
    """The exit code: 0 only when the demo ran through, the load ran, and no request failed."""
    if report.get('error') or not report.get('requests') or report.get('failed'):
        return 1
    return 0
