# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: steps from the playbook's marker events, the report's numbers, text and exit code,
the PNG, and the driver's handshake with the playbook (fake runner and load, no engine)."""

import importlib.util
import os
import threading
import time

import pytest

from bench_helpers import failed, ok, steady
from zdtbench import demo, demo_plot, playbook

BASE = playbook.parse_event_time('2026-11-22T00:00:00+00:00')
SITES = (demo.Site('blue/green', 'http://127.0.0.1:18500/', 4, True),
         demo.Site('3 backends', 'http://127.0.0.1:18501/', 4, False))


def event(task, start, end, facts=None, kind='runner_on_ok', action='ansible.builtin.command'):
    stamp = '2026-11-22T00:%02d:%06.3f+00:00'
    data = dict(task=task, task_action=action, start=stamp % divmod(start, 60), end=stamp % divmod(end, 60),
                res=dict(ansible_facts=facts) if facts else {})
    return dict(event=kind, event_data=data)


def step_events(kind, label, old, new, at, length=5.0):
    step = dict(kind=kind, label=label, old=old, new=new)
    return [
        event('Step starts - %s' % label, at, at + 0.1, {demo.START_MARK: step}, action='ansible.builtin.set_fact'),
        event('Step - %s' % label, at + 0.1, at + 0.11, action='ansible.builtin.include_tasks'),
        event('Stage the candidate', at + 0.2, at + 1.0),
        event('Cut over', at + 1.0, at + length - 0.5),
        event('Step ends - %s' % label, at + length, at + length + 0.05, {demo.END_MARK: step}),
        event('Steady load after the step', at + length + 0.05, at + length + 2.0),
    ]


def demo_events():
    return (step_events('blue_green', 'blue/green v1 -> v2', 'v1', 'v2', 10.0)
            + step_events('blue_green', 'blue/green v2 -> v3', 'v2', 'v3', 20.0)
            + step_events('rolling_restart', 'rolling restart zdt-demo-b0', 'v1', 'v2', 30.0, 8.0))


def epoch(seconds):
    return seconds + BASE


def test_steps_are_the_tasks_between_the_markers():
    steps, unfinished = demo.steps_from_events(demo_events(), lambda moment: moment - BASE)
    assert unfinished is None
    assert [(step.index, step.kind, step.label, step.old_version, step.new_version) for step in steps] == [
        (1, 'blue_green', 'blue/green v1 -> v2', 'v1', 'v2'),
        (2, 'blue_green', 'blue/green v2 -> v3', 'v2', 'v3'),
        (3, 'rolling_restart', 'rolling restart zdt-demo-b0', 'v1', 'v2')]
    first = steps[0]
    # From the end of the start marker to the start of the end marker.
    assert first.start == pytest.approx(10.1) and first.end == pytest.approx(15.0)
    # One phase per step, named by its kind: the timeline shades kinds, not the roles' tasks.
    assert [phase.name for phase in first.phases] == ['blue/green swap']
    assert steps[2].phases[0].name == 'rolling restart (one backend)'
    # The include is not a task; the steady pause after the end marker is not the step's.
    assert [name for name, _seconds in first.tasks] == ['Stage the candidate', 'Cut over']


def test_a_step_without_its_end_marker_is_reported_as_unfinished():
    events = demo_events()[:-3]        # the playbook failed inside the rolling restart
    steps, unfinished = demo.steps_from_events(events, lambda moment: moment - BASE)
    assert len(steps) == 2
    assert unfinished == 'rolling restart zdt-demo-b0'


def samples_by_site():
    """Steady 10 ms before the steps, 50 ms during them; two failures inside step 2."""
    web = steady(0.0, 10.0, 0.01, latency=0.01) + steady(10.1, 15.0, 0.01, latency=0.05)
    web += steady(15.0, 20.1, 0.01, latency=0.01) + steady(20.1, 25.0, 0.01, latency=0.05)
    web += [failed(21.0, 'reset'), failed(22.0, 'status')]
    web.sort(key=lambda sample: sample.start)
    pool = steady(0.0, 40.0, 0.1, latency=0.002)
    return {'blue/green': web, '3 backends': pool}


def analyzed():
    steps, _unfinished = demo.steps_from_events(demo_events(), lambda moment: moment - BASE)
    return demo.analyze(samples_by_site(), steps, 0.0, 40.0, warmup=1.0)


def test_counts_by_site_and_by_class():
    report = analyzed()
    assert report['failed'] == 2
    assert report['errors']['reset'] == 1 and report['errors']['status'] == 1 and report['errors']['refused'] == 0
    assert report['sites']['blue/green']['failed'] == 2
    assert report['sites']['3 backends'] == dict(requests=400, ok=400, failed=0, errors=report['sites']['3 backends']['errors'])
    assert report['requests'] == report['sites']['blue/green']['requests'] + 400


def test_latency_before_the_steps_and_during_them():
    report = analyzed()
    # Before: 1 s (warm-up) to 10.1 s, where the blue/green site answers in 10 ms.
    assert report['before']['p99_ms'] == pytest.approx(10.0)
    # During: inside the steps, where it answers in 50 ms (the pool's 2 ms requests are fewer).
    assert report['during']['p99_ms'] == pytest.approx(50.0)
    assert report['before']['failed'] == 0 and report['during']['failed'] == 2


def test_each_step_has_its_time_failures_latency_and_slowest_tasks():
    report = analyzed()
    first, second, third = report['swaps']
    assert first['wall_s'] == pytest.approx(4.9) and first['failed'] == 0
    assert second['failed'] == 2 and second['kind'] == 'blue_green'
    assert second['latency']['p99_ms'] == pytest.approx(50.0)
    assert first['slowest_tasks'][0][0] == 'Cut over'
    assert third['wall_s'] == pytest.approx(7.9)
    assert report['kinds']['blue_green'] == dict(count=2, total_s=pytest.approx(9.8), max_s=pytest.approx(4.9))
    assert report['kinds']['rolling_restart']['count'] == 1


def test_text_and_exit_code_when_requests_failed():
    report = dict(analyzed(), error=None, wall_s=75.0)
    text = '\n'.join(demo.render(report, SITES, '/x/timeline.png', '/x/report.json'))
    assert 'FAILED: 2 requests failed (status 1, refused 0, reset 1, timeout 0, closed 0, other 0)' in text
    assert 'before the steps' in text and 'during the steps' in text
    assert 'blue/green v2 -> v3' in text and 'rolling restart zdt-demo-b0 (v1 -> v2)' in text
    assert 'timeline: /x/timeline.png' in text and 'demo wall time 75.0 s' in text
    assert demo.verdict(report) == 1


def test_exit_code_zero_only_for_a_clean_run():
    clean = dict(requests=10, ok=10, failed=0, errors={}, error=None)
    assert demo.verdict(clean) == 0
    assert 'PASSED: 10 requests, 0 failed' in demo.render(dict(clean, sites={}), SITES)
    assert demo.verdict(dict(clean, error='playbook failed: x')) == 1
    assert demo.verdict(dict(clean, requests=0, ok=0)) == 1      # the load never ran: nothing proven


def test_the_png_is_written(tmp_path):
    report = analyzed()
    path = demo_plot.plot_demo(report, 'demo', str(tmp_path / 'timeline.png'))
    with open(path, 'rb') as handle:
        assert handle.read(8) == b'\x89PNG\r\n\x1a\n'
    assert demo_plot.plot_demo(dict(report, timeline=[]), 'demo', str(tmp_path / 'none.png')) is None


# ---- the driver (bench/demo.py) with a fake playbook run and a fake load

def driver():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench', 'demo.py')
    spec = importlib.util.spec_from_file_location('demo_driver', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeLoad(object):
    """A load generator that records when it ran and returns one ok sample."""
    log = []

    def __init__(self, url, concurrency, keepalive, processes=None, max_seconds=None):
        self.url = url
        self.started_at = None

    def start(self):
        self.started_at = time.monotonic()
        FakeLoad.log.append(('start', self.url))
        return self

    def stop(self):
        FakeLoad.log.append(('stop', self.url))
        return [ok(self.started_at + 0.5)]

    def kill(self):
        FakeLoad.log.append(('kill', self.url))


class FakeRunner(object):
    def __init__(self, status):
        self.status = status
        self.events = []


def fake_run_async(playbook_steps, status='successful'):
    """run_async whose 'playbook' is a thread doing the file handshake of demo/tasks/load.yml."""
    def run_async(**kwargs):
        handshake = kwargs['extravars']['demo_load_dir']
        runner = FakeRunner(status)

        def play():
            for signal, wait in playbook_steps:
                open(os.path.join(handshake, signal), 'a').close()
                deadline = time.monotonic() + 5
                while wait and not os.path.exists(os.path.join(handshake, wait)):
                    assert time.monotonic() < deadline, 'driver never answered %s' % signal
                    time.sleep(0.01)
                FakeLoad.log.append(('playbook saw', wait))
        thread = threading.Thread(target=play)
        thread.start()
        return thread, runner
    return run_async


@pytest.fixture
def fakes(monkeypatch):
    module = driver()
    FakeLoad.log = []
    monkeypatch.setattr(module, 'LoadGenerator', FakeLoad)
    monkeypatch.setattr(module, '_runner_env', dict)
    return module


def test_the_load_runs_between_stack_up_and_steps_done(fakes, monkeypatch, tmp_path):
    import ansible_runner
    monkeypatch.setattr(ansible_runner, 'run_async', fake_run_async(
        [('stack-up', 'load-running'), ('steps-done', 'load-stopped')]))
    _events, status, samples, begin, end = fakes.run_under_load(str(tmp_path), False, log=lambda text: None)
    assert status == 'successful' and begin is not None and end >= begin
    assert sorted(samples) == ['3 backends', 'blue/green']
    # Both sites' load started before the playbook went on, and stopped before it tore down.
    assert [entry[0] for entry in FakeLoad.log] == ['start', 'start', 'playbook saw', 'stop', 'stop', 'playbook saw']


def test_a_playbook_that_fails_before_the_stack_is_up_reports_no_load(fakes, monkeypatch, tmp_path):
    import ansible_runner
    monkeypatch.setattr(ansible_runner, 'run_async', fake_run_async([], status='failed'))
    events, status, samples, begin, end = fakes.run_under_load(str(tmp_path), False, log=lambda text: None)
    assert begin is None and samples == {} and FakeLoad.log == []
    report = fakes.build_report(events, status, samples, begin, end, offset=0.0)
    assert report['error'].startswith('playbook failed: no failed task reported (see its [ERROR] lines above)')
    assert demo.verdict(report) == 1


def test_a_playbook_that_fails_mid_step_stops_the_load_and_names_the_step(fakes, monkeypatch, tmp_path):
    import ansible_runner
    monkeypatch.setattr(ansible_runner, 'run_async', fake_run_async([('stack-up', 'load-running')], status='failed'))
    events, status, samples, begin, end = fakes.run_under_load(str(tmp_path), False, log=lambda text: None)
    assert [entry[0] for entry in FakeLoad.log][-2:] == ['stop', 'stop']     # stopped once the playbook ended
    events = demo_events()[:-3] + [event('Cut over', 31.0, 32.0, kind='runner_on_failed')]
    events[-1]['event_data']['res'] = dict(msg='balancer said no')
    report = fakes.build_report(events, status, samples, begin, end, offset=0.0)
    assert report['error'] == 'playbook failed: Cut over: balancer said no (during step "rolling restart zdt-demo-b0")'
    assert report['requests'] == 2
