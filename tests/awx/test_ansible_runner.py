# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks run unchanged through ansible-runner, the engine AWX and Tower run
jobs with: extra vars as a job template's survey would send them (strings), the job events and
artifacts AWX shows. Real engine, real containers (make awx builds and installs everything)."""

import json
import os
import sys

import ansible_runner
import docker
import pytest
import requests

SERVICE = 'zdt-awx-shop'
PORT = 18495
COLLECTIONS = os.environ['ANSIBLE_COLLECTIONS_PATH']


@pytest.fixture
def engine():
    client = docker.from_env()
    yield client
    for container in client.containers.list(all=True, filters={'name': SERVICE}):
        container.remove(force=True)


def run_job(tmp_path, version):
    """One AWX-like job: inventory, extra vars (survey answers are strings), the playbook by FQCN."""
    private = tmp_path / version
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
    return ansible_runner.run(
        private_data_dir=str(private), playbook='zerodowntime.deploy.blue_green', extravars=survey,
        envvars={'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS, 'ANSIBLE_NOCOLOR': '1'}, quiet=True)


def task_events(job, event):
    return [e['event_data'] for e in job.events if e['event'] == event]


def test_blue_green_playbook_runs_from_ansible_runner_with_survey_answers(tmp_path, engine):
    first = run_job(tmp_path, 'v1')
    assert (first.status, first.rc) == ('successful', 0), first.stdout.read()

    second = run_job(tmp_path, 'v2')
    assert (second.status, second.rc) == ('successful', 0), second.stdout.read()
    ok_tasks = [e['task'] for e in task_events(second, 'runner_on_ok')]
    assert 'Swap the container start-first on the shared port' in ok_tasks
    swap = [e['res'] for e in task_events(second, 'runner_on_ok')
            if e['task'] == 'Swap the container start-first on the shared port'][0]
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


def test_failed_job_reports_the_reason_in_its_events(tmp_path, engine):
    job = run_job(tmp_path, 'no-such-version')
    assert (job.status, job.rc) == ('failed', 2)
    failures = task_events(job, 'runner_on_failed')
    assert failures, 'a failed job must carry a runner_on_failed event'
    message = failures[-1]['res']['msg']
    assert 'zerodowntime-test/app:no-such-version' in message
    assert engine.containers.list(all=True, filters={'name': SERVICE}) == []
