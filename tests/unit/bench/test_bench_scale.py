# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling_restart scale series: the line through total time against backends."""

import pytest

from zdtbench import compare, scale

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import run_record


def scale_run(backends, total, error=None):
    """One rolling restart over ``backends`` members lasting ``total`` seconds, members back to back."""
    run = run_record('rolling_restart-haproxy', concurrency=64, wall=total, error=error)
    run['backends'] = backends
    if total is not None and not error:
        step = total / backends
        run['swaps'] = [dict(index=member, group=0, start_s=1.0 + member * step, end_s=1.0 + (member + 1) * step,
                             wall_s=step, phases=[]) for member in range(backends)]
    return run


def test_restart_totals_span_the_members_of_each_rolling_restart():
    run = run_record()
    run['swaps'] = [dict(index=0, group=0, start_s=1.0, end_s=2.0), dict(index=1, group=0, start_s=2.5, end_s=4.0),
                    dict(index=2, group=1, start_s=6.0, end_s=6.5)]
    assert scale.restart_totals(run) == [3.0, 0.5]
    run['swaps'] = [dict(index=0, group=None, start_s=1.0, end_s=2.25)]          # no members: the swap itself
    assert scale.restart_totals(run) == [1.25]


def test_a_straight_line_is_found_exactly():
    fit = scale.linear_fit([(3, 2.0 + 3 * 1.5), (6, 2.0 + 6 * 1.5), (12, 2.0 + 12 * 1.5)])
    assert fit == dict(slope=1.5, intercept=2.0, r2=1.0, max_residual_ratio=0.0)


def test_a_bent_series_has_residuals():
    fit = scale.linear_fit([(3, 3.0), (6, 6.0), (12, 48.0)])
    assert fit['r2'] < 0.95 and fit['max_residual_ratio'] > 0.5


def test_one_backend_count_is_no_line():
    assert scale.linear_fit([(3, 4.0), (3, 5.0)]) is None
    assert scale.linear_fit([]) is None


def test_summary_rows_and_verdict():
    summary = scale.summary([scale_run(3, 6.5), scale_run(6, 11.0), scale_run(12, 20.0),
                             scale_run(24, None, error='StrategyError: boom')])
    assert [row['per_member_s'] for row in summary['rows']] == [pytest.approx(2.167, abs=1e-3), 1.833, 1.667, None]
    assert summary['rows'][0]['overhead_per_member_s'] == pytest.approx(1.667, abs=1e-3)   # minus 0.5 s ready
    assert summary['rows'][3]['error'] == 'StrategyError: boom'
    assert summary['fit']['slope'] == 1.5 and summary['fit']['intercept'] == 2.0
    assert summary['verdict'].endswith('linear in the number of backends')
    bent = scale.summary([scale_run(3, 3.0), scale_run(6, 6.0), scale_run(12, 48.0)])
    assert 'NOT linear' in bent['verdict']


def test_swaps_shared_by_loads_sent_together_count_once():
    together = [run_record(keepalive=True, swaps=20), run_record(keepalive=False, swaps=20)]
    together[0]['concurrent_with'] = ['c=256 close']
    together[1]['concurrent_with'] = ['c=256 keep-alive']
    assert compare.distinct_swaps(together) == 20
    assert compare.distinct_swaps([run_record(swaps=5), run_record(keepalive=False, swaps=5)]) == 10
    assert compare.aggregate(together)['swaps'] == 20


def test_wall_time_per_swap_against_the_hand_script():
    ours = run_record(swaps=0)
    ours['swaps'] = [dict(index=number, wall_s=wall, phases=[
        dict(name='deploy', start_s=0.0, end_s=wall - 0.5), dict(name='check', start_s=0.0, end_s=0.25),
        dict(name='check', start_s=0.0, end_s=0.25)]) for number, wall in enumerate((2.0, 3.0, 4.0))]
    hand = run_record(swaps=0)
    hand['swaps'] = [dict(index=0, wall_s=1.0, phases=[]), dict(index=1, wall_s=2.0, phases=[])]
    wall = compare.wall_time([ours, run_record(error='boom')], [hand])
    assert (wall['swaps'], wall['median_s'], wall['max_s']) == (3, 3.0, 4.0)
    assert (wall['hand_median_s'], wall['vs_hand']) == (1.5, 2.0)
    assert wall['phases'] == [('deploy', 2.5), ('check', 0.5)]        # a phase twice in a swap: summed
    assert compare.wall_time([ours])['vs_hand'] is None


def test_plot_scale_writes_a_png(tmp_path):
    from zdtbench import plot
    summary = scale.summary([scale_run(3, 6.5), scale_run(6, 11.0), scale_run(12, 20.0)])
    path = plot.plot_scale(summary, str(tmp_path / 'scale.png'))
    assert path and (tmp_path / 'scale.png').read_bytes()[:4] == b'\x89PNG'
    assert plot.plot_scale(scale.summary([scale_run(3, None, error='boom')]), str(tmp_path / 'none.png')) is None
