# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small parts: load split, sample files, phase clock, swap specs, sysctl restore, plan, PNG."""

import io

import pytest

from zdtbench import baselines, catalog, loadgen, playbook, samples, sysctl
from zdtbench.strategy import BenchEnv
from zdtbench.swaps import PhaseClock

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import failed, ok, run_record

ENV = BenchEnv(18600, (18610,), {'v1': 'app:v1', 'v2': 'app:v2'}, 'zdt-bench-', 3)


@pytest.mark.parametrize('concurrency, processes, shares', [
    (256, 2, [128, 128]), (5, 2, [3, 2]), (1, 4, [1]), (4, 1, [4])])
def test_clients_are_split_evenly(concurrency, processes, shares):
    assert loadgen.split(concurrency, processes) == shares


def test_default_processes_one_per_core_for_big_loads():
    assert loadgen.default_processes(256, cores=2) == 2
    assert loadgen.default_processes(4, cores=2) == 1


def test_samples_round_trip():
    rows = [ok(1.5, 0.01, 'v2'), failed(1.6, 'reset')]
    handle = io.StringIO()
    samples.dump(rows, handle)
    handle.seek(0)
    assert samples.load(handle) == rows
    with pytest.raises(ValueError, match='not a samples file'):
        samples.load(io.StringIO('{"fields": ["x"], "rows": []}'))


def test_merge_orders_by_start():
    assert [sample.start for sample in samples.merge([ok(2.0), ok(3.0)], [ok(1.0)])] == [1.0, 2.0, 3.0]


def test_phase_clock_makes_one_swap_of_its_phases():
    ticks = iter([1.0, 1.5, 1.5, 3.0])
    clock = PhaseClock(clock=lambda: next(ticks))
    with clock.phase('start new'):
        pass
    with clock.phase('stop old'):
        pass
    swap = clock.swap(0, 'v1', 'v2')
    assert (swap.start, swap.end) == (1.0, 3.0)
    assert [phase.name for phase in swap.phases] == ['start new', 'stop old']


def test_swaps_alternate_between_two_versions():
    specs = ENV.swap_specs(3)
    assert [(spec.old_version, spec.new_version, spec.image) for spec in specs] == [
        ('v1', 'v2', 'app:v2'), ('v2', 'v1', 'app:v1'), ('v1', 'v2', 'app:v2')]
    assert ENV.url == 'http://127.0.0.1:18600/'


def test_sysctl_is_restored_even_on_error(tmp_path):
    path = str(tmp_path / 'tcp_migrate_req')
    sysctl.write(1, path)
    with pytest.raises(RuntimeError):
        with sysctl.temporarily(0, path, log=lambda line: None):
            assert sysctl.read(path) == '0'
            raise RuntimeError('swap failed')
    assert sysctl.read(path) == '1'


def test_sysctl_enforce_reports_a_change_by_someone_else(tmp_path):
    path = str(tmp_path / 'tcp_migrate_req')
    sysctl.write(0, path)
    assert sysctl.enforce(0, path) is None
    sysctl.write(1, path)
    assert sysctl.enforce(0, path) == '1' and sysctl.read(path) == '0'


def test_sysctl_changes_by_others_become_one_note_per_run():
    strategy = baselines.ReuseportSignal(migrate_req=False)
    assert strategy.name == 'reuseport-sigquit-migrate-off'
    strategy.overridden = [0, 3]
    assert strategy.take_notes() == ['another process had changed tcp_migrate_req before 2 of the swaps '
                                     '(0, 3); it was set back to 0 right before each SIGQUIT']
    assert strategy.take_notes() == []


def test_plans(tmp_path, monkeypatch):
    monkeypatch.setattr(playbook, 'ROLES_DIR', str(tmp_path))          # no role exists
    monkeypatch.setattr(sysctl, 'available', lambda path=None: True)   # whatever the kernel
    runs, scale, pending = catalog.build_plan(quick=True)
    assert set(plan.strategy.name for plan in runs) == {
        'naive-recreate', 'reuseport-sigquit-migrate-off', 'reuseport-sigquit-migrate-on', 'haproxy-runtime-api',
        'playbook-plumbing-check'}
    assert all(plan.swaps == 2 and plan.loads == (catalog.Load(16, True, 0.2), catalog.Load(16, False, 0.2))
               for plan in runs)
    assert 'blue_green-haproxy' in pending and not scale
    runs, scale, pending = catalog.build_plan()
    assert [plan.loads for plan in runs] == [(catalog.Load(256, True, 0.2), catalog.Load(256, False, 0.2))] * 4
    assert all(plan.swaps == catalog.BASELINE_SWAPS for plan in runs)
    assert not any(name.startswith('scale: rolling_restart') for name in pending)
    assert any(name.startswith('scale: rolling_restart') for name in catalog.build_plan(full=True)[2])
    runs = catalog.build_plan(only={'naive-recreate'})[0]
    assert set(plan.strategy.name for plan in runs) == {'naive-recreate'}
    stress = catalog.build_plan(only={'naive-recreate'}, think=0)[0]
    assert [plan.loads for plan in stress] == [(catalog.Load(256, True, 0), catalog.Load(256, False, 0))]
    assert catalog.group_label(stress[0].loads) == 'c=256 keep-alive, no think time + c=256 close, no think time'


def test_plans_once_a_strategy_of_ours_can_run(tmp_path, monkeypatch):
    (tmp_path / 'roles' / 'blue_green').mkdir(parents=True)
    (tmp_path / 'playbooks').mkdir()
    (tmp_path / 'playbooks' / 'blue_green_nginx.yml').write_text('---\n')
    monkeypatch.setattr(playbook, 'ROLES_DIR', str(tmp_path / 'roles'))
    monkeypatch.setattr(playbook, 'PLAYBOOK_DIR', str(tmp_path / 'playbooks'))
    monkeypatch.setattr(sysctl, 'available', lambda path=None: True)
    quick = catalog.build_plan(quick=True)[0]
    assert 'playbook-plumbing-check' not in set(plan.strategy.name for plan in quick)
    runs, _scale, pending = catalog.build_plan()
    ours = [plan for plan in runs if plan.strategy.kind == 'ours']
    assert [(plan.strategy.name, plan.loads, plan.swaps) for plan in ours] == [
        ('blue_green-nginx', tuple(catalog.TARGET_LOADS), catalog.TARGET_SWAPS)]
    assert 'blue_green-haproxy' in pending
    full = [plan for plan in catalog.build_plan(full=True)[0] if plan.strategy.kind == 'ours']
    assert [plan.loads for plan in full] == [(load,) for load in catalog.LOADS]
    assert all(plan.swaps == catalog.TARGET_SWAPS for plan in full)
    baselines = [plan for plan in catalog.build_plan(full=True)[0] if plan.strategy.kind == 'baseline']
    assert len(baselines) == 4 * len(catalog.LOADS)
    assert all(plan.swaps == 7 for plan in catalog.build_plan(ours_swaps=7)[0] if plan.strategy.kind == 'ours')


def test_plot_writes_a_png(tmp_path):
    from zdtbench import plot
    run = run_record(failed_count=2)
    run['swaps'] = [dict(index=0, phases=[dict(name='start new', start_s=1.0, end_s=1.5)])]
    run['timeline'] = [dict(t=0.0, ok_per_s=10.0, errors={}, p50_ms=1.0, p99_ms=2.0),
                       dict(t=1.0, ok_per_s=5.0, errors=dict(refused=2), p50_ms=None, p99_ms=None)]
    path = plot.plot_strategy('naive', [run, run_record(error='boom')], str(tmp_path / 'naive.png'))
    with open(path, 'rb') as handle:
        assert handle.read(8) == b'\x89PNG\r\n\x1a\n'
    assert plot.plot_strategy('broken', [run_record(error='boom')], str(tmp_path / 'x.png')) is None
