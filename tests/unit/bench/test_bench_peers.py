# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ours against the peers: the pairs, both judges' counts, the targets; the app profiles; wrk as
the second judge of a run; the peers in the plans."""

import pytest

from zdtbench import catalog, judge, markdown, peers, playbook, profile, sysctl
from zdtbench.strategy import BenchEnv

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import run_record
from ansible_collections.zerodowntime.deploy.tests.unit.bench.test_bench_wrk_check import WITH_ERRORS


def judged(name, failed=0, wrk_failed=0, wall=2.0, swaps=3, keepalive=True, together=True, p99_ratio=1.0):
    """A run record of ``name`` with wrk's verdict, as one of two loads sent together."""
    run = run_record(name, failed_count=failed, wall=wall, swaps=swaps, keepalive=keepalive, p99_ratio=p99_ratio)
    run['concurrent_with'] = ['the other load'] if together else []
    run['wrk'] = dict(requests=1000, failed=wrk_failed, per_s=50.0, latency_ms=dict(p50=1.0, p99=8.0, max=20.0))
    return run


def pair_runs(ours_wall, peer_wall, ours_failed=0, ours_wrk=0, peer_failed=40, peer_wrk=6,
              ours='rolling_restart-haproxy', peer='rolling_restart-haproxy-peer'):
    """Both loads of one run of ours and one of the peer (the loads of a run share wrk's verdict)."""
    return [judged(ours, ours_failed, ours_wrk, ours_wall), judged(ours, 0, ours_wrk, ours_wall, keepalive=False),
            judged(peer, peer_failed, peer_wrk, peer_wall, p99_ratio=3.0),
            judged(peer, 0, peer_wrk, peer_wall, keepalive=False, p99_ratio=3.0)]


def test_a_pair_is_compared_only_when_both_ran():
    assert peers.compare_pairs([judged('rolling_restart-haproxy')]) == []
    assert peers.compare_pairs([judged('rolling_restart-haproxy-peer')]) == []


def test_rolling_restart_per_member_against_the_peer():
    row, = peers.compare_pairs(pair_runs(ours_wall=3.0, peer_wall=4.0))
    assert (row['ours_name'], row['peer_name'], row['unit'], row['max_ratio']) == (
        'rolling_restart-haproxy', 'rolling_restart-haproxy-peer', 'member', 1.0)
    assert (row['time_ratio'], row['time_met'], row['zero_failed_met']) == (0.75, True, True)
    # Our load generator counts every load; wrk's one verdict per run is counted once, not per load.
    assert (row['peer']['failed'], row['peer']['wrk_failed'], row['peer']['wrk_requests']) == (40, 6, 1000)
    assert row['ours']['swaps'] == 3 and row['p99_ratio'] == pytest.approx(1 / 3.0, abs=0.01)
    assert (row['ours']['swap_p99_ms'], row['ours']['wrk_p99_ms']) == (10.0, 8.0)


def test_slower_than_the_peer_misses_the_time_target():
    row, = peers.compare_pairs(pair_runs(ours_wall=4.2, peer_wall=4.0))
    assert (row['time_ratio'], row['time_met']) == (1.05, False)
    blue_green, = peers.compare_pairs(pair_runs(4.2, 2.0, ours='blue_green-haproxy', peer='blue_green-haproxy-peer'))
    assert (blue_green['unit'], blue_green['time_ratio'], blue_green['time_met']) == ('swap', 2.1, False)


def test_a_failure_seen_by_wrk_alone_misses_zero_failed():
    row, = peers.compare_pairs(pair_runs(3.0, 4.0, ours_wrk=1))
    assert row['zero_failed_met'] is False
    row, = peers.compare_pairs(pair_runs(3.0, 4.0, ours_failed=2))
    assert row['zero_failed_met'] is False


def test_without_wrk_zero_failed_is_not_measured_as_stated():
    runs = pair_runs(3.0, 4.0)
    for run in runs[:2]:
        run['wrk'] = dict(skipped='wrk is not installed')
    row, = peers.compare_pairs(runs)
    assert row['zero_failed_met'] is None and row['ours']['wrk_failed'] is None
    assert row['ours']['wrk_missing'] == ['wrk is not installed']


def test_target_lines_and_markdown_section():
    rows = peers.compare_pairs(pair_runs(4.2, 4.0) + pair_runs(3.0, 2.0, ours='blue_green-haproxy',
                                                               peer='blue_green-haproxy-peer'))
    assert peers.target_lines(rows) == [
        'rolling_restart-haproxy per member <= 1x rolling_restart-haproxy-peer: **missed** (1.05x: 4.20 s vs 4.00 s)',
        'rolling_restart-haproxy: 0 failed by the load generator and by wrk: met (0 / 0; the peer: 40 / 6)',
        'blue_green-haproxy per swap <= 2x blue_green-haproxy-peer: met (1.50x: 3.00 s vs 2.00 s)',
        'blue_green-haproxy: 0 failed by the load generator and by wrk: met (0 / 0; the peer: 40 / 6)',
    ]
    lines = markdown.peers_section(rows).splitlines()
    assert lines[2] == ('| rolling_restart-haproxy vs rolling_restart-haproxy-peer | 3 / 3 | 4.20 / 4.00 per member '
                        '| 1.05x (<= 1x) | 0 / 0 | **40 / 6** | 10.0 / 30.0 (0.33x) | 8.0 / 8.0 |')
    assert '- ' + peers.target_lines(rows)[0] in lines
    assert markdown.peers_section([]).startswith('not run in this plan (both strategies of a pair must run: '
                                                 'rolling_restart-haproxy and rolling_restart-haproxy-peer')


def test_the_run_table_shows_the_second_judge():
    run = judged('naive', wrk_failed=3)
    assert markdown.run_row(run)[-1] == '**3** of 1000'
    run['wrk'] = dict(skipped='wrk is not installed')
    assert markdown.run_row(run)[-1] == 'wrk is not installed'
    assert markdown.run_row(run_record('old record'))[-1] == '–'


def test_profiles_give_hand_scripts_and_playbooks_the_same_app():
    realistic = profile.get('realistic')
    assert profile.docker_run_args(realistic) == [
        '-e', 'APP_IDLE_TIMEOUT=5', '-e', 'APP_STARTUP_DELAY=1.5', '--health-interval', '1s',
        '--health-timeout', '2s', '--health-retries', '3', '--health-start-period', '10s']
    assert profile.extravars(realistic) == dict(
        bench_app_profile='realistic', bench_app_env=dict(APP_STARTUP_DELAY='1.5', APP_IDLE_TIMEOUT='5'),
        bench_app_healthcheck=dict(interval='1s', timeout='2s', retries=3, start_period='10s'),
        bench_app_readiness_interval=0.25)
    kind = profile.get('kind')
    assert profile.docker_run_args(kind) == []
    assert profile.extravars(kind)['bench_app_healthcheck'] is None
    assert profile.DEFAULT == 'realistic'
    with pytest.raises(ValueError, match=r"unknown app profile 'nice' \(known: kind, realistic\)"):
        profile.get('nice')


def test_the_environment_carries_the_profile():
    env = BenchEnv(1, (), {'v1': 'app:v1', 'v2': 'app:v2'}, 'x-', 3)
    assert env.app.name == 'kind' and env.app_args == []
    env = env._replace(profile=profile.get('realistic'))
    assert env.app_args == profile.docker_run_args(profile.get('realistic'))
    strategy = catalog.rolling_restart('haproxy')
    extravars = strategy._bench_vars(env)
    assert extravars['bench_app_env'] == dict(APP_STARTUP_DELAY='1.5', APP_IDLE_TIMEOUT='5')


def test_wrk_judge_command_and_verdict():
    assert judge.command('http://127.0.0.1:18600/', 90.2, '/tmp/d.lua') == [
        'wrk', '-t1', '-c4', '-d91s', '--timeout', '10s', '--latency', '-s', '/tmp/d.lua', 'http://127.0.0.1:18600/']
    assert judge.verdict(WITH_ERRORS) == dict(requests=1000, failed=10, per_s=16.7,
                                              latency_ms=dict(p50=0.85, p99=1200.0, max=1500.0), connections=4,
                                              delay_ms=20)
    assert judge.verdict('unable to connect to 127.0.0.1:18600 Connection refused\n') == dict(
        error='wrk printed no summary: unable to connect to 127.0.0.1:18600 Connection refused')


def test_a_missing_wrk_is_reported_not_fatal(monkeypatch):
    monkeypatch.setattr(judge.shutil, 'which', lambda name: None)
    with judge.WrkJudge('http://127.0.0.1:1/', 5) as wrk:
        wrk.halt()
        assert wrk.collect() == dict(skipped='wrk is not installed')


def plans(monkeypatch, installed=True, **kwargs):
    monkeypatch.setattr(sysctl, 'available', lambda path=None: True)
    monkeypatch.setattr(playbook, 'collection_installed', lambda name: installed)
    return catalog.build_plan(**kwargs)


def test_each_peer_runs_right_after_the_strategy_it_is_measured_against(monkeypatch):
    runs, _scale, pending = plans(monkeypatch)
    names = [plan.strategy.name for plan in runs]
    for pair in peers.PAIRS:
        assert names.index(pair.peer) == names.index(pair.ours) + 1
    by_name = dict((plan.strategy.name, plan) for plan in runs)
    # The same loads and swap counts as ours, and the time budget shared like ours.
    assert by_name['rolling_restart-haproxy-peer'].strategy.kind == 'peer'
    assert by_name['rolling_restart-haproxy-peer'].swaps == by_name['rolling_restart-haproxy'].swaps == 7
    assert by_name['blue_green-haproxy-peer'].swaps == by_name['blue_green-haproxy'].swaps == catalog.TARGET_SWAPS
    assert by_name['blue_green-haproxy-peer'].loads == by_name['blue_green-haproxy'].loads
    assert 'peer' in catalog.BUDGETED_KINDS
    quick = dict((plan.strategy.name, plan.swaps) for plan in plans(monkeypatch, quick=True)[0])
    assert (quick['rolling_restart-haproxy-peer'], quick['blue_green-haproxy-peer']) == (1, 2)
    swaps = plans(monkeypatch, ours_swaps=3)[0]
    assert all(plan.swaps == 3 for plan in swaps if plan.strategy.kind in ('ours', 'peer'))


def test_a_peer_is_pending_while_its_collections_are_missing(monkeypatch):
    runs, _scale, pending = plans(monkeypatch, installed=False)
    assert 'rolling_restart-haproxy-peer' not in [plan.strategy.name for plan in runs]
    assert pending['rolling_restart-haproxy-peer'] == (
        'collection(s) community.general, community.docker not installed '
        '(the `ansible` package of tests/requirements.txt has them)')
    assert not playbook.collection_installed('zerodowntime_no.such_collection')
