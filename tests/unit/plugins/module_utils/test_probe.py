# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The traffic probe's loop, statistics and messages, with a fake engine, clock and stop file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _probe, _traffic

URL = 'http://127.0.0.1:18180/'
START = 100.0


def params(**given):
    out = dict((name, rule.get('default')) for name, rule in _probe.ARGUMENT_SPEC.items())
    out.update(urls=[URL], duration=10.0)
    out.update(given)
    return out


def res(at, outcome=_traffic.OK, status=200, version='v1', latency=0.01, error=None, target=URL,
        body=None, fresh=False):
    """A Result whose request ended ``at`` seconds after START."""
    return _traffic.Result(target, START + at - latency, latency, outcome, status, version, error,
                           None, body, fresh)


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


def test_a_look_that_ends_past_the_deadline_stops_at_the_duration():
    world = World()

    class SlowLook(FakeLoad):
        def join(self, timeout=None):
            if timeout == 0:
                world.now += 0.2          # the look itself outlasts the 0.1 s duration
            return super(SlowLook, self).join(timeout)
    out, _warnings = run(world, SlowLook(), duration=0.1)
    assert out['stopped_by'] == 'duration' and world.sleeps == []


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
                          version_header=None, pause=0.05, interval=0.04, fresh=8,
                          keep_response=False)
    assert [t.label for t in load.targets] == [URL]


def test_the_defaults_pace_eight_clients_half_of_them_fresh_and_a_regex_keeps_the_body():
    world, load = World(), FakeLoad()
    run(world, load, duration=1, version_regex='version=(\\S+)')
    assert (load.kwargs['concurrency'], load.kwargs['fresh'], load.kwargs['keepalive']) == (8, 4, True)
    assert load.kwargs['interval'] == pytest.approx(8 / 200.0), '200 requests per second in all'
    assert load.kwargs['keep_response'] is True and load.kwargs['version_header'] is None
    run(world, load, duration=1, rate=0)
    assert load.kwargs['interval'] is None, 'rate 0: unpaced'


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
    assert out['errors'] == dict(status=1, refused=1, reset=0, timeout=0, closed=0, other=0, slow=0)
    assert out['statuses'] == {'200': 18, '503': 1}
    assert (out['first_version'], out['last_version']) == ('v1', 'v2')
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
    assert tally.summary()['errors'] == dict(status=3, refused=4, reset=0, timeout=1, closed=1, other=0, slow=0)


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
               first_failures=[], elapsed=8.1, throughput=645.7, stopped_by='stop_file',
               first_version='v1', last_version='v2',
               sensitivity=dict(certainty=0.99, likely_ms=6.8, certain_ms=15.9, max_gap_at=3.121,
                                fresh_likely_ms=12.1, fresh_certain_ms=27.4))
    out.update(given)
    return out


def message(out, **given):
    p = params(**given)
    reasons = _probe.verdict(out, p)
    return bool(reasons), _probe.message(out, p, _probe.prepare(p), reasons)


def test_message_all_ok_states_the_sensitivity():
    assert message(summary(), stop_file='/s') == (False, (
        'Traffic probe of http://127.0.0.1:18180/: 5230 requests in 8.1s (645.7/s, 4 keep-alive + 4 '
        'new-connection-per-request clients, stopped by the stop file); versions v1 2710 (0.0-4.1s), '
        'v2 2520 (3.9-8.1s), all ok, p95 3.2 ms; an outage of 6.8 ms or more would have been seen '
        'with 99% certainty (16 ms or more for sure; by new connections alone: 12 ms, 27 ms for sure).'))


def test_message_failures_within_max_failed():
    out = summary(ok=5228, failed_requests=2,
                  errors=dict(status=0, refused=0, reset=2, timeout=0, closed=0, other=0))
    failed, text = message(out, max_failed=2, keepalive=False, concurrency=1)
    assert not failed
    assert text.endswith('5230 requests in 8.1s (645.7/s, 1 new-connection-per-request client, '
                         'stopped by the stop file); versions v1 2710 (0.0-4.1s), v2 2520 (3.9-8.1s), '
                         '2 failed (reset 2; max_failed 2), p95 3.2 ms; an outage of 6.8 ms or more '
                         'would have been seen with 99% certainty (16 ms or more for sure; by new '
                         'connections alone: 12 ms, 27 ms for sure).')


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
        'Probed: 5230 requests in 8.1s (645.7/s, 4 keep-alive + 4 new-connection-per-request '
        'clients, stopped by the duration); no version seen; an outage of 6.8 ms or more would '
        'have been seen with 99% certainty (16 ms or more for sure; by new connections alone: 12 '
        'ms, 27 ms for sure). Nothing was changed.'))


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


def test_every_reason_is_named_in_one_message():
    out = summary(ok=5229, failed_requests=1, stopped_by='duration', first_version='v2',
                  errors=dict(status=0, refused=0, reset=0, timeout=0, closed=0, other=0, slow=1),
                  first_failures=[dict(time=2.0, url=URL, outcome='slow', status=200,
                                       error='answered in 1.200s, more than latency_limit')],
                  sensitivity=dict(certainty=0.99, likely_ms=6.8, certain_ms=250.0, max_gap_at=2.5,
                                   fresh_likely_ms=None, fresh_certain_ms=None))
    failed, text = message(out, stop_file='/s', duration=600, old_version='v1', new_version='v3')
    assert failed
    assert text.startswith(
        'Traffic probe of http://127.0.0.1:18180/: 1 of 5230 requests failed, more than max_failed '
        '(0): slow 1; no request started for 0.250s from 2.500s on, longer than max_gap (0.1s): the '
        'service stalled the clients or the probe was starved, and an outage that long could have '
        'gone unseen; it was stopped by the duration (600s) before the stop file appeared, so the '
        'end of the deploy was not watched; the first answer came from v2, not from the old version '
        'v1 (the probe started after the deploy had begun); the new version v3 never answered (the '
        'probe stopped before the new version served). First failures: at 2.000s slow: answered in '
        '1.200s, more than latency_limit. Probed: ')
    assert text.endswith('an outage of 6.8 ms or more would have been seen with 99% certainty '
                         '(250 ms or more for sure). Nothing was changed.')


@pytest.mark.parametrize('given, expected', [
    (dict(), 0.1),                              # the default rate, 200/s: starts 5 ms apart
    (dict(rate=20.0), 1.0),                     # 20 times the spacing of starts
    (dict(rate=1000.0), 0.1),                   # never below 0.1 s
    (dict(rate=0.0), 0.1),                      # unpaced
    (dict(rate=20.0, max_gap=0.05), 0.05),      # given: as given
    (dict(max_gap=0), 0),                       # 0: no limit
])
def test_max_gap_by_default_follows_the_rate(given, expected):
    assert _probe.max_gap(params(**given)) == expected


def test_a_gap_a_low_rate_explains_does_not_fail_the_probe():
    out = summary(sensitivity=dict(certainty=0.99, likely_ms=50.0, certain_ms=900.0, max_gap_at=1.0,
                                   fresh_likely_ms=None, fresh_certain_ms=None))
    assert message(out, rate=20.0)[0] is False          # 0.9 s < 20 / 20 per second
    assert message(out, rate=40.0)[0] is True           # 0.9 s > 20 / 40 per second


def test_max_gap_zero_only_reports_the_gap():
    out = summary(sensitivity=dict(certainty=0.99, likely_ms=6.8, certain_ms=900.0, max_gap_at=1.0,
                                   fresh_likely_ms=None, fresh_certain_ms=None))
    assert message(out, max_gap=0)[0] is False
    assert message(out)[0] is True


# ------------------------------------------------------------------ pure helpers

@pytest.mark.parametrize('outcome, latency, limit, expected', [
    (_traffic.OK, 0.5, 1.0, _traffic.OK),
    (_traffic.OK, 1.0, 1.0, _traffic.OK),
    (_traffic.OK, 1.001, 1.0, _probe.SLOW),
    (_traffic.OK, 30.0, 0, _traffic.OK),
    (_traffic.OK, 30.0, None, _traffic.OK),
    (_traffic.STATUS, 2.0, 1.0, _traffic.STATUS),
    (_traffic.REFUSED, 2.0, 1.0, _traffic.REFUSED),
])
def test_classify_a_slow_answer(outcome, latency, limit, expected):
    assert _probe.classify(res(5, outcome, latency=latency), limit) == expected


def test_a_slow_answer_is_counted_failed_with_its_latency():
    tally = _probe.ProbeTally(START, latency_limit=0.5)
    tally.add(res(1.0, latency=0.7))
    tally.add(res(2.0, latency=0.1))
    out = tally.summary()
    assert (out['requests'], out['ok'], out['failed'], out['errors']['slow']) == (2, 1, 1, 1)
    assert out['first_failures'] == [dict(time=1.0, url=URL, outcome='slow', status=200,
                                          error='answered in 0.700s, more than latency_limit')]


def test_the_version_from_the_body():
    tally = _probe.ProbeTally(START, version_regex='version=(\\S+)')
    tally.add(res(1.0, version=None, body=b'version=v7   \n'))
    tally.add(res(2.0, version='header-ignored', body=b'nothing'))
    assert tally.summary()['versions'] == dict(v7=dict(count=1, first=1.0, last=1.0))
    whole = _probe.ProbeTally(START, version_regex='v[0-9]+')
    whole.add(res(1.0, version=None, body=b'running v12 now'))
    assert list(whole.summary()['versions']) == ['v12']


def test_first_and_last_version_follow_the_request_starts_not_the_arrival():
    tally = _probe.ProbeTally(START)
    tally.add(res(3.0, version='v2'))
    tally.add(res(1.0, version='v1'))
    tally.add(res(2.0, version=None))
    out = tally.summary()
    assert (out['first_version'], out['last_version']) == ('v1', 'v2')


def test_sensitivity_of_an_even_timeline():
    starts = [i * 0.005 for i in range(1, 200)]                   # every 5 ms over 1 s
    seen = _probe.sensitivity(starts, 0.0, 1.0)
    assert seen['certain'] == pytest.approx(0.005)
    assert seen['likely'] == pytest.approx(0.005 - 0.01 / 200, abs=1e-4)


def test_sensitivity_counts_a_stall_as_a_gap_where_it_was():
    starts = [i * 0.005 for i in range(1, 100)] + [0.8 + i * 0.005 for i in range(40)]
    seen = _probe.sensitivity(starts, 0.0, 1.0)
    assert seen['certain'] == pytest.approx(0.305) and seen['at'] == pytest.approx(0.495)
    # A random 1% of the run may fall into the gap: the 99% figure is the gap minus 10 ms.
    assert seen['likely'] == pytest.approx(0.305 - 0.01, abs=1e-6)


def test_sensitivity_counts_the_edges_and_nothing_outside():
    seen = _probe.sensitivity([5.0, 0.5, 0.6], 0.0, 1.0)
    assert seen['certain'] == pytest.approx(0.5) and seen['at'] == 0.0
    assert _probe.sensitivity([], 0.0, 1.0) == dict(certain=None, at=None, likely=None)


def test_the_tally_reports_the_sensitivity_for_all_and_for_fresh_clients():
    tally = _probe.ProbeTally(START)
    for i in range(1, 100):
        tally.add(res(i * 0.01 + 0.01, latency=0.01, fresh=bool(i % 2)))
    seen = tally.summary(end=START + 1.0)['sensitivity']
    assert seen['certain_ms'] == pytest.approx(10.0, abs=0.01)
    assert seen['fresh_certain_ms'] == pytest.approx(20.0, abs=0.01)
    assert seen['certainty'] == 0.99 and seen['likely_ms'] <= seen['certain_ms']


V = dict(v1=dict(count=5, first=0.1, last=2.0), v2=dict(count=5, first=1.5, last=3.0))


@pytest.mark.parametrize('versions, first, last, old, new, problems', [
    (V, 'v1', 'v2', 'v1', 'v2', []),
    (V, 'v1', 'v2', None, None, []),
    (V, 'v1', 'v1', 'v1', 'v2', []),                     # a rolling restart: the old one answers last
    (dict(v2=V['v2']), 'v2', 'v2', 'v1', 'v2',
     ['the old version v1 never answered (the probe did not see the deploy from its beginning)']),
    (V, 'v2', 'v2', 'v1', None,
     ['the first answer came from v2, not from the old version v1 (the probe started after the '
      'deploy had begun)']),
    (dict(v1=V['v1']), 'v1', 'v1', 'v1', 'v2',
     ['the new version v2 never answered (the probe stopped before the new version served)']),
    (dict(v1=dict(count=1, first=2.0, last=2.0), v2=dict(count=1, first=1.0, last=1.0)), 'v2', 'v1',
     None, 'v2', []),
    (dict(v1=V['v1'], v2=dict(count=1, first=0.05, last=0.05)), 'v1', 'v1', 'v1', 'v2',
     ['the new version v2 answered only before the old version v1 (last 0.050s, old first 0.100s)']),
    (dict(v1=V['v1']), 'v1', 'v1', 'v1', 'v1', []),      # the same version again
])
def test_version_problems(versions, first, last, old, new, problems):
    assert _probe.version_problems(versions, first, last, old, new) == problems


@pytest.mark.parametrize('stopped_by, stop_file, problem', [
    ('stop_file', '/s', None),
    ('duration', None, None),
    ('max_requests', None, None),
    ('duration', '/s', 'it was stopped by the duration (600s) before the stop file appeared, so the '
                       'end of the deploy was not watched'),
    ('max_requests', '/s', 'it was stopped by max_requests before the stop file appeared, so the '
                           'end of the deploy was not watched'),
])
def test_stop_problem(stopped_by, stop_file, problem):
    assert _probe.stop_problem(stopped_by, stop_file, 600) == problem


@pytest.mark.parametrize('given, text', [
    (dict(rate=-1), 'rate must be at least 0, got -1'),
    (dict(fresh_clients=-1), 'fresh_clients must be at least 0, got -1'),
    (dict(latency_limit=-0.5), 'latency_limit must be at least 0, got -0.5'),
    (dict(max_gap=-1), 'max_gap must be at least 0, got -1'),
    (dict(version_regex='('), "version_regex '(' is not a regular expression: "),
])
def test_prepare_judges_the_new_options(given, text):
    with pytest.raises(_probe.ProbeInputError) as raised:
        _probe.prepare(params(**given))
    assert str(raised.value).startswith(text)


def test_a_stop_file_probe_stopped_by_the_duration_fails():
    world = World()
    out, _warnings = run(world, FakeLoad([res(0.1)]), stop_file='/tmp/zdt.stop', duration=1)
    p = params(stop_file='/tmp/zdt.stop', duration=1, max_gap=0)
    assert _probe.verdict(out, p) == ['it was stopped by the duration (1s) before the stop file '
                                      'appeared, so the end of the deploy was not watched']


@pytest.mark.parametrize('given, fresh', [
    (dict(), 4),
    (dict(concurrency=1), 0),
    (dict(concurrency=5), 2),
    (dict(fresh_clients=0), 0),
    (dict(fresh_clients=12), 8),
    (dict(fresh_clients=1, keepalive=False), 8),
])
def test_fresh_clients(given, fresh):
    assert _probe.fresh_clients(params(**given)) == fresh


def test_the_timeline_ends_where_the_probe_could_still_start_requests():
    # max_requests: the last start ends it (the probe noticed 0.1 s later, no gap for that);
    # duration: the deadline; the stop file: the moment it was seen.
    results = [res(0.01 * i, latency=0.001) for i in range(1, 11)]
    world = World()
    out, _warnings = run(world, FakeLoad(results, done_after=1), max_requests=10, duration=60)
    assert out['stopped_by'] == 'max_requests'
    assert out['sensitivity']['certain_ms'] == pytest.approx(10.0, abs=0.01)
    world = World()
    out, _warnings = run(world, FakeLoad(results), duration=0.3)
    assert out['sensitivity']['certain_ms'] == pytest.approx(201.0, abs=0.01)
    world = World()
    world.files['/s'] = START + 0.45
    out, _warnings = run(world, FakeLoad(results), stop_file='/s', duration=60)
    assert out['sensitivity']['certain_ms'] == pytest.approx(401.0, abs=0.01)
