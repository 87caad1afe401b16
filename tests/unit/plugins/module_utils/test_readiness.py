# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness as r
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic as t


# ------------------------------------------------------------------ fakes

class Clock:
    """A fake monotonic clock; sleep() advances it and runs the scripted events due by then."""

    def __init__(self):
        self.now = 1000.0
        self.start = self.now
        self.sleeps = []
        self.events = []  # (at elapsed seconds, callable)

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        self.fire()

    def at(self, elapsed, action):
        self.events.append((elapsed, action))

    def fire(self):
        due = [e for e in self.events if e[0] <= self.now - self.start + 1e-9]
        for event in due:
            self.events.remove(event)
            event[1]()


class NotFound(Exception):
    status_code = 404


class FakeAPI:
    """docker.DockerClient().api: inspect_container answers from a script (last one repeats)."""

    def __init__(self, states, logs=b'line one\nline two\n'):
        self.states = list(states)
        self.logs_data = logs
        self.inspected = 0

    def inspect_container(self, name):
        self.inspected += 1
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if isinstance(state, Exception):
            raise state
        return dict(Id='0123456789abcdef' * 4, Name='/' + name, State=state)

    def logs(self, container, stdout, stderr, tail):
        assert (stdout, stderr, tail) == (True, True, r.LOG_LINES)
        if isinstance(self.logs_data, Exception):
            raise self.logs_data
        return self.logs_data


class FakeDocker:
    def __init__(self, states, **kwargs):
        self.api = FakeAPI(states, **kwargs)


def running(health=None, log=None):
    state = dict(Status='running', Running=True, ExitCode=0, StartedAt='2024-01-01T00:00:00Z')
    if health:
        state['Health'] = dict(Status=health, FailingStreak=0,
                               Log=log if log is not None else [dict(ExitCode=1, Output='health: 503\n')])
    return state


def exited(code=1, **extra):
    state = dict(Status='exited', Running=False, ExitCode=code)
    state.update(extra)
    return state


def wait(checks, clock, timeout=10, interval=1, threshold=1, delay=0, docker=None):
    return r.wait_until_ready(checks, timeout, interval, threshold, delay, docker=docker,
                              clock=clock, sleep=clock.sleep)


# ------------------------------------------------------------------ the loop

def test_ready_at_once(tmp_path):
    (tmp_path / 'f').write_text('x')
    clock = Clock()
    res = wait([dict(type='file', path=str(tmp_path / 'f'))], clock)
    assert (res.ok, res.attempts, res.elapsed, clock.sleeps) == (True, 1, 0.0, [])
    assert res.msg == 'Ready after 0.0s (1 attempt): 1 check passed 1 time in a row.'
    assert res.checks == [dict(index=0, type='file', name='file %s' % (tmp_path / 'f'), ok=True,
                               msg='%s exists' % (tmp_path / 'f'), exists=True, pid=None)]
    json.dumps(res.as_dict())


def test_slow_start_passes_after_the_delay(tmp_path):
    path = tmp_path / 'ready'
    clock = Clock()
    clock.at(1.4, lambda: path.write_text('x'))
    res = wait([dict(type='file', path=str(path))], clock, timeout=10, interval=0.5)
    assert res.ok and res.attempts == 4 and res.elapsed == 1.5
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_timeout_names_the_failing_check_and_what_it_saw(tmp_path):
    present, missing = tmp_path / 'present', tmp_path / 'missing'
    present.write_text('x')
    clock = Clock()
    res = wait([dict(type='file', path=str(present)), dict(type='file', path=str(missing), name='flag')],
               clock, timeout=2, interval=0.5)
    assert not res.ok and not res.failed_fast
    assert res.attempts == 5 and res.elapsed == 2.0
    assert sum(clock.sleeps) == 2.0, 'never sleeps past the deadline'
    assert res.msg == ('Not ready after 2.0s (timeout 2s, 5 attempts): 1 of 2 checks not passing: '
                       'checks[1] flag: %s does not exist.' % missing)
    assert [c['ok'] for c in res.checks] == [True, False]


def test_last_attempt_is_at_the_deadline_when_interval_does_not_divide_it(tmp_path):
    clock = Clock()
    res = wait([dict(type='file', path=str(tmp_path / 'no'))], clock, timeout=1, interval=0.4)
    assert clock.sleeps == [0.4, 0.4, 0.2] and res.attempts == 4 and res.elapsed == 1.0


def test_success_threshold_needs_consecutive_passes(tmp_path):
    path = tmp_path / 'flap'
    clock = Clock()
    clock.at(1, lambda: path.write_text('x'))
    clock.at(2, path.unlink)  # one pass, then a failure resets the streak
    clock.at(3, lambda: path.write_text('x'))
    res = wait([dict(type='file', path=str(path))], clock, timeout=30, interval=1, threshold=3)
    assert res.ok and res.elapsed == 5.0 and res.attempts == 6
    assert 'passed 3 times in a row' in res.msg


def test_success_threshold_not_reached_before_the_deadline(tmp_path):
    path = tmp_path / 'late'
    clock = Clock()
    clock.at(3, lambda: path.write_text('x'))
    res = wait([dict(type='file', path=str(path))], clock, timeout=4, interval=1, threshold=3)
    assert not res.ok
    assert res.msg.endswith('every check passed on the last attempt, but only 2 of the 3 consecutive '
                            'passes required (success_threshold)')


def test_initial_delay_comes_first_and_counts_toward_the_timeout(tmp_path):
    clock = Clock()
    res = wait([dict(type='file', path=str(tmp_path / 'no'))], clock, timeout=3, interval=1, delay=2.5)
    assert clock.sleeps == [2.5, 0.5] and res.attempts == 2 and res.elapsed == 3.0


def test_slow_attempts_do_not_make_the_wait_sleep_more(tmp_path, monkeypatch):
    clock = Clock()

    def slow_probe(self, budget, docker):
        clock.now += 0.7
        return self.result(False, 'slow')

    monkeypatch.setattr(r._FileCheck, 'probe', slow_probe)
    res = wait([dict(type='file', path='/x')], clock, timeout=2, interval=0.5)
    assert clock.sleeps == [0.0, 0.0] and res.attempts == 3


def test_no_checks_is_ready_at_once():
    clock = Clock()
    res = wait([], clock, delay=5)
    assert res.ok and res.attempts == 0 and res.msg == 'No readiness check to wait for.'
    assert clock.sleeps == []


# ------------------------------------------------------------------ container checks

def test_container_exit_fails_fast_with_state_and_logs():
    clock = Clock()
    docker = FakeDocker([running('starting'), running('starting'), exited(1, OOMKilled=True)])
    res = wait([dict(type='container', container='web')], clock, timeout=60, docker=docker)
    assert not res.ok and res.failed_fast and res.attempts == 3 and res.elapsed == 2.0
    assert res.msg == ("Not ready, and waiting longer cannot help (stopped after 2.0s, attempt 3, "
                       "without waiting out the 60s timeout): checks[0] container web: container "
                       "web is exited (exit code 1, OOM killed). Last log lines of web: line one | "
                       "line two.")
    check = res.checks[0]
    seen = (check['state'], check['exit_code'], check['fatal'], check['id'])
    assert seen == ('exited', 1, True, '0123456789ab')
    assert check['logs'] == ['line one', 'line two']


@pytest.mark.parametrize('state, text', [
    (dict(Status='dead', ExitCode=137), 'is dead (exit code 137)'),
    (dict(Status='restarting', ExitCode=2, Error='boom'), 'is restarting (exit code 2, error: boom)'),
    (dict(Status='removing', ExitCode=0), 'is removing'),
])
def test_other_terminal_states_fail_fast(state, text):
    res = wait([dict(type='container', container='c')], Clock(), docker=FakeDocker([state]))
    assert res.failed_fast and text in res.msg


def test_unhealthy_before_the_first_healthy_keeps_waiting():
    # No start period in the image: Docker says "unhealthy" during a slow start.
    clock = Clock()
    docker = FakeDocker([running('starting'), running('unhealthy'), running('unhealthy'),
                         running('healthy', [dict(ExitCode=0, Output='health: 200')])])
    res = wait([dict(type='container', container='slow')], clock, timeout=60, docker=docker)
    assert res.ok and res.attempts == 4


def test_unhealthy_never_healthy_times_out_with_the_last_health_check():
    clock = Clock()
    docker = FakeDocker([running('unhealthy', [dict(ExitCode=1, Output='health: HTTP/1.1 503\n')])])
    res = wait([dict(type='container', container='nr')], clock, timeout=3, docker=docker)
    assert not res.ok and not res.failed_fast and 'fatal' not in res.checks[0]
    assert ("checks[0] container nr: container nr is running but unhealthy, never healthy yet "
            "(last health check: 'health: HTTP/1.1 503'). Last log lines of nr: line one | line two."
            in res.msg)
    assert res.checks[0]['logs'] == ['line one', 'line two']


def test_turning_unhealthy_after_healthy_fails_fast():
    clock = Clock()
    docker = FakeDocker([running('healthy', [dict(ExitCode=0, Output='ok')]),
                         running('unhealthy', [dict(ExitCode=1, Output='health: 500')])])
    res = wait([dict(type='container', container='c')], clock, timeout=60, threshold=5, docker=docker)
    assert res.failed_fast and res.attempts == 2
    assert 'unhealthy after having been healthy' in res.msg


def test_unhealthy_with_a_recent_passing_health_check_fails_fast():
    log = [dict(ExitCode=0, Output='ok'), dict(ExitCode=1, Output='500'), dict(ExitCode=1, Output='500')]
    res = wait([dict(type='container', container='c')], Clock(), docker=FakeDocker([running('unhealthy', log)]))
    assert res.failed_fast and res.attempts == 1


def test_container_missing_keeps_waiting_but_removed_fails_fast():
    clock = Clock()
    docker = FakeDocker([NotFound('no such container'), running(), NotFound('gone')])
    res = wait([dict(type='container', container='c')], clock, timeout=60, threshold=5, docker=docker)
    assert res.failed_fast and res.attempts == 3
    assert 'container c was removed while waiting' in res.msg
    assert 'Last log lines' not in res.msg


def test_container_never_found_times_out():
    res = wait([dict(type='container', container='ghost')], Clock(), timeout=2,
               docker=FakeDocker([NotFound('x')]))
    assert 'checks[0] container ghost: container ghost does not exist.' in res.msg
    assert res.checks[0]['state'] == 'missing'


@pytest.mark.parametrize('state, ok', [
    (running(), True),                          # no HEALTHCHECK: running is enough
    (running('healthy'), True),
    (running('starting'), False),
    (dict(Status='created', ExitCode=0), False),
    (dict(Status='paused', ExitCode=0), False),
])
def test_container_states_that_keep_waiting_or_pass(state, ok):
    res = wait([dict(type='container', container='c')], Clock(), timeout=1, docker=FakeDocker([state]))
    assert res.ok is ok and not res.failed_fast


def test_healthy_false_only_requires_running():
    res = wait([dict(type='container', container='c', healthy=False)], Clock(),
               docker=FakeDocker([running('starting')]))
    assert res.ok and res.checks[0]['msg'] == 'running, starting'


def test_engine_errors_keep_waiting():
    error = Exception('500 Server Error: Internal Server Error')
    res = wait([dict(type='container', container='c')], Clock(), timeout=1,
               docker=FakeDocker([error], logs=Exception('engine down')))
    assert not res.ok and not res.failed_fast
    assert 'Docker engine error: Exception: 500 Server Error' in res.msg


def test_logs_unavailable_is_said():
    res = wait([dict(type='container', container='c')], Clock(),
               docker=FakeDocker([exited(3)], logs=Exception('nope')))
    assert 'Last log lines of c: (logs unavailable: Exception: nope)' in res.msg


def test_container_check_without_a_client_is_a_caller_error():
    with pytest.raises(r.ReadinessInputError, match=r'checks\[0\]: a container check needs a Docker client'):
        wait([dict(type='container', container='c')], Clock())


# ------------------------------------------------------------------ http checks (engine faked)

class FakeClient:
    calls = []
    script = []

    def __init__(self, timeout, keepalive, expect, version_header):
        self.args = dict(timeout=timeout, keepalive=keepalive, expect=frozenset(expect))

    def request(self, target, method, headers, keep_response):
        FakeClient.calls.append(dict(self.args, target=target, method=method, headers=headers))
        step = FakeClient.script.pop(0) if len(FakeClient.script) > 1 else FakeClient.script[0]
        status, body, resp_headers = step
        if status is None:
            return t.Result(target.label, 0, 0.002, t.REFUSED, None, None,
                            'ConnectionRefusedError: [Errno 111] Connection refused', None, None)
        outcome = t.OK if status in self.args['expect'] else t.STATUS
        return t.Result(target.label, 0, 0.002, outcome, status, None, None, resp_headers or {}, body)


@pytest.fixture
def http(monkeypatch):
    FakeClient.calls = []
    FakeClient.script = []
    monkeypatch.setattr(t, 'Client', FakeClient)
    return FakeClient


def test_http_slow_start_then_ready(http):
    http.script = [(None, None, None), (503, b'not ready\n', None), (200, b'ok\n', None)]
    clock = Clock()
    res = wait([dict(type='http', url='http://127.0.0.1:18100/health')], clock, interval=0.1)
    assert res.ok and res.attempts == 3
    assert res.checks[0]['status'] == 200 and res.checks[0]['body'] == 'ok\n'
    assert http.calls[0]['method'] == 'GET' and http.calls[0]['keepalive'] is False


def test_http_timeout_message_has_status_and_body(http):
    http.script = [(503, b'not ready\n', None)]
    res = wait([dict(type='http', url='http://127.0.0.1:18100/health')], Clock(), timeout=1)
    assert res.msg == ("Not ready after 1.0s (timeout 1s, 2 attempts): 1 of 1 check not passing: "
                       "checks[0] GET http://127.0.0.1:18100/health: status 503, expected 200; "
                       "body 'not ready\\n'.")
    assert res.checks[0]['outcome'] == 'status'


def test_http_no_answer_message_has_errno(http):
    http.script = [(None, None, None)]
    res = wait([dict(type='http', url='http://127.0.0.1:18100/')], Clock(), timeout=1)
    assert ('no response (refused): ConnectionRefusedError: [Errno 111] Connection refused' in res.msg)


@pytest.mark.parametrize('options, answer, ok, seen', [
    (dict(body='version=v2'), (200, b'version=v2 ...', None), True, 'status 200'),
    (dict(body='version=v2'), (200, b'version=v1 ...', None), False, "body does not contain 'version=v2'"),
    (dict(body_regex=r'^ok$'), (200, b'ok', None), True, 'status 200'),
    (dict(body_regex=r'"up":\s*true'), (200, b'{"up": false}', None), False, 'body does not match'),
    (dict(status_codes=[200, 204]), (204, b'', None), True, 'status 204'),
    (dict(status_codes=[200, 204]), (302, b'', None), False, 'status 302, expected 200 or 204'),
    (dict(response_headers={'X-App-Version': 'v2'}), (200, b'', {'x-app-version': 'v2'}), True, 'status 200'),
    (dict(response_headers={'X-App-Version': 'v2'}), (200, b'', {'x-app-version': 'v1'}), False,
     "header x-app-version is 'v1', expected 'v2'"),
    (dict(response_headers={'X-New': '1'}), (200, b'', {}), False, "header x-new is None, expected '1'"),
])
def test_http_matching(http, options, answer, ok, seen):
    http.script = [answer]
    check = dict(type='http', url='http://127.0.0.1:18100/', **options)
    res = wait([check], Clock(), timeout=0.5, interval=1)
    assert res.ok is ok
    assert seen in res.checks[0]['msg']


def test_http_request_options_and_basic_auth(http):
    http.script = [(200, b'', None)]
    check = dict(type='http', url='http://127.0.0.1:18100/ready', method='head', headers={'X-Probe': 1},
                 url_username='probe', url_password='s3cret', request_timeout=2)
    res = wait([check], Clock())
    call = http.calls[0]
    assert call['method'] == 'HEAD' and call['timeout'] == 2
    assert call['headers'] == {'X-Probe': '1', 'Authorization': t.basic_auth_header('probe', 's3cret')}
    assert 's3cret' not in json.dumps(res.as_dict())


def test_http_request_timeout_never_runs_past_the_deadline(http, tmp_path):
    http.script = [(503, b'', None)]
    clock = Clock()
    wait([dict(type='http', url='http://127.0.0.1:18100/', request_timeout=30)], clock, timeout=2.5,
         interval=1)
    assert [c['timeout'] for c in http.calls] == [2.5, 1.5, 0.5, 0.05]


def test_http_over_unix_socket_target(http):
    http.script = [(200, b'ok', None)]
    res = wait([dict(type='http', url='/health', unix_socket='/var/run/app.sock')], Clock())
    target = http.calls[0]['target']
    assert (target.unix_socket, target.path, target.host) == ('/var/run/app.sock', '/health', 'localhost')
    assert res.checks[0]['name'] == 'GET /health via unix:/var/run/app.sock'


def test_https_check_gets_a_verified_context(http):
    http.script = [(200, b'', None)]
    wait([dict(type='http', url='https://127.0.0.1:18100/')], Clock())
    assert http.calls[0]['target'].context.check_hostname is True


# ------------------------------------------------------------------ tcp, unix, file checks

def test_tcp_check(monkeypatch):
    attempts = []

    def fake_connect(address, timeout):
        attempts.append((address, timeout))
        if len(attempts) == 1:
            raise ConnectionRefusedError(111, 'Connection refused')
        return socket.socket()

    monkeypatch.setattr(socket, 'create_connection', fake_connect)
    clock = Clock()
    res = wait([dict(type='tcp', port=18100, request_timeout=0.5)], clock)
    assert res.ok and res.attempts == 2
    assert attempts[0] == (('127.0.0.1', 18100), 0.5)


def test_tcp_failure_message(monkeypatch):
    def refuse(address, timeout):
        raise ConnectionRefusedError(111, 'Connection refused')

    monkeypatch.setattr(socket, 'create_connection', refuse)
    res = wait([dict(type='tcp', host='127.0.0.1', port=18101)], Clock(), timeout=1)
    assert ('checks[0] tcp 127.0.0.1:18101: connect failed: ConnectionRefusedError: [Errno 111] '
            'Connection refused.' in res.msg)
    assert res.checks[0]['errno'] == 'ECONNREFUSED'


def test_unix_socket_check(tmp_path):
    path = str(tmp_path / 'app.sock')
    res = wait([dict(type='unix', path=path)], Clock(), timeout=1)
    assert not res.ok and res.checks[0]['errno'] == 'ENOENT'
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        res = wait([dict(type='unix', path=path)], Clock(), timeout=1)
        assert res.ok and res.checks[0]['msg'] == 'connected'
    finally:
        listener.close()


def test_pid_file_of_a_live_process(tmp_path):
    pid_file = tmp_path / 'app.pid'
    pid_file.write_text('%d\n' % os.getpid())
    res = wait([dict(type='file', path=str(pid_file), pid_alive=True)], Clock())
    assert res.ok and res.checks[0]['pid'] == os.getpid()
    assert res.checks[0]['name'] == 'pid file %s' % pid_file


@pytest.mark.parametrize('content, seen', [
    ('', 'does not hold a process id'),
    ('abc', "does not hold a process id (content 'abc')"),
    ('-5', 'does not hold a process id'),
])
def test_pid_file_without_a_pid(tmp_path, content, seen):
    pid_file = tmp_path / 'app.pid'
    pid_file.write_text(content)
    res = wait([dict(type='file', path=str(pid_file), pid_alive=True)], Clock(), timeout=1)
    assert not res.ok and seen in res.msg


def test_pid_file_of_a_dead_process(tmp_path, monkeypatch):
    def kill(pid, sig):
        assert sig == 0
        raise ProcessLookupError(3, 'No such process')

    monkeypatch.setattr(os, 'kill', kill)
    pid_file = tmp_path / 'app.pid'
    pid_file.write_text('4242')
    res = wait([dict(type='file', path=str(pid_file), pid_alive=True)], Clock(), timeout=1)
    assert 'process 4242 is not running' in res.msg


def test_pid_state_sees_zombies_and_foreign_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(os, 'kill', lambda pid, sig: None)
    (tmp_path / '77').mkdir()
    (tmp_path / '77' / 'stat').write_text('77 (my (odd) app) Z 1 77 77 0 -1')
    assert r._pid_state(77, proc=str(tmp_path)) == (False, 'process 77 is a zombie (exited, not reaped)')
    (tmp_path / '77' / 'stat').write_text('77 (app) S 1 77 77 0 -1')
    assert r._pid_state(77, proc=str(tmp_path)) == (True, 'process 77 is running')

    def not_mine(pid, sig):
        raise PermissionError(1, 'Operation not permitted')

    monkeypatch.setattr(os, 'kill', not_mine)
    assert r._pid_state(78, proc=str(tmp_path))[0] is True


# ------------------------------------------------------------------ input errors

@pytest.mark.parametrize('timing, message', [
    (dict(timeout=0), 'timeout must be greater than 0, got 0'),
    (dict(timeout=-5), 'timeout must be greater than 0, got -5'),
    (dict(interval=0), 'interval must be greater than 0, got 0'),
    (dict(success_threshold=0), 'success_threshold must be at least 1, got 0'),
    (dict(initial_delay=-1), 'initial_delay must be at least 0, got -1'),
    (dict(initial_delay=10), r'initial_delay \(10s\) must be shorter than timeout \(10s\)'),
])
def test_timing_input_errors(timing, message):
    args = dict(checks=[], timeout=10, interval=1, success_threshold=1, initial_delay=0)
    args.update(timing)
    with pytest.raises(r.ReadinessInputError, match=message):
        r.wait_until_ready(**args)
    with pytest.raises(r.ReadinessInputError, match=message):
        r.check_input(**args)


@pytest.mark.parametrize('check, message', [
    (dict(type='http', url='ftp://host/'), r"checks\[0\].url: 'ftp://host/' is not an http:// or https:// URL"),
    (dict(type='http', url='127.0.0.1:8080'), r'checks\[0\].url: .* is not an http:// or https:// URL'),
    (dict(type='http', url='http://u:p@host/'), r'checks\[0\].url: .* carries credentials'),
    (dict(type='http', url='http://h/', status_codes=[]), r'checks\[0\].status_codes: give HTTP statuses'),
    (dict(type='http', url='http://h/', status_codes=[99]), r'checks\[0\].status_codes: .* got \[99\]'),
    (dict(type='http', url='http://h/', body_regex='('), r'checks\[0\].body_regex: not a valid regular'),
    (dict(type='http', url='http://h/', request_timeout=0), r'checks\[0\].request_timeout must be greater than 0'),
    (dict(type='http', url='https://h/', ca_path='/nonexistent/ca.pem'),
     r'checks\[0\].url: cannot load the CA bundle /nonexistent/ca.pem'),
    (dict(type='http'), r'checks\[0\]: a http check needs url'),
    (dict(type='tcp', port=0), r'checks\[0\].port: must be between 1 and 65535, got 0'),
    (dict(type='tcp', port=70000), r'checks\[0\].port: must be between 1 and 65535, got 70000'),
    (dict(type='tcp', port=80, url='http://h/'), r'checks\[0\].url: does not apply to a tcp check \(it is an option of http checks\)'),
    (dict(type='file', path='/x', request_timeout=3),
     r'checks\[0\].request_timeout: does not apply to a file check \(it is an option of http and tcp and unix checks\)'),
    (dict(type='container', container='c', pid_alive=True), r'checks\[0\].pid_alive: does not apply to a container check'),
    (dict(type='unix'), r'checks\[0\]: a unix check needs path'),
    (dict(type='file', path='/x', colour='red'), r'checks\[0\]: unknown option\(s\) colour; known: body, '),
    (dict(type='smtp'), r"checks\[0\].type: must be one of http, tcp, unix, file, container, got 'smtp'"),
    ('http://h/', r"checks\[0\]: expected a dict, got 'http://h/'"),
])
def test_check_input_errors(check, message):
    with pytest.raises(r.ReadinessInputError, match=message):
        r.wait_until_ready([check], 10, 1, 1)


def test_input_errors_can_name_a_nested_option():
    with pytest.raises(r.ReadinessInputError, match=r'^readiness\.checks\[1\]\.port: '):
        r.check_input([dict(type='tcp', port=1), dict(type='tcp', port=0)], 10, 1, 1,
                      option_prefix='readiness.')
    with pytest.raises(r.ReadinessInputError, match=r'^readiness\.timeout must be'):
        r.check_input([], 0, 1, 1, option_prefix='readiness.')


def test_check_input_accepts_container_checks_without_a_client():
    r.check_input([dict(type='container', container='c')], 10, 1, 1)


def test_needs_docker():
    assert r.needs_docker([dict(type='http'), dict(type='container')])
    assert not r.needs_docker([dict(type='http')])
    assert not r.needs_docker(None)


# ------------------------------------------------------------------ warmup

class FakeLoad:
    def __init__(self, outcomes):
        self.outcomes = outcomes  # per target label: list of (outcome, status, latency)
        self.kwargs = None

    def __call__(self, targets, **kwargs):
        self.kwargs = dict(kwargs, targets=targets)
        results = []
        for target in targets:
            for outcome, status, latency in self.outcomes.get(target.label, []):
                error = None if status else 'ConnectionRefusedError: [Errno 111] Connection refused'
                results.append(t.Result(target.label, 0, latency, outcome, status, None, error, None, None))
        return results


def test_warmup_stats_per_url_and_total():
    load = FakeLoad({
        'http://127.0.0.1:18100/': [(t.OK, 200, 0.001), (t.OK, 200, 0.003)],
        'http://127.0.0.1:18100/b': [(t.OK, 200, 0.010), (t.OK, 200, 0.020)],
    })
    stats = r.run_warmup(dict(urls=['http://127.0.0.1:18100/', 'http://127.0.0.1:18100/b'],
                              requests_per_url=2, concurrency=3), clock=Clock(), run_load=load)
    assert stats['failed'] is False
    assert load.kwargs['requests'] == 4 and load.kwargs['concurrency'] == 3
    assert load.kwargs['expect'] == [200] and load.kwargs['keepalive'] is True
    assert stats['total']['requests'] == 4 and stats['total']['ok'] == 4
    assert stats['urls'][0]['latency_ms'] == dict(min=1.0, p50=1.0, p95=3.0, p99=3.0, max=3.0)
    assert stats['urls'][1]['url'] == 'http://127.0.0.1:18100/b'
    assert stats['msg'] == 'Warmup: 4 requests to 2 URLs, all ok, p95 20.0 ms'
    json.dumps(stats)


def test_warmup_failures_are_counted_and_named():
    load = FakeLoad({'http://127.0.0.1:18100/': [(t.OK, 200, 0.001), (t.STATUS, 500, 0.001),
                                                 (t.REFUSED, None, 0.0)]})
    stats = r.run_warmup(dict(urls=['http://127.0.0.1:18100/'], requests_per_url=3), run_load=load)
    assert stats['failed'] is True
    assert stats['urls'][0]['errors']['status'] == 1 and stats['urls'][0]['errors']['refused'] == 1
    assert stats['urls'][0]['first_error'] == 'status 500'
    assert stats['msg'] == ('Warmup: 2 of 3 requests failed: http://127.0.0.1:18100/: 2 of 3 failed '
                            '(refused 1, status 1; first: status 500)')


def test_warmup_url_file_like_siege(tmp_path):
    url_file = tmp_path / 'urls.txt'
    url_file.write_text('# warm these\nhttp://127.0.0.1:18100/a\n\n  http://127.0.0.1:18100/b  \n'
                        'http://127.0.0.1:18100/a\n')
    load = FakeLoad({})
    r.run_warmup(dict(urls=['http://127.0.0.1:18100/'], url_file=str(url_file)), run_load=load)
    assert [target.url for target in load.kwargs['targets']] == [
        'http://127.0.0.1:18100/', 'http://127.0.0.1:18100/a', 'http://127.0.0.1:18100/b']


def test_warmup_over_a_unix_socket():
    load = FakeLoad({})
    r.run_warmup(dict(urls=['/', '/catalog'], unix_socket='/var/run/app.sock'), run_load=load)
    assert [(x.unix_socket, x.path) for x in load.kwargs['targets']] == [
        ('/var/run/app.sock', '/'), ('/var/run/app.sock', '/catalog')]


@pytest.mark.parametrize('warmup, message', [
    (dict(url_file='/nonexistent/urls.txt'),
     r'^warmup.url_file: cannot read /nonexistent/urls.txt: \[Errno 2\] No such file or directory'),
    (dict(urls=[]), r'^warmup: no URL to request'),
    (dict(urls=['http://h/'], requests_per_url=0), r'^warmup.requests_per_url must be at least 1, got 0'),
    (dict(urls=['http://h/'], concurrency=0), r'^warmup.concurrency must be at least 1, got 0'),
    (dict(urls=['http://h/'], request_timeout=-1), r'^warmup.request_timeout must be greater than 0'),
    (dict(urls=['http://h/', 'gopher://h/']), r"^warmup.urls: 'gopher://h/' is not an http://"),
    (dict(urls=['http://h/'], concurrency=2, colour=1), r'^warmup: unknown option\(s\) colour'),
])
def test_warmup_input_errors(warmup, message):
    with pytest.raises(r.ReadinessInputError, match=message):
        r.run_warmup(warmup, run_load=FakeLoad({}))
    with pytest.raises(r.ReadinessInputError, match=message):
        r.check_input([], 10, 1, 1, warmup=warmup)


def test_warmup_bad_line_in_url_file_names_the_line(tmp_path):
    url_file = tmp_path / 'urls.txt'
    url_file.write_text('http://127.0.0.1:18100/\nhttp://127.0.0.1:18100/ POST a=1\n')
    with pytest.raises(r.ReadinessInputError, match=r'warmup.url_file .*urls.txt line 2: .* contains whitespace'):
        r.run_warmup(dict(url_file=str(url_file)), run_load=FakeLoad({}))


# ------------------------------------------------------------------ engine events end a sleep early

class ScriptedWatch:
    """EngineWatch stand-in on the fake clock: an event ``at`` elapsed seconds ends the sleep
    it falls in (the clock stops there), as the engine's stream does."""

    def __init__(self, clock, at):
        self.clock = clock
        self.at = sorted(at)
        self.waits = []
        self.closed = False

    def wait(self, seconds):
        self.waits.append(round(seconds, 6))
        end = self.clock.now + seconds
        due = [t for t in self.at if self.clock.start + t <= end + 1e-9]
        if due:
            self.at.remove(due[0])
            self.clock.sleep(max(self.clock.start + due[0] - self.clock.now, 0.0))
            return True
        self.clock.sleep(seconds)
        return False

    def close(self):
        self.closed = True


def test_a_health_event_starts_the_next_attempt_at_once_not_a_whole_interval_later():
    # Docker runs the first health check 1 s after the start (interval 1s) and reports healthy
    # at 1.15 s; polling every second alone notices it at 2.0 s.
    clock = Clock()
    healthy = running('healthy', [dict(ExitCode=0, Output='ok')])
    docker = FakeDocker([running('starting')])
    clock.at(1.15, lambda: docker.api.states.__setitem__(0, healthy))
    watch = ScriptedWatch(clock, [1.15])
    res = r.wait_until_ready([dict(type='container', container='c')], 10, 1.0, 1, docker=docker,
                             clock=clock, sleep=clock.sleep, watch=watch)
    assert res.ok and res.elapsed == 1.15 and res.attempts == 3
    assert watch.waits == [1.0, 1.0]
    assert not watch.closed, 'a watch given by the caller is the caller to close'
    # The same wait without events: a whole interval later.
    clock = Clock()
    docker = FakeDocker([running('starting')])
    clock.at(1.15, lambda: docker.api.states.__setitem__(0, healthy))
    res = wait([dict(type='container', container='c')], clock, docker=docker)
    assert res.ok and res.elapsed == 2.0


def test_after_an_early_wake_the_interval_counts_from_that_attempt():
    clock = Clock()
    watch = ScriptedWatch(clock, [0.3])
    res = r.wait_until_ready([dict(type='container', container='c')], 2, 1.0, 1,
                             docker=FakeDocker([running('starting')]), clock=clock,
                             sleep=clock.sleep, watch=watch)
    assert not res.ok and res.attempts == 4          # 0, 0.3 (event), 1.3, 2.0 (deadline)
    assert watch.waits == [1.0, 1.0, 0.7]


def test_an_exit_event_fails_fast_at_once():
    clock = Clock()
    docker = FakeDocker([running('starting')])
    clock.at(0.4, lambda: docker.api.states.__setitem__(0, exited(137)))
    watch = ScriptedWatch(clock, [0.4])
    res = r.wait_until_ready([dict(type='container', container='c')], 60, 5.0, 1, docker=docker,
                             clock=clock, sleep=clock.sleep, watch=watch)
    assert res.failed_fast and res.elapsed == 0.4
    assert 'container c is exited (exit code 137)' in res.msg


def test_initial_delay_is_not_cut_short_by_events():
    clock = Clock()
    watch = ScriptedWatch(clock, [0.1])
    res = r.wait_until_ready([dict(type='container', container='c')], 10, 1.0, 1, initial_delay=2,
                             docker=FakeDocker([running()]), clock=clock, sleep=clock.sleep,
                             watch=watch)
    assert res.ok and res.elapsed == 2.0 and watch.waits == [] and clock.sleeps == [2]


class FakeStream:
    def __init__(self, events, block=None):
        self.events = list(events)
        self.block = block          # a threading.Event the stream waits on after its events
        self.closed = False

    def __iter__(self):
        yield from self.events
        if self.block is not None:
            self.block.wait(5)

    def close(self):
        self.closed = True
        if self.block is not None:
            self.block.set()


class EventsAPI(FakeAPI):
    def __init__(self, states, stream=None, error=None):
        FakeAPI.__init__(self, states)
        self.stream = stream
        self.error = error
        self.calls = []

    def events(self, **kwargs):
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return self.stream


def test_engine_watch_subscribes_to_the_checked_containers_and_wakes_on_their_events():
    import threading
    block = threading.Event()
    docker = FakeDocker([running()])
    docker.api = EventsAPI([running()], FakeStream([dict(Action='health_status: healthy')], block))
    watch = r.EngineWatch(docker, ['web-candidate', 'db', 'web-candidate'],
                          sleep=lambda s: pytest.fail('no sleep with a stream'))
    assert docker.api.calls == [dict(decode=True, filters=dict(
        type=['container'], container=['db', 'web-candidate'],
        event=['health_status', 'die', 'destroy', 'oom']))]
    assert watch.wait(5) is True, 'the event ends the wait'
    watch.close()
    assert docker.api.stream.closed and block.is_set()


def test_engine_watch_without_a_stream_sleeps_like_before():
    slept = []
    docker = FakeDocker([running()])
    docker.api = EventsAPI([running()], error=Exception('404 page not found'))
    watch = r.EngineWatch(docker, ['c'], sleep=slept.append)
    assert watch.wait(0.5) is False and slept == [0.5]
    watch.close()
    # A client without events at all (the fakes above): the same.
    watch = r.EngineWatch(FakeDocker([running()]), ['c'], sleep=slept.append)
    assert watch.wait(0.25) is False and slept == [0.5, 0.25]


def test_wait_until_ready_opens_and_closes_its_own_watch_for_container_checks(monkeypatch):
    made = []

    class Recorder(ScriptedWatch):
        def __init__(self, docker, containers, sleep):
            ScriptedWatch.__init__(self, clock, [])
            made.append((containers, self))

    clock = Clock()
    monkeypatch.setattr(r, 'EngineWatch', Recorder)
    res = r.wait_until_ready([dict(type='container', container='c'), dict(type='tcp', port=1)], 1,
                             0.5, 1, docker=FakeDocker([running('starting')]), clock=clock,
                             sleep=clock.sleep)
    assert not res.ok
    assert [m[0] for m in made] == [['c']] and made[0][1].closed
    made[:] = []
    wait([dict(type='file', path='/nonexistent')], Clock(), timeout=1)
    assert made == [], 'no watch without a container check'
