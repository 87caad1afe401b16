# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Markdown report."""

from zdtbench import markdown, report, scale

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import run_record


def test_table_shape():
    assert markdown.table(['a', 'b'], [[1, None]]).splitlines() == ['| a | b |', '|---|---|', '| 1 | None |']


def test_failed_cell_lists_the_classes_seen():
    assert markdown.failed_cell(run_record()) == '0'
    run = run_record(failed_count=5)
    run['errors']['reset'] = 2
    run['failed'] = 7
    assert markdown.failed_cell(run) == '**7** (refused 5, reset 2)'


def test_run_row_has_every_column_also_for_a_broken_run():
    good = markdown.run_row(run_record(throughput_ratio=0.5, wall=1.25))
    broken = markdown.run_row(run_record(error='StrategyError: setup | failed\nsecond line'))
    assert len(good) == len(broken) == len(markdown.RUN_COLUMNS)
    assert good[6] == '50 (50%)'
    assert good[9] == '1.25/1.25'
    assert broken[3:6] == ['–', '–', 'run failed: StrategyError: setup / failed second line']   # one line


def test_a_run_cut_by_the_time_budget_says_so():
    run = run_record(swaps=9)
    run.update(swaps_done=3, swaps_planned=7)        # 3 rolling restarts over 3 backends
    assert markdown.run_row(run)[2] == '9 (time budget: 3 of 7 planned deploys)'
    run.update(swaps_done=7)
    assert markdown.run_row(run)[2] == 9


def test_a_run_that_broke_under_load_still_shows_its_requests():
    run = run_record(error='StrategyError: drain timed out')
    run.update(requests=500, failed=2, errors=dict(reset=2))
    assert markdown.run_row(run)[3:5] == [500, '**2** (reset 2)']


def test_scale_table_per_member_overhead():
    run = run_record(wall=6.0)
    run['backends'] = 3
    lines = markdown.scale_table(scale.summary([run])).splitlines()
    assert lines[2] == '| s | 3 | 6.00 | 2.00 | 1.50 |'     # 6 s / 3 members - 0.5 s start-to-ready
    assert lines[-1].startswith('Fit: not enough points')


def test_loads_sent_together_are_named_in_the_load_cell_and_explained():
    alone = run_record()
    together = run_record(keepalive=False)
    together['concurrent_with'] = ['c=256 keep-alive']
    assert markdown.run_row(alone)[1] == 'c=256 keep-alive'
    assert markdown.run_row(together)[1] == 'c=256 close (+ c=256 keep-alive)'
    assert 'ran at the same time against the same swaps' in markdown.render(document([together]))
    assert 'ran at the same time' not in markdown.render(document([alone]))


def test_wall_table_compares_with_the_hand_script():
    strategies = {
        'ours': dict(hand_script='hand', wall=dict(swaps=20, median_s=3.0, max_s=4.0, hand_median_s=1.0, vs_hand=3.0,
                                                   phases=[('Swap the container', 2.5)])),
        'other': dict(hand_script=None, wall=dict(swaps=20, median_s=1.0, max_s=1.0, hand_median_s=None,
                                                  vs_hand=None, phases=[])),
    }
    rows = markdown.wall_table(strategies).splitlines()[2:]
    assert rows[0] == '| ours | 20 | 3.00/4.00 | hand: 1.00 s, ours 3.00x (**> 2x**) | Swap the container 2.50 |'
    assert rows[1] == '| other | 20 | 1.00/1.00 | – | – |'


def document(runs):
    infos = dict((run['strategy'], dict(name=run['strategy'], kind='baseline', hand_script=None)) for run in runs)
    strategies, best = report.evaluate_strategies(runs, infos)
    return dict(mode='quick', started='2026-01-01T00:00:00+00:00', elapsed_s=12.0,
                commit=dict(sha='abc123', dirty=True), machine=dict(cores=2, kernel='6.1'),
                timing=dict(settle=0.5), ready_reference=dict(median_s=0.3, runs_s=[0.3, 0.3, 0.4]),
                runs=runs, scale=[], strategies=strategies, best_baseline=best,
                pending={'blue_green-nginx': 'role roles/blue_green does not exist yet'},
                loadgen_check=dict(skipped='wrk is not installed'))


def test_render_has_every_section():
    runs = [run_record('naive', failed_count=3), run_record('reuseport')]
    runs[0]['notes'] = ['swap 1: something worth knowing']
    text = markdown.render(document(runs))
    for heading in ('## Runs', '## Targets', '## Summary against the best baseline (reuseport)',
                    '## Swap wall time', '## rolling_restart scale', '## Pending', '## Load generator cross-check'):
        assert heading in text
    assert 'abc123 (+ uncommitted changes)' in text
    assert '- naive, c=256 keep-alive: swap 1: something worth knowing' in text
    assert '- blue_green-nginx: role roles/blue_green does not exist yet' in text
    assert 'skipped: wrk is not installed' in text
    assert text.endswith('none\n')                    # no PNG in this document


def test_an_interrupted_run_says_so_and_names_the_uncommitted_files():
    doc = document([run_record('naive')])
    doc['interrupted'] = 'interrupted (15) after 900 s: 1 of 8 load records, the runs after it did not start'
    doc['commit']['changed'] = ['roles/blue_green/tasks/main.yml']
    text = markdown.render(doc)
    assert '**Run interrupted (15) after 900 s: 1 of 8 load records' in text
    assert 'abc123 (+ uncommitted changes in roles/blue_green/tasks/main.yml)' in text


def test_render_links_the_pngs():
    doc = document([run_record('naive')])
    doc['pngs'] = {'naive': 'naive.png'}
    assert markdown.render(doc).endswith('![naive](naive.png)\n')
