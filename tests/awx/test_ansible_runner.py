# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks run unchanged through ansible-runner, the engine AWX and Tower run
jobs with: extra vars as a job template's survey would send them (strings), the job events and
artifacts AWX shows. Real engine, real containers (make awx builds and installs everything).

The deploy job runs under load - our request engine (the fault suite's BackgroundLoad) and wrk
and ab beside it (tests/fault/harness/judges.py) - with the role's own traffic probe on, and the
probe's verdict is read where AWX shows it: the job event of the task that collects the probe's
result. Only the probe's long-standing result keys are relied on (requests, failed_requests),
beside the verdict AWX shows for every task (runner_on_ok or runner_on_failed)."""

import json
import os
import sys
import time

import ansible_runner
import docker
import pytest
import requests

SERVICE = 'zdt-awx-shop'
PORT = 18495
# The blue_green role's one container_hotswap run.
SWAP_TASK = 'Swap the container in one run - stage, switch every balancer, retire (or put it all back)'
# Nothing listens here: a probe of it sees every request refused.
DEAD_PORT = 18496
COLLECTIONS = os.environ['ANSIBLE_COLLECTIONS_PATH']
URL = 'http://127.0.0.1:%d/' % PORT

sys.path.insert(0, COLLECTIONS.split(os.pathsep)[0])
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fault'))
from harness import judges  # noqa: E402  (tests/fault/harness, stdlib only)
from harness.load import BackgroundLoad, across  # noqa: E402  (needs the collection on sys.path)


@pytest.fixture
def engine():
    client = docker.from_env()
    yield client
    for container in client.containers.list(all=True, filters={'name': SERVICE}):
        container.remove(force=True)


def run_job(tmp_path, version, probe_url=None, label=None):
    """One AWX-like job: inventory, extra vars (survey answers are strings), the playbook by FQCN;
    ``probe_url``: the role's in-deploy traffic probe on, against that URL."""
    private = tmp_path / (label or version)
    (private / 'inventory').mkdir(parents=True)
    (private / 'inventory' / 'hosts').write_text(
        'docker_host ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    survey = {
        'blue_green_service': SERVICE,
        'blue_green_image': 'zerodowntime-test/app:%s' % version,
        'blue_green_strategy': 'reuseport',
        'blue_green_drain_timeout': '30',
        'blue_green_container': {'env': {'APP_PORT': str(PORT), 'APP_REUSEPORT': '1'}},
        'blue_green_readiness': {
            'checks': [{'type': 'http', 'url': 'http://127.0.0.1:%d/' % PORT,
                        'response_headers': {'X-App-Version': version}}],
            'timeout': '30', 'interval': '0.1'},
    }
    if probe_url:
        survey['blue_green_probe'] = {'url': probe_url, 'concurrency': '2'}
    return ansible_runner.run(
        private_data_dir=str(private), playbook='zerodowntime.deploy.blue_green', extravars=survey,
        envvars={'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1'}, quiet=True)


def task_events(job, event):
    return [e['event_data'] for e in job.events if e['event'] == event]


def probe_verdicts(job):
    """The verdicts of the task that collected the role's traffic probe, from the job's events:
    (event, result) of its final event - runner_on_ok or runner_on_failed, which is how AWX
    shows a task's verdict - whose result carries the probe's counts."""
    return [(e['event'], e['event_data']['res']) for e in job.events
            if e['event'] in ('runner_on_ok', 'runner_on_failed')
            and 'failed_requests' in (e['event_data'].get('res') or {})]


def under_load(tmp_path, job):
    """Run ``job()`` with our load and wrk/ab on the service; (job, our summary, judges' verdicts,
    what is wrong with the load's coverage of the job)."""
    with judges.Judges(URL, tmp_path / 'judges', 300) as second, BackgroundLoad(URL) as load:
        load.wait_for_requests()
        started = time.monotonic()
        done = job()
        ended = time.monotonic()
        load.wait_for_requests(since=ended)
    coverage = across(load, **{'job start': started, 'job end': ended})
    return done, load.stop(), second.stop(), coverage


def test_blue_green_playbook_runs_from_ansible_runner_with_survey_answers(tmp_path, engine):
    first = run_job(tmp_path, 'v1')
    assert (first.status, first.rc) == ('successful', 0), first.stdout.read()

    second, ours, theirs, coverage = under_load(tmp_path, lambda: run_job(tmp_path, 'v2', probe_url=URL))
    side_by_side = 'ours %d requests, %d failed; %s' % (
        ours['requests'], ours['failed'], '; '.join(judges.describe(v) for v in theirs))
    print('awx deploy under load: ' + side_by_side)
    assert (second.status, second.rc) == ('successful', 0), second.stdout.read()
    assert not coverage, coverage
    assert ours['failed'] == 0, (side_by_side, ours['first_failures'])
    assert not judges.problems(theirs), side_by_side

    # The probe's verdict, where AWX shows it: one event of the probe-check task, all ok.
    verdicts = probe_verdicts(second)
    assert len(verdicts) == 1, verdicts
    event, result = verdicts[0]
    print('probe verdict in the job events: %s, %d requests, %d failed' % (
        event, result['requests'], result['failed_requests']))
    assert event == 'runner_on_ok', verdicts
    assert result['failed_requests'] == 0, result
    assert result['requests'] > 0, result

    ok_tasks = [e['task'] for e in task_events(second, 'runner_on_ok')]
    assert SWAP_TASK in ok_tasks
    swap = [e['res'] for e in task_events(second, 'runner_on_ok') if e['task'] == SWAP_TASK][0]
    assert swap['changed'] is True
    assert swap['active']['image'] == 'zerodowntime-test/app:v2'
    assert second.stats['changed'] == {'docker_host': 1}
    assert second.stats['failures'] == {}

    # The artifacts AWX keeps for a job: the job events and the stdout.
    artifacts = os.path.join(second.config.artifact_dir)
    events = os.listdir(os.path.join(artifacts, 'job_events'))
    assert any(name.endswith('.json') for name in events)
    with open(os.path.join(artifacts, 'job_events', sorted(events)[0])) as handle:
        assert 'event' in json.load(handle)
    assert 'PLAY RECAP' in open(os.path.join(artifacts, 'stdout')).read()

    # What the job did, seen from outside: exactly one container of the service, serving v2.
    names = sorted(c.name for c in engine.containers.list(all=True, filters={'name': SERVICE}))
    assert names == [SERVICE]
    response = requests.get('http://127.0.0.1:%d/' % PORT, timeout=5)
    assert response.headers['X-App-Version'] == 'v2'


def test_probe_that_saw_failures_fails_the_job_and_says_so_in_its_events(tmp_path, engine):
    """The verdict read above can fail: a probe of a port nobody listens on sees every request
    refused, and the job fails at the probe-check task, with the counts in its event."""
    first = run_job(tmp_path, 'v1')
    assert (first.status, first.rc) == ('successful', 0), first.stdout.read()
    job = run_job(tmp_path, 'v2', probe_url='http://127.0.0.1:%d/' % DEAD_PORT)
    assert (job.status, job.rc) == ('failed', 2), job.stdout.read()
    verdicts = probe_verdicts(job)
    assert len(verdicts) == 1, verdicts
    event, result = verdicts[0]
    assert event == 'runner_on_failed', verdicts
    assert result['failed_requests'] == result['requests'] > 0, result
    assert task_events(job, 'runner_on_failed')[-1]['res'] == result, "the job failed elsewhere first"


def test_failed_job_reports_the_reason_in_its_events(tmp_path, engine):
    job = run_job(tmp_path, 'no-such-version')
    assert (job.status, job.rc) == ('failed', 2)
    failures = task_events(job, 'runner_on_failed')
    assert failures, 'a failed job must carry a runner_on_failed event'
    message = failures[-1]['res']['msg']
    assert 'zerodowntime-test/app:no-such-version' in message
    assert engine.containers.list(all=True, filters={'name': SERVICE}) == []
