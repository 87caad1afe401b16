"""The benchmark report as Markdown: runs, targets, summaries, scale, pending, load generator check."""

from zdtbench.judge import WRK_CONNECTIONS, WRK_DELAY_MS
from zdtbench.peers import PAIRS as PEER_PAIRS, target_lines
from zdtbench.targets import TARGETS

RUN_COLUMNS = ('strategy', 'load', 'swaps', 'requests', 'failed', 'ok/s steady', 'ok/s swap',
               'p50/p99/max ms steady', 'p50/p99/max ms swap', 'swap s median/max', 'x ready',
               'mixed ms max', 'wrk failed of requests')


def table(columns, rows):
    lines = ['| %s |' % ' | '.join(columns), '|%s|' % '|'.join(['---'] * len(columns))]
    lines += ['| %s |' % ' | '.join(str(cell) for cell in row) for row in rows]
    return '\n'.join(lines)


def text_cell(text, limit=200):
    """Free text in one table cell: one line, no column separator, not too long."""
    text = ' '.join(str(text).split()).replace('|', '/')
    return text if len(text) <= limit else text[:limit - 1] + '…'


def _num(value, pattern='%s'):
    return '–' if value is None else pattern % value


def failed_cell(run):
    """'0', or the total with its classes: '312 (refused 300, reset 12)'."""
    if not run['failed']:
        return '0'
    classes = ', '.join('%s %d' % (name, count) for name, count in sorted(run['errors'].items()) if count)
    return '**%d** (%s)' % (run['failed'], classes)


def latency_cell(latency):
    return '/'.join(_num(latency[key], '%.1f') for key in ('p50', 'p99', 'max'))


def wrk_cell(run):
    """The second judge's count of the run: '0 of 1234', or why there is none."""
    wrk = run.get('wrk')
    if not wrk:
        return '–'
    if 'failed' not in wrk:
        return text_cell(wrk.get('skipped') or wrk.get('error'), 80)
    return '%s of %d' % ('**%d**' % wrk['failed'] if wrk['failed'] else '0', wrk['requests'])


def load_cell(run):
    """The load, and the loads sent at the same time against the same swaps: 'c=256 close (+ c=256 keep-alive)'."""
    others = run.get('concurrent_with') or []
    return run['load']['label'] + (' (+ %s)' % ', '.join(others) if others else '')


def swaps_cell(run):
    """Swaps done (a rolling restart counts each backend); with the time budget's cut when the run
    did fewer deploys than planned."""
    done, planned = run.get('swaps_done'), run.get('swaps_planned')
    if done is not None and planned is not None and done < planned:
        return '%d (time budget: %d of %d planned deploys)' % (len(run['swaps']), done, planned)
    return len(run['swaps'])


def run_row(run):
    head = [run['strategy'], load_cell(run)]
    if run.get('error'):
        # Requests sent before the run broke still count (absent when the load never started).
        counts = [run['requests'], failed_cell(run)] if 'requests' in run else ['–', '–']
        return head + ['–'] + counts + [text_cell('run failed: %s' % run['error'])] + ['–'] * 6 + [wrk_cell(run)]
    steady, during = run['steady'], run['swap']
    share = '' if run['throughput_ratio'] is None else ' (%.0f%%)' % (100 * run['throughput_ratio'])
    return head + [
        swaps_cell(run), run['requests'], failed_cell(run),
        _num(steady['ok_per_s'], '%.0f'), _num(during['ok_per_s'], '%.0f') + share,
        latency_cell(steady['latency_ms']), latency_cell(during['latency_ms']),
        '%s/%s' % (_num(run['swap_wall_s']['median'], '%.2f'), _num(run['swap_wall_s']['max'], '%.2f')),
        _num(run['swap_vs_ready'], '%.1f'),
        _num(run['mixed_window_ms']['max'], '%.0f'), wrk_cell(run),
    ]


def runs_table(runs):
    return table(RUN_COLUMNS, [run_row(run) for run in runs])


def target_cell(result):
    label = {True: 'met', False: '**missed**', None: 'n/a'}[result['met']]
    return '%s: %s' % (label, result['detail'])


def targets_table(strategies):
    """strategies: {name: {'targets': {...}}}, in report order."""
    rows = [[name] + [target_cell(entry['targets'][target.key]) for target in TARGETS]
            for name, entry in strategies.items()]
    return table(['strategy'] + [target.title for target in TARGETS], rows)


def scale_table(summary):
    """summary: zdtbench.scale.summary() of the scale runs."""
    rows = []
    for row in summary['rows']:
        if row['error']:
            rows.append([row['strategy'], row['backends'], text_cell('run failed: %s' % row['error']), '–', '–'])
            continue
        rows.append([row['strategy'], row['backends'], _num(row['total_s'], '%.2f'), _num(row['per_member_s'], '%.2f'),
                     _num(row['overhead_per_member_s'], '%.2f')])
    return '\n'.join([
        table(['strategy', 'backends', 'total s', 's per member',
               'overhead s per member (minus app start-to-ready)'], rows),
        '', 'Fit: %s.' % summary['verdict']])


def wall_table(strategies):
    """Per-swap wall time of every strategy: median/max, vs its hand script, the longest phases."""
    rows = []
    for name, entry in strategies.items():
        wall = entry.get('wall')
        if not wall:
            continue
        hand = '–'
        if wall['vs_hand'] is not None:
            flag = '' if wall['vs_hand'] <= 2.0 else ' (**> 2x**)'
            hand = '%s: %.2f s, ours %.2fx%s' % (entry['hand_script'], wall['hand_median_s'], wall['vs_hand'], flag)
        phases = '; '.join('%s %.2f' % (text_cell(phase, 50), seconds) for phase, seconds in wall['phases'])
        rows.append([name, wall['swaps'], '%s/%s' % (_num(wall['median_s'], '%.2f'), _num(wall['max_s'], '%.2f')),
                     hand, text_cell(phases, 300) or '–'])
    return table(['strategy', 'swaps', 'swap s median/max', 'hand script median (target <= 2x)',
                  'longest phases, median s per swap'], rows)


PEER_COLUMNS = ('ours vs peer', 'swaps ours / peer', 's per member or swap, median: ours / peer',
                'ours/peer (target)', 'failed ours: loadgen / wrk', 'failed peer: loadgen / wrk',
                'p99 ms during swaps: ours / peer (ratio)', 'wrk p99 ms, whole run: ours / peer')
WRK_NOTE = '%d keep-alive connections, %d ms between requests, through the same front for the whole run' % (
    WRK_CONNECTIONS, WRK_DELAY_MS)


def _judges_cell(side):
    wrk = _num(side['wrk_failed'], '%d') if side['wrk_failed'] is not None else 'no wrk (%s)' % (
        text_cell(', '.join(side['wrk_missing']), 60) or 'not run')
    cell = '%d / %s' % (side['failed'], wrk)
    return cell if not (side['failed'] or side['wrk_failed']) else '**%s**' % cell


def peers_section(rows):
    """The peer-vs-ours table and the targets of issue #13 read from it (zdtbench.peers)."""
    if not rows:
        return 'not run in this plan (both strategies of a pair must run: %s)' % ', '.join(
            '%s and %s' % (pair.ours, pair.peer) for pair in PEER_PAIRS)
    table_rows = []
    for row in rows:
        ours, peer = row['ours'], row['peer']
        table_rows.append([
            '%s vs %s' % (row['ours_name'], row['peer_name']),
            '%d / %d' % (ours['swaps'], peer['swaps']),
            '%s / %s per %s' % (_num(ours['median_s'], '%.2f'), _num(peer['median_s'], '%.2f'), row['unit']),
            '%s (<= %gx)' % (_num(row['time_ratio'], '%.2fx'), row['max_ratio']),
            _judges_cell(ours), _judges_cell(peer),
            '%s / %s (%s)' % (_num(ours['swap_p99_ms'], '%.1f'), _num(peer['swap_p99_ms'], '%.1f'),
                              _num(row['p99_ratio'], '%.2fx')),
            '%s / %s' % (_num(ours['wrk_p99_ms'], '%.1f'), _num(peer['wrk_p99_ms'], '%.1f')),
        ])
    return '\n'.join([table(PEER_COLUMNS, table_rows), '', 'Targets (issue #13):', '']
                     + ['- %s' % line for line in target_lines(rows)])


def loadgen_check_section(check):
    if not check:
        return 'not run'
    if check.get('skipped'):
        return 'skipped: %s' % check['skipped']
    ours, wrk = check['ours'], check['wrk']
    return '\n'.join([
        'Steady run, %d clients keep-alive, %.0f s each, same app container:' % (check['concurrency'], check['seconds']),
        '',
        table(['tool', 'requests', 'errors', 'requests/s', 'latency p50 / p99 / max ms'], [
            ['bench/loadgen.py (_traffic, %d processes)' % check['processes'], ours['requests'], ours['failed'],
             '%.0f' % ours['per_s'], latency_cell(ours['latency_ms'])],
            ['wrk %s' % wrk.get('version', ''), wrk['requests'], wrk['errors'], '%.0f' % wrk['per_s'],
             '%s / %s / %s' % (wrk['latency_ms'].get('p50', '–'), wrk['latency_ms'].get('p99', '–'),
                               wrk['latency_ms'].get('max', '–'))]]),
        '',
        'Verdict: %s' % check['verdict'],
    ])


def machine_line(machine):
    keys = ('cores', 'memory_gib', 'kernel', 'docker', 'python', 'ansible_core', 'loadavg_start')
    return ', '.join('%s %s' % (key, machine.get(key)) for key in keys)


def uncommitted(commit):
    """' (+ uncommitted changes in a, b)' when the measured tree differed from the commit."""
    if not commit['dirty']:
        return ''
    changed = commit.get('changed') or []
    return ' (+ uncommitted changes%s)' % (' in %s' % text_cell(', '.join(changed), 300) if changed else '')


def render(report):
    commit = report['commit']
    sections = [
        '# zerodowntime.deploy benchmark (%s)' % report['mode'],
        '',
        'Commit %s%s, started %s, took %.0f s. Machine: %s.' % (
            commit['sha'], uncommitted(commit), report['started'],
            report['elapsed_s'], machine_line(report['machine'])),
        '',
    ]
    if report.get('interrupted'):
        sections += ['**Run %s.**' % report['interrupted'], '']
    if report.get('budget_s'):
        sections += ['Time budget %.0f s: the collection\'s strategies shared equally what the baselines and each '
                     'run\'s fixed parts left, and started no swap that would end after their share; a run that '
                     'did fewer deploys than planned says so in its swaps cell.' % report['budget_s'], '']
    if report.get('app_profile'):
        sections += ['App profile **%s**: %s.' % (report['app_profile']['name'], report['app_profile']['description']),
                     '']
    sections += [
        '## Ours against the peers users run today (same run, same load, same strict front)',
        '',
        peers_section(report.get('peers') or []),
        '',
        'Failed: our load generator\'s count (every load of the run) / wrk\'s, the second judge (%s). '
        'p99 during swaps: of ok requests of our load generator, the worst load.' % WRK_NOTE,
        '',
    ]
    sections += [
        'App start-to-ready (docker run until /health answers), median of %d: %s s. '
        'Latency is over ok requests; a request belongs to the window it started in; '
        'steady excludes the warm-up and %.1f s after each swap.' % (
            len(report['ready_reference']['runs_s']), report['ready_reference']['median_s'],
            report['timing']['settle']),
        '',
        '## Runs',
        '',
        runs_table(report['runs']),
        '',
    ]
    if any(run.get('concurrent_with') for run in report['runs']):
        sections += ['A load in brackets ran at the same time against the same swaps (one set of swaps, '
                     'each load counted apart): each load saw the machine serving both, which is harsher '
                     'than either alone.', '']
    notes = ['- %s, %s: %s' % (run['strategy'], run['load']['label'], note)
             for run in report['runs'] + report['scale'] for note in run.get('notes', [])]
    if notes:
        sections += ['Notes:', ''] + notes + ['']
    sections += [
        '## Targets',
        '',
        targets_table(report['strategies']),
        '',
        '## Summary against the best baseline (%s)' % (report['best_baseline'] or 'none ran'),
        '',
    ]
    sections += ['- %s' % entry['summary'] for entry in report['strategies'].values()]
    sections += ['', '## Swap wall time', '', wall_table(report['strategies'])]
    sections += ['', '## rolling_restart scale (3, 6, 12 backends)', '']
    sections.append(scale_table(report['scale_summary']) if report['scale']
                    else 'not run in this plan (--full or --scale)')
    sections += ['', '## Pending', '']
    sections += (['- %s: %s' % item for item in report['pending'].items()] or ['none'])
    sections += ['', '## Load generator cross-check', '', loadgen_check_section(report['loadgen_check']), '']
    sections += ['## Timelines (ok throughput, failed requests, ok latency; swap phases shaded)', '']
    sections += ['![%s](%s)' % item for item in report.get('pngs', {}).items()] or ['none']
    return '\n'.join(sections) + '\n'
