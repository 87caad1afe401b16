# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness, _wait_ready
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import DockerConnectionError
from ansible_collections.zerodowntime.deploy.plugins.modules import wait_ready
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.modules.module_runner import run_module


def run(capsys, args, invocation=False):
    return run_module(capsys, wait_ready.main, args, invocation)


class Recorder:
    def __init__(self, result=None, error=None):
        self.calls = []
        self.result = result
        self.error = error

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.error:
            raise self.error
        return self.result


READY = _readiness.ReadinessResult(
    True, 1.5, 4, [dict(index=0, type='tcp', name='tcp x', ok=True, msg='connected')],
    'Ready after 1.5s (4 attempts).')
NOT_READY = _readiness.ReadinessResult(
    False, 10.0, 11, [dict(index=0, type='tcp', name='tcp x', ok=False, msg='refused')],
    'Not ready after 10.0s (timeout 10s, 11 attempts): checks[0] ...')


@pytest.fixture
def fakes(monkeypatch):
    wait = Recorder(READY)
    client = Recorder(object())
    warmup = Recorder(dict(failed=False, msg='Warmup: 10 requests to 1 URL, all ok, p95 1 ms'))
    monkeypatch.setattr(_wait_ready, 'wait_until_ready', wait)
    monkeypatch.setattr(_wait_ready, 'docker_client', client)
    monkeypatch.setattr(_wait_ready, 'run_warmup', warmup)
    return dict(wait=wait, client=client, warmup=warmup)


TCP = [dict(type='tcp', port=18100)]


def test_ready_returns_changed_false_with_the_results(capsys, fakes):
    out = run(capsys, dict(checks=TCP, timeout=30, interval=0.1, success_threshold=2, initial_delay=1))
    assert out['changed'] is False and 'failed' not in out
    assert (out['elapsed'], out['attempts'], out['msg']) == (1.5, 4, READY.msg)
    assert out['checks'] == READY.checks
    (checks, timeout, interval, threshold, delay), kwargs = fakes['wait'].calls[0]
    assert (timeout, interval, threshold, delay, kwargs['docker']) == (30.0, 0.1, 2, 1.0, None)
    assert checks[0]['type'] == 'tcp' and checks[0]['host'] == '127.0.0.1'
    assert not fakes['client'].calls, 'no container check: no engine connection'
    assert 'warmup' not in out


def test_check_mode_runs_the_same_read_only_wait(capsys, fakes):
    out = run(capsys, dict(checks=TCP, _ansible_check_mode=True))
    assert out['changed'] is False and 'failed' not in out and len(fakes['wait'].calls) == 1


def test_not_ready_fails_with_the_wait_message(capsys, fakes):
    fakes['wait'].result = NOT_READY
    out = run(capsys, dict(checks=TCP, timeout=10))
    assert out['failed'] is True and out['changed'] is False
    assert out['msg'] == NOT_READY.msg + ' Nothing was changed.'
    assert out['attempts'] == 11 and out['checks'][0]['ok'] is False


def test_container_checks_connect_to_the_engine(capsys, fakes):
    run(capsys, dict(checks=[dict(type='container', container='web')], docker_host='unix:///tmp/d.sock'))
    params = fakes['client'].calls[0][0][0]
    assert params['docker_host'] == 'unix:///tmp/d.sock'
    assert fakes['wait'].calls[0][1]['docker'] is fakes['client'].result


def test_unreachable_engine_names_the_option(capsys, fakes):
    fakes['client'].error = DockerConnectionError(
        'Cannot reach the Docker engine at unix:///nope.sock: Error while fetching server API version')
    out = run(capsys, dict(checks=[dict(type='container', container='web')], docker_host='unix:///nope.sock'))
    assert out['failed'] is True
    assert out['msg'] == ('Cannot reach the Docker engine at unix:///nope.sock: Error while fetching server '
                          'API version (option docker_host); the container checks need it. Nothing was '
                          'checked or changed.')
    assert not fakes['wait'].calls


@pytest.mark.parametrize('args, message', [
    (dict(checks=TCP, timeout=0), 'Invalid input: timeout must be greater than 0, got 0.0. Nothing was checked or changed.'),
    (dict(checks=TCP, timeout=-3), 'Invalid input: timeout must be greater than 0, got -3.0.'),
    (dict(checks=TCP, interval=0), 'Invalid input: interval must be greater than 0'),
    (dict(checks=[dict(type='http', url='localhost:8080/health')]),
     "Invalid input: checks[0].url: 'localhost:8080/health' is not an http:// or https:// URL."),
    (dict(checks=[dict(type='tcp', port=80, path='/x')]),
     'Invalid input: checks[0].path: does not apply to a tcp check (it is an option of unix and file checks).'),
    (dict(checks=TCP, warmup=dict(url_file='/nonexistent/urls.txt')),
     'Invalid input: warmup.url_file: cannot read /nonexistent/urls.txt: [Errno 2] No such file or directory'),
    (dict(checks=[dict(type='container', container='c')], timeout=0), 'Invalid input: timeout must be'),
])
def test_bad_input_fails_before_any_wait_or_connection(capsys, fakes, args, message):
    out = run(capsys, args)
    assert out['failed'] is True and out['changed'] is False
    assert out['msg'].startswith(message)
    assert not fakes['wait'].calls and not fakes['client'].calls and not fakes['warmup'].calls


@pytest.mark.parametrize('args, message', [
    (dict(), 'one of the following is required: checks, warmup'),
    (dict(checks=[dict(type='tcp', port=80, colour='red')]), 'checks.colour'),
    (dict(checks=[dict(type='tcp')]), 'type is tcp but all of the following are missing: port'),
    (dict(checks=[dict(type='http')]), 'type is http but all of the following are missing: url'),
    (dict(checks=[dict(type='smtp')]), 'value of type must be one of: http, tcp, unix, file, container'),
    (dict(checks=[dict(type='http', url='http://h/', client_key='/k')]), 'client_key'),
    (dict(warmup=dict(concurrency=2)), 'one of the following is required: urls, url_file'),
])
def test_argspec_rules(capsys, fakes, args, message):
    out = run(capsys, args)
    assert out['failed'] is True and message in out['msg']
    assert not fakes['wait'].calls


def test_password_is_no_log(capsys, fakes):
    out = run(capsys, dict(checks=[dict(type='http', url='http://127.0.0.1:18100/', url_username='u',
                                        url_password='hunter2hunter2')]))
    assert 'hunter2hunter2' not in json.dumps(out)
    assert fakes['wait'].calls[0][0][0][0]['url_password'] == 'hunter2hunter2'


def test_request_headers_are_no_log(capsys, fakes):
    """checks[].headers and warmup.headers may carry Authorization or Cookie: masked in the
    invocation and the result, sent as given."""
    secret = 'Bearer tok-hunter2hunter2'
    out = run(capsys, dict(checks=[dict(type='http', url='http://127.0.0.1:18100/', headers={'Authorization': secret})],
                           warmup=dict(urls=['http://127.0.0.1:18100/'], headers={'Cookie': 'sid=hunter3hunter3'})), invocation=True)
    assert 'hunter2hunter2' not in json.dumps(out) and 'hunter3hunter3' not in json.dumps(out)
    assert out['invocation']['module_args']['checks'][0]['headers'] == {'Authorization': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    assert fakes['wait'].calls[0][0][0][0]['headers'] == {'Authorization': secret}
    assert fakes['warmup'].calls[0][0][0]['headers'] == {'Cookie': 'sid=hunter3hunter3'}


def test_warmup_after_ready(capsys, fakes):
    out = run(capsys, dict(checks=TCP, warmup=dict(urls=['http://127.0.0.1:18100/'])))
    assert out['warmup'] == fakes['warmup'].result
    assert out['msg'] == READY.msg + ' ' + fakes['warmup'].result['msg']
    warmup = fakes['warmup'].calls[0][0][0]
    assert (warmup['requests_per_url'], warmup['concurrency'], warmup['fail_on_error']) == (10, 4, True)


def test_no_warmup_when_not_ready(capsys, fakes):
    fakes['wait'].result = NOT_READY
    out = run(capsys, dict(checks=TCP, warmup=dict(urls=['http://127.0.0.1:18100/'])))
    assert out['failed'] is True and not fakes['warmup'].calls and 'warmup' not in out


def test_failed_warmup_fails_unless_told_otherwise(capsys, fakes):
    fakes['warmup'].result = dict(failed=True, msg='Warmup: 3 of 10 requests failed: ...')
    out = run(capsys, dict(checks=TCP, warmup=dict(urls=['http://127.0.0.1:18100/'])))
    assert out['failed'] is True
    assert out['msg'] == (READY.msg + ' Warmup: 3 of 10 requests failed: ... (warmup.fail_on_error is true). '
                          'Nothing was changed.')
    assert out['warmup']['failed'] is True
    out = run(capsys, dict(checks=TCP, warmup=dict(urls=['http://127.0.0.1:18100/'], fail_on_error=False)))
    assert 'failed' not in out and out['warmup']['failed'] is True


def test_warmup_only(capsys, fakes):
    out = run(capsys, dict(warmup=dict(urls=['/'], unix_socket='/var/run/app.sock')))
    assert 'failed' not in out and fakes['wait'].calls[0][0][0] is None
