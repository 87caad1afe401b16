# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _probe
from ansible_collections.zerodowntime.deploy.plugins.modules import traffic_probe
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.modules.module_runner import run_module

URL = 'http://127.0.0.1:18180/'


def run(capsys, args, invocation=False):
    return run_module(capsys, traffic_probe.main, args, invocation)


def stats(**given):
    out = dict(requests=40, ok=40, failed_requests=0,
               errors=dict(status=0, refused=0, reset=0, timeout=0, closed=0, other=0),
               statuses={'200': 40}, latency_ms=dict(min=0.3, p50=1.0, p95=2.0, p99=2.5, max=3.0),
               versions=dict(v1=dict(count=40, first=0.01, last=1.99)), first_failures=[],
               elapsed=2.0, throughput=20.0, stopped_by='duration', first_version='v1',
               last_version='v1',
               sensitivity=dict(certainty=0.99, likely_ms=4.0, certain_ms=9.0, max_gap_at=1.0,
                                fresh_likely_ms=8.0, fresh_certain_ms=18.0))
    out.update(given)
    return out


class FakeRunProbe:
    def __init__(self):
        self.calls = []
        self.out = stats()
        self.warnings = []

    def __call__(self, targets, params):
        self.calls.append((targets, dict(params)))
        return dict(self.out), list(self.warnings)


@pytest.fixture
def probe(monkeypatch):
    fake = FakeRunProbe()
    monkeypatch.setattr(_probe, 'run_probe', fake)
    return fake


def test_all_ok_returns_the_statistics_and_changed_false(capsys, probe):
    out = run(capsys, dict(urls=[URL], duration=2))
    assert out['changed'] is False and 'failed' not in out
    for key, value in stats().items():
        assert out[key] == value, key
    assert out['msg'].startswith('Traffic probe of http://127.0.0.1:18180/: 40 requests in 2.0s')
    targets, params = probe.calls[0]
    assert [t.label for t in targets] == [URL]
    assert (params['concurrency'], params['keepalive'], params['method'], params['status_codes'],
            params['request_timeout'], params['validate_certs'], params['version_header'],
            params['max_failed'], params['pause'], params['max_requests'], params['stop_file']) == (
        8, True, 'GET', [200], 5.0, True, 'X-App-Version', 0, 0.0, None, None)
    assert (params['fresh_clients'], params['rate'], params['latency_limit'], params['max_gap']) == (
        None, 200.0, 1.0, None)
    assert out['problems'] == []


@pytest.mark.parametrize('option', ['urls', 'url'])
def test_a_single_url_string_is_a_list_of_one(capsys, probe, option):
    run(capsys, {option: URL + '?q=a', 'duration': 1})
    assert [t.label for t in probe.calls[0][0]] == [URL + '?q=a']


def test_check_mode_sends_the_same_read_only_requests(capsys, probe):
    out = run(capsys, dict(urls=[URL], duration=2, _ansible_check_mode=True))
    assert out['changed'] is False and 'failed' not in out and len(probe.calls) == 1


def test_more_failures_than_max_failed_fail_the_task_with_the_statistics(capsys, probe):
    probe.out = stats(ok=37, failed_requests=3,
                      errors=dict(status=0, refused=3, reset=0, timeout=0, closed=0, other=0),
                      first_failures=[dict(time=1.25, url=URL, outcome='refused', status=None,
                                           error='ConnectionRefusedError: [Errno 111] Connection refused')])
    out = run(capsys, dict(urls=[URL], duration=2, max_failed=2))
    assert out['failed'] is True and out['changed'] is False
    assert out['msg'].startswith(
        'Traffic probe of http://127.0.0.1:18180/: 3 of 40 requests failed, more than max_failed (2): '
        'refused 3. First failures: at 1.250s refused: ConnectionRefusedError: [Errno 111] '
        'Connection refused. Probed: 40 requests in 2.0s')
    assert out['msg'].endswith('Nothing was changed.')
    assert out['failed_requests'] == 3 and out['errors']['refused'] == 3
    assert out['first_failures'][0]['outcome'] == 'refused'


def test_failures_up_to_max_failed_pass(capsys, probe):
    probe.out = stats(ok=38, failed_requests=2,
                      errors=dict(status=0, refused=0, reset=0, timeout=0, closed=2, other=0))
    out = run(capsys, dict(urls=[URL], duration=2, max_failed=2))
    assert 'failed' not in out and out['failed_requests'] == 2
    assert '2 failed (closed 2; max_failed 2)' in out['msg']


def test_no_request_fails(capsys, probe):
    probe.out = stats(requests=0, ok=0, statuses={}, versions={}, elapsed=0.05, throughput=0.0,
                      latency_ms=dict(min=None, p50=None, p95=None, p99=None, max=None))
    out = run(capsys, dict(urls=[URL], duration=0.05, max_failed=10))
    assert out['failed'] is True and 'no request was sent' in out['msg']


def test_warnings_are_passed_on(capsys, probe):
    probe.warnings = ['Cannot remove the stop file /x: denied. Remove it before the next probe.']
    probe.out = stats(stopped_by='stop_file')
    out = run(capsys, dict(urls=[URL], duration=2, stop_file='/x'))
    assert probe.warnings[0] in json.dumps(out['warnings']) and 'failed' not in out


def test_a_stale_stop_file_fails_before_any_request(capsys, tmp_path):
    stop = tmp_path / 'deploy.stop'
    stop.write_text('')
    out = run(capsys, dict(urls=['http://127.0.0.1:18199/'], duration=0.5, stop_file=str(stop)))
    assert out['failed'] is True and out['changed'] is False
    assert out['msg'] == (
        'Invalid input: stop_file %s already exists before the probe started: it would end the '
        'probe at once and prove nothing. Remove it first (ansible.builtin.file state=absent); it '
        'is left as it was. Nothing was requested or changed.' % stop)
    assert stop.exists() and 'requests' not in out


@pytest.mark.parametrize('args, message', [
    (dict(urls=[URL], duration=0), 'Invalid input: duration must be greater than 0, got 0.0. '
                                   'Nothing was requested or changed.'),
    (dict(urls=[URL], duration=-5), 'Invalid input: duration must be greater than 0, got -5.0.'),
    (dict(urls=['127.0.0.1:18180/'], duration=2),
     "Invalid input: urls[0]: '127.0.0.1:18180/' is not an http:// or https:// URL."),
    (dict(urls=['http://127.0.0.1:18180/a b'], duration=2),
     "Invalid input: urls[0]: 'http://127.0.0.1:18180/a b' contains whitespace."),
    (dict(urls=[URL], duration=2, concurrency=0), 'Invalid input: concurrency must be at least 1, got 0.'),
    (dict(urls=[URL], duration=2, max_requests=0), 'Invalid input: max_requests must be at least 1, got 0.'),
])
def test_bad_input_fails_before_any_request(capsys, probe, args, message):
    out = run(capsys, args)
    assert out['failed'] is True and out['changed'] is False
    assert out['msg'].startswith(message)
    assert not probe.calls


@pytest.mark.parametrize('args, message', [
    (dict(duration=2), 'missing required arguments: urls'),
    (dict(urls=[URL]), 'missing required arguments: duration'),
    (dict(urls=[URL], duration=2, method='POST'), 'value of method must be one of: GET, HEAD, got: POST'),
    (dict(urls=[URL], duration=2, method='DELETE'), 'value of method must be one of: GET, HEAD, got: DELETE'),
    (dict(urls=[URL], duration='soon'), "argument 'duration' is of type"),
    (dict(urls=[URL], duration=2, colour='red'), 'Unsupported parameters'),
])
def test_argspec_rules(capsys, probe, args, message):
    out = run(capsys, args)
    assert out['failed'] is True and message in out['msg']
    assert not probe.calls


def test_request_headers_are_no_log(capsys, probe):
    """An Authorization or Cookie header must not come back in the invocation or the result."""
    out = run(capsys, dict(urls=[URL], duration=2, headers={'Authorization': 'Bearer tok-hunter2hunter2'}), invocation=True)
    assert 'hunter2hunter2' not in json.dumps(out)
    assert out['invocation']['module_args']['headers'] == {'Authorization': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    targets, params = probe.calls[0]
    assert params['headers'] == {'Authorization': 'Bearer tok-hunter2hunter2'}
