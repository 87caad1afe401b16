# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The traffic probe's loop, statistics and messages, with a fake engine, clock and stop file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _probe, _traffic
from ansible_collections.zerodowntime.deploy.plugins.modules.traffic_probe import ARGUMENT_SPEC

URL = 'http://127.0.0.1:18180/'
START = 100.0


def params(**given):
    out = dict((name, rule.get('default')) for name, rule in ARGUMENT_SPEC.items())
    out.update(urls=[URL], duration=10.0)
    out.update(given)
    return out


def res(at, outcome=_traffic.OK, status=200, version='v1', latency=0.01, error=None, target=URL):
    """A Result whose request ended ``at`` seconds after START."""
    return _traffic.Result(target, START + at - latency, latency, outcome, status, version, error,
                           None, None)


REFUSED = dict(outcome=_traffic.REFUSED, status=None, version=None,
               error='ConnectionRefusedError: [Errno 111] Connection refused')


class World:
    """Clock, sleep and file system of one test: time moves only when the probe sleeps."""

    def __init__(self):
        self.now = START
        self.sleeps = []
        self.files = {}          # path -> the time it appears
        self.removed = []
        self.remove_error = None

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now = round(self.now + seconds, 6)

    def exists(self, path):
        return path in self.files and self.now >= self.files[path]

    def remove(self, path):
        if self.remove_error:
            raise self.remove_error
        self.removed.append(path)
        del self.files[path]


class FakeLoad:
    """Stands in for _traffic.Load: hands ``results`` to on_result at start; its clients are done
    after ``done_after`` looks (join(0)), never when None; the join after stop() runs
    ``on_join`` (the time the last requests take) and returns ``finishes``."""

    def __init__(self, results=(), done_after=None, finishes=True, on_join=None):
        self.results = list(results)
        self.done_after = done_after
        self.finishes = finishes
        self.on_join = on_join
        self.instances = []

    def __call__(self, targets, **kwargs):
        self.targets = targets
        self.kwargs = kwargs
        self.looks = 0
        self.joins = []
        self.started = self.stopped = False
        self.instances.append(self)
        return self

    def start(self):
        self.started = True
        for result in self.results:
            self.kwargs['on_result'](result)
        return self

    def stop(self):
        self.stopped = True

    def join(self, timeout=None):
        self.joins.append(timeout)
        if timeout == 0:
            self.looks += 1
            return self.done_after is not None and self.looks > self.done_after
        if self.on_join:
            self.on_join()
        return self.finishes


def run(world, load, **given):
    p = params(**given)
    return _probe.run_probe(_probe.prepare(p), p, clock=world.clock, sleep=world.sleep,
                            exists=world.exists, remove=world.remove, load_class=load)


# ------------------------------------------------------------------ stopping

def test_stops_at_the_duration_without_real_sleeping():
    world, load = World(), FakeLoad([res(0.5)])
    out, warnings = run(world, load, duration=2)
    assert out['stopped_by'] == 'duration' and warnings == []
    assert world.now == pytest.approx(START + 2)
    assert sum(world.sleeps) == pytest.approx(2) and max(world.sleeps) <= 0.1 + 1e-9
    assert load.stopped and load.joins[-1] == 6.0, 'requests in flight get request_timeout + 1 s'
    assert out['elapsed'] == 2.0


def test_the_last_sleep_ends_at_the_deadline():
    world = World()
    run(world, FakeLoad(), duration=0.25)
    assert world.sleeps == pytest.approx([0.1, 0.1, 0.05])


def test_stops_when_the_stop_file_appears_and_removes_it():
    world, load = World(), FakeLoad([res(0.1), res(0.3)])
    world.files['/tmp/zdt.stop'] = START + 0.75
    out, warnings = run(world, load, stop_file='/tmp/zdt.stop', duration=600)
    assert out['stopped_by'] == 'stop_file' and warnings == []
    assert out['elapsed'] == 0.8, 'seen at the first look after it appeared (every 0.1 s)'
    assert load.stopped
    assert world.removed == ['/tmp/zdt.stop'] and '/tmp/zdt.stop' not in world.files


def test_a_stop_file_that_never_appears_is_not_removed():
    world = World()
    out, _warnings = run(world, FakeLoad(), stop_file='/tmp/zdt.stop', duration=1)
    assert out['stopped_by'] == 'duration' and world.removed == []


def test_a_stop_file_created_while_the_last_requests_finish_is_removed_too():
    world = World()
    world.files['/tmp/zdt.stop'] = START + 1.1

    def last_requests_take_a_while():
        world.now += 0.3

    out, _warnings = run(world, FakeLoad(on_join=last_requests_take_a_while),
                         stop_file='/tmp/zdt.stop', duration=1)
    assert out['stopped_by'] == 'duration' and out['elapsed'] == 1.3
    assert world.removed == ['/tmp/zdt.stop']


def test_a_stale_stop_file_fails_before_any_request_and_is_left_alone():
    world, load = World(), FakeLoad()
    world.files['/tmp/zdt.stop'] = 0.0
    with pytest.raises(_probe.ProbeInputError) as raised:
        run(world, load, stop_file='/tmp/zdt.stop')
    assert str(raised.value) == (
        'stop_file /tmp/zdt.stop already exists before the probe started: it would end the probe '
        'at once and prove nothing. Remove it first (ansible.builtin.file state=absent); it is '
        'left as it was')
    assert load.instances == [] and world.removed == [] and world.sleeps == []


def test_stops_when_max_requests_were_sent():
    world, load = World(), FakeLoad([res(0.1)] * 3, done_after=4)
    out, _warnings = run(world, load, max_requests=3, duration=60)
    assert out['stopped_by'] == 'max_requests' and out['requests'] == 3
    assert world.now == pytest.approx(START + 0.4)
    assert load.kwargs['requests'] == 3


def test_a_failing_removal_is_a_warning():
    world = World()
    world.files['/tmp/zdt.stop'] = START + 0.2
    world.remove_error = PermissionError(13, 'Permission denied')
    out, warnings = run(world, FakeLoad([res(0.1)]), stop_file='/tmp/zdt.stop')
    assert out['stopped_by'] == 'stop_file'
    assert warnings == ['Cannot remove the stop file /tmp/zdt.stop: [Errno 13] Permission denied. '
                        'Remove it before the next probe.']


def test_requests_still_in_flight_after_the_grace_are_a_warning():
    _out, warnings = run(World(), FakeLoad(finishes=False), duration=0.1, request_timeout=2)
    assert warnings == ['Some requests were still in flight 3s after the probe stopped; they are '
                        'not counted.']


def test_the_engine_gets_the_options():
    world, load = World(), FakeLoad()
    run(world, load, concurrency=8, keepalive=False, method='HEAD', headers={'Host': 'shop', 'X-N': 3},
        status_codes=[200, 304], request_timeout=2.5, version_header='', pause=0.05, duration=3)
    kwargs = dict(load.kwargs)
    assert callable(kwargs.pop('on_result')) and kwargs.pop('clock') == world.clock
    assert kwargs == dict(concurrency=8, requests=None, duration=3, keepalive=False, method='HEAD',
                          headers={'Host': 'shop', 'X-N': '3'}, expect=[200, 304], timeout=2.5,
                          version_header=None, pause=0.05)
    assert [t.label for t in load.targets] == [URL]


# ------------------------------------------------------------------ statistics

def test_counts_versions_failures_and_throughput():
    results = ([res(0.2 + i * 0.1, version='v1') for i in range(10)]
               + [res(1.0, **REFUSED), res(1.1, _traffic.STATUS, 503, 'v1', error=None)]
               + [res(1.5 + i * 0.1, version='v2') for i in range(8)])
    world = World()
    world.files['/s'] = START + 4
    out, _warnings = run(world, FakeLoad(results), stop_file='/s')
    assert (out['requests'], out['ok'], out['failed_requests']) == (20, 18, 2)
    assert 'failed' not in out, 'a count named failed would fail the task in Ansible'
    assert out['errors'] == dict(status=1, refused=1, reset=0, timeout=0, closed=0, other=0)
    assert out['statuses'] == {'200': 18, '503': 1}
    assert out['versions'] == dict(v1=dict(count=11, first=0.2, last=1.1),
                                   v2=dict(count=8, first=1.5, last=2.2))
    assert out['first_failures'] == [
        dict(time=1.0, url=URL, outcome='refused', status=None,
             error='ConnectionRefusedError: [Errno 111] Connection refused'),
        dict(time=1.1, url=URL, outcome='status', status=503, error='status 503')]
    assert out['elapsed'] == 4.0 and out['throughput'] == 5.0
    assert out['latency_ms']['p50'] == 10.0


def test_keeps_the_first_failure_of_each_kind_five_at_most():
    tally = _probe.ProbeTally(START)
    for i in range(3):
        tally.add(res(i, **REFUSED))
    tally.add(res(3, _traffic.STATUS, 503, error=None))
    tally.add(res(4, _traffic.STATUS, 502, error=None))
    tally.add(res(5, _traffic.STATUS, 503, error=None))
    tally.add(res(6, **dict(REFUSED, target=URL + 'b')))
    tally.add(res(7, _traffic.CLOSED, None, None, error='RemoteDisconnected: closed'))
    tally.add(res(8, _traffic.TIMEOUT, None, None, error='TimeoutError: timed out'))
    failures = tally.summary()['first_failures']
    assert [(f['time'], f['outcome'], f['error']) for f in failures] == [
        (0, 'refused', REFUSED['error']), (3, 'status', 'status 503'), (4, 'status', 'status 502'),
        (6, 'refused', REFUSED['error']), (7, 'closed', 'RemoteDisconnected: closed')]
    assert failures[3]['url'] == URL + 'b'
    assert tally.summary()['errors'] == dict(status=3, refused=4, reset=0, timeout=1, closed=1, other=0)


def test_versions_take_the_earliest_and_latest_whatever_the_order():
    tally = _probe.ProbeTally(START)
    for at in (3.0, 1.0, 2.0):
        tally.add(res(at, version='v9'))
    assert tally.summary()['versions'] == dict(v9=dict(count=3, first=1.0, last=3.0))


# ------------------------------------------------------------------ input

@pytest.mark.parametrize('given, message', [
    (dict(duration=0), 'duration must be greater than 0, got 0'),
    (dict(duration=-1.5), 'duration must be greater than 0, got -1.5'),
    (dict(request_timeout=0), 'request_timeout must be greater than 0, got 0'),
    (dict(concurrency=0), 'concurrency must be at least 1, got 0'),
    (dict(max_requests=0), 'max_requests must be at least 1, got 0'),
    (dict(max_failed=-1), 'max_failed must be at least 0, got -1'),
    (dict(pause=-0.1), 'pause must be at least 0, got -0.1'),
    (dict(urls=[]), 'urls is empty; give at least one URL to probe'),
    (dict(status_codes=[]), 'status_codes is empty; give at least one expected status'),
    (dict(urls=[URL, 'localhost:8080/']), "urls[1]: 'localhost:8080/' is not an http:// or https:// URL"),
    (dict(urls=['http://:80/']), "urls[0]: 'http://:80/' has no host"),
    (dict(urls=['http://127.0.0.1:99999/']), "urls[0]: 'http://127.0.0.1:99999/' has an invalid port"),
    (dict(urls=['/health']), "urls[0]: '/health' is not an http:// or https:// URL"),
    (dict(urls=['https://x/'], ca_path='/nonexistent/ca.pem'),
     'urls[0]: cannot load the CA bundle /nonexistent/ca.pem'),
])
def test_prepare_names_the_option(given, message):
    with pytest.raises(_probe.ProbeInputError) as raised:
        _probe.prepare(params(**given))
    assert str(raised.value).startswith(message)


def test_prepare_builds_one_tls_context_and_accepts_bare_paths_with_a_socket():
    targets = _probe.prepare(params(urls=['https://a/', 'https://b/'], validate_certs=False))
    assert targets[0].context is targets[1].context and not targets[0].context.check_hostname
    targets = _probe.prepare(params(urls=['/health'], unix_socket='/run/app.sock'))
    assert targets[0].label == '/health via unix:/run/app.sock'


# ------------------------------------------------------------------ messages

def summary(**given):
    out = dict(requests=5230, ok=5230, failed_requests=0,
               errors=dict(status=0, refused=0, reset=0, timeout=0, closed=0, other=0),
               statuses={'200': 5230}, latency_ms=dict(min=0.3, p50=1.1, p95=3.2, p99=6.0, max=14.2),
               versions=dict(v2=dict(count=2520, first=3.912, last=8.104),
                             v1=dict(count=2710, first=0.002, last=4.113)),
               first_failures=[], elapsed=8.1, throughput=645.7, stopped_by='stop_file')
    out.update(given)
    return out


def message(out, **given):
    p = params(**given)
    return _probe.failed(out, p), _probe.message(out, p, _probe.prepare(p))


def test_message_all_ok():
    assert message(summary()) == (False, (
        'Traffic probe of http://127.0.0.1:18180/: 5230 requests in 8.1s (645.7/s, 4 keep-alive '
        'clients, stopped by the stop file); versions v1 2710 (0.0-4.1s), v2 2520 (3.9-8.1s), '
        'all ok, p95 3.2 ms.'))


def test_message_failures_within_max_failed():
    out = summary(ok=5228, failed_requests=2,
                  errors=dict(status=0, refused=0, reset=2, timeout=0, closed=0, other=0))
    failed, text = message(out, max_failed=2, keepalive=False, concurrency=1)
    assert not failed
    assert text.endswith('5230 requests in 8.1s (645.7/s, 1 one-connection-per-request client, '
                         'stopped by the stop file); versions v1 2710 (0.0-4.1s), v2 2520 (3.9-8.1s), '
                         '2 failed (reset 2; max_failed 2), p95 3.2 ms.')


def test_message_on_failure_names_url_classes_and_first_failures():
    out = summary(ok=5218, failed_requests=12, stopped_by='duration', versions={},
                  errors=dict(status=2, refused=10, reset=0, timeout=0, closed=0, other=0),
                  first_failures=[
                      dict(time=4.12, url=URL, outcome='refused', status=None,
                           error='ConnectionRefusedError: [Errno 111] Connection refused'),
                      dict(time=4.5, url=URL, outcome='status', status=503, error='status 503')])
    assert message(out) == (True, (
        'Traffic probe of http://127.0.0.1:18180/: 12 of 5230 requests failed, more than '
        'max_failed (0): status 2, refused 10. First failures: at 4.120s refused: '
        'ConnectionRefusedError: [Errno 111] Connection refused; at 4.500s status: status 503. '
        'Probed: 5230 requests in 8.1s (645.7/s, 4 keep-alive clients, stopped by the duration); '
        'no version header seen. Nothing was changed.'))


def test_message_names_the_url_of_each_failure_when_there_are_several():
    out = summary(ok=5229, failed_requests=1,
                  errors=dict(status=0, refused=0, reset=0, timeout=1, closed=0, other=0),
                  first_failures=[dict(time=1.0, url=URL + 'b', outcome='timeout', status=None,
                                       error='TimeoutError: timed out')])
    failed, text = message(out, urls=[URL + 'a', URL + 'b'])
    assert failed and text.startswith(
        'Traffic probe of http://127.0.0.1:18180/a, http://127.0.0.1:18180/b: 1 of 5230 requests '
        'failed, more than max_failed (0): timeout 1. First failures: at 1.000s timeout '
        'http://127.0.0.1:18180/b: TimeoutError: timed out. Probed:')


def test_no_request_at_all_proves_nothing_and_fails():
    out = summary(requests=0, ok=0, statuses={}, versions={}, elapsed=0.0, throughput=0.0,
                  latency_ms=dict(min=None, p50=None, p95=None, p99=None, max=None))
    assert message(out, max_failed=100) == (True, (
        'Traffic probe of http://127.0.0.1:18180/: no request was sent (stopped by the stop file '
        'after 0.0s), so it proves nothing. Nothing was changed.'))
