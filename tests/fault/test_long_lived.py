# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-lived connections (websockets, server-sent events) held across deploys, for every
strategy and balancer: each role's deploys run as the benchmark's playbooks do them
(bench/playbooks: the same fronts, strict, on the real engine), while harness/longlived.py holds
websocket and event-stream clients open on the public port and reconnects them after every end.

Each connection ends by the client, is closed cleanly by the server (close frame, end of stream)
or is cut. The test asserts that none was cut - or, where the balancer itself cuts them, at most
the bound written in CUT_ALLOWED with its reason and the number measured - that connections were
held across every swap, and that the deploys succeeded. The table: report.LONG_LIVED.

The clients keep each connection CLIENT_LIFETIME seconds at most (a session, a long poll), so
that a drain that waits for them ends; what happens to connections that never end, at the
deadline, is test_drain_deadline's (container_hotswap's on_drain_timeout).
"""

import collections
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _traffic
from harness import convergence, longlived, report
from harness.fronts import HaproxyFront
from harness.load import BackgroundLoad

BENCH_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'bench')
if BENCH_DIR not in sys.path:
    sys.path.insert(0, BENCH_DIR)

from zdtbench.playbook import PlaybookStrategy  # noqa: E402  (needs the path above)
from zdtbench.strategy import BenchEnv  # noqa: E402

TAG = 'll'
PORT_BASE = 18790
# The load's port, then the backends' (the nginx rolling restart's balancer takes PORT_BASE + 1).
ENV = BenchEnv(port=PORT_BASE, backend_ports=tuple(range(PORT_BASE + 3, PORT_BASE + 10)),
               images={'v1': 'zerodowntime-test/app:v1', 'v2': 'zerodowntime-test/app:v2'},
               prefix='zdt-fault-ll-', backends=3)
WS, SSE = 6, 6
CLIENT_LIFETIME = (4.0, 10.0)
SWAPS = 2
PAUSE = 3.0

Case = collections.namedtuple('Case', 'id playbook role')
CASES = [
    Case('blue_green-reuseport', 'blue_green_reuseport.yml', 'blue_green'),
    Case('blue_green-nginx', 'blue_green_nginx.yml', 'blue_green'),
    Case('blue_green-haproxy', 'blue_green_haproxy.yml', 'blue_green'),
    Case('blue_green-apache', 'blue_green_apache.yml', 'blue_green'),
    Case('rolling_restart-haproxy', 'rolling_restart_haproxy.yml', 'rolling_restart'),
    Case('rolling_restart-apache', 'rolling_restart_apache.yml', 'rolling_restart'),
    Case('rolling_restart-nginx', 'rolling_restart_nginx.yml', 'rolling_restart'),
]
# Cuts a balancer makes itself, measured, with the reason: {case id: (bound, why)}.
CUT_ALLOWED = {}


def held_totals(summary):
    """Sum of the per-swap held counts."""
    total = collections.Counter()
    for held in summary['held']:
        total.update(dict((key, held[key]) for key in ('open',) + longlived.OUTCOMES))
    return total


@pytest.mark.parametrize('case', CASES, ids=[case.id for case in CASES])
def test_long_lived_connections_across_deploys(case):
    strategy = PlaybookStrategy(case.id, case.playbook, role=case.role)
    strategy.setup(ENV)
    deploy = 'ok'
    swaps = []
    try:
        with longlived.LongLived(ENV.url, ws=WS, sse=SSE, lifetime=CLIENT_LIFETIME) as load:
            assert load.wait_open(), 'the clients could not open their connections: %s' % load.summary()
            time.sleep(CLIENT_LIFETIME[0])
            try:
                swaps = strategy.run_swaps(ENV.swap_specs(SWAPS), PAUSE)
            except Exception as exc:         # the table shows it; the assertion below fails on it
                deploy = 'FAILED: %s' % exc
            time.sleep(1.0)
            load.stop()
    finally:
        strategy.teardown()
    summary = load.summary([swap.start for swap in swaps])
    held = held_totals(summary)
    bound, why = CUT_ALLOWED.get(case.id, (0, '-'))
    report.LONG_LIVED.add(dict(
        seq=CASES.index(case), id=case.id, swaps=len(swaps), held=held['open'], client=held[longlived.CLIENT],
        clean=held[longlived.CLEAN], cut=summary['cut'], allowed='%d (%s)' % (bound, why) if bound else '0',
        connections=summary[longlived.WS]['connections'] + summary[longlived.SSE]['connections'],
        failed_connects='%d %s' % (summary['failed_connects'], summary['first_failed_connects'][:3]),
        details='ws %s; sse %s' % (summary[longlived.WS]['details'], summary[longlived.SSE]['details']),
        deploy=deploy))
    assert deploy == 'ok', deploy
    assert len(swaps) >= SWAPS, 'only %d swaps reported' % len(swaps)
    assert all(one['open'] for one in summary['held']), \
        'a swap started with no long-lived connection open: %s' % summary['held']
    assert summary['cut'] <= bound, '%d long-lived connections cut (allowed %d): %s' % (
        summary['cut'], bound, summary['first_cuts'])
    assert summary['failed_connects'] == 0, 'connections could not be opened: %s' % summary['first_failed_connects']


# ---------------------------------------------------------------- balancers, directly
APP_PORTS = {'blue': PORT_BASE + 3, 'green': PORT_BASE + 4}
APP_VERSIONS = {'blue': 'v1', 'green': 'v2'}
CADDY_CONFIG = {
    'admin': {'listen': 'unix//run/caddy/admin.sock'},
    'apps': {'http': {'servers': {'web': {'listen': ['127.0.0.1:%d' % PORT_BASE], 'routes': [{'handle': [{
        '@id': 'app', 'handler': 'reverse_proxy', 'flush_interval': -1,
        'upstreams': [{'dial': '127.0.0.1:%d' % port} for port in sorted(APP_PORTS.values())]}]}]}}}},
}


@pytest.fixture
def apps(engine):
    """blue (v1) and green (v2) of the test app on their own ports, removed after the test."""
    started = {}
    try:
        for slot, port in sorted(APP_PORTS.items()):
            started[slot] = engine.containers.run(
                'zerodowntime-test/app:%s' % APP_VERSIONS[slot], name='zdt-fault-ll-%s' % slot, detach=True,
                network_mode='host', environment={'APP_PORT': str(port), 'APP_HOST': '127.0.0.1'})
        _wait_answer('http://127.0.0.1:%d/health' % APP_PORTS['blue'])
        _wait_answer('http://127.0.0.1:%d/health' % APP_PORTS['green'])
        yield started
    finally:
        for container in started.values():
            convergence.remove(engine, container.id)


def _wait_answer(url, timeout=30.0):
    client = _traffic.Client(timeout=1.0, keepalive=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.request(_traffic.Target(url)).outcome == _traffic.OK:
            return
        time.sleep(0.1)
    raise AssertionError('%s did not answer 200 within %ss' % (url, timeout))


def _haproxy_stat(front, server):
    """(scur, stot) of app/<server> from the runtime API's 'show stat' CSV."""
    lines = front.command('show stat').splitlines()
    header = lines[0].lstrip('# ').split(',')
    for line in lines[1:]:
        row = dict(zip(header, line.split(',')))
        if row.get('pxname') == 'app' and row.get('svname') == server:
            return int(row['scur']), int(row['stot'])
    raise AssertionError('no server app/%s in show stat' % server)


def test_haproxy_drain_under_keepalive_load(engine, apps, tmp_path):
    """haproxy#1236 (idle keep-alive connections stay bound to a server taken out of rotation):
    under keep-alive load, drain blue by the runtime API, watch how many requests HAProxy still
    sends it, then stop it gracefully. No request may fail, and the drained server must get no
    new request once those in flight at the drain are done."""
    front = HaproxyFront(engine, 'zdt-fault-ll-haproxy', PORT_BASE, {'app': APP_PORTS}, tmp_path).start()
    try:
        _wait_answer(front.url)
        with BackgroundLoad(front.url, concurrency=8, pause=0.005) as load:
            load.wait_for_requests(400)
            front.command('set server app/blue state drain')
            drained_at = time.monotonic()
            at_drain = _haproxy_stat(front, 'blue')
            seen = []
            while time.monotonic() < drained_at + 5.0:
                seen.append((round(time.monotonic() - drained_at, 2),) + _haproxy_stat(front, 'blue'))
                time.sleep(0.05)
            apps['blue'].stop(timeout=30)
            stopped_at = time.monotonic()
            load.wait_for_requests(400, since=stopped_at)
        result = load.stop()
    finally:
        front.remove()
    after = [stot - at_drain[1] for dummy, dummy2, stot in seen]
    last_new = max([t for (t, dummy, stot) in seen if stot > at_drain[1]] or [0.0])
    print('haproxy drain under keep-alive load: %d requests (%d failed); blue at the drain scur %d; '
          'sessions blue got after the drain %d, the last at +%.2f s; around %s'
          % (result['requests'], result['failed'], at_drain[0], after[-1], last_new,
             load.tally.around(drained_at, stopped_at)))
    assert result['failed'] == 0, result['first_failures']
    assert after[-1] <= at_drain[0], 'HAProxy sent %d new requests to the drained server (%s)' % (after[-1], seen)


def _balancer_member(admin_socket, **members):
    """One balancer_member run against the Caddy front (ad hoc, as an operator would)."""
    args = dict(balancer='caddy', caddy_admin='unix/%s' % admin_socket, backend='app', poll_interval=0.1,
                drain_timeout=1, on_drain_timeout='proceed',
                members=[dict(name='127.0.0.1:%d' % APP_PORTS[slot], state=state) for slot, state in members.items()])
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-c', 'local',
                           '-m', 'zerodowntime.deploy.balancer_member', '-a', json.dumps(args)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


# Caddy 2.6 reloads its whole configuration on every admin-API change, and the old configuration's
# reverse_proxy ends what streams through it, on every upstream, changed or not (caddy#5471;
# stream_close_delay came with 2.7): an event stream gets the chunked end, a websocket a close
# frame 1001 - or is cut (end of file without a close frame). Measured, 4 changes with 6 + 6
# connections open at each, two runs: websockets cut 1 of 24 and 6 of 24 (all six at one change);
# event streams 0 of 24 cut both times.
CADDY_CHANGES = 4
CADDY_CUT_ALLOWED = CADDY_CHANGES * WS


def test_caddy_member_changes_end_long_lived_connections(engine, apps, tmp_path):
    """Caddy as the balancer: every member change ends every long-lived connection open through
    it, changed member or not. Asserts what was measured: each connection open at a change was
    ended by the server, no event stream was cut, websockets at most all of them at every change."""
    run_dir = tmp_path / 'run'
    run_dir.mkdir()
    config = tmp_path / 'caddy.json'
    config.write_text(json.dumps(CADDY_CONFIG))
    caddy = engine.containers.run('zerodowntime-test/caddy', name='zdt-fault-ll-caddy', detach=True, network_mode='host',
                                  volumes={str(config): {'bind': '/etc/caddy/caddy.json', 'mode': 'ro'},
                                           str(run_dir): {'bind': '/run/caddy', 'mode': 'rw'}})
    changes = []
    try:
        _wait_answer('http://127.0.0.1:%d/health' % PORT_BASE)
        with longlived.LongLived('http://127.0.0.1:%d' % PORT_BASE, ws=WS, sse=SSE) as load:
            assert load.wait_open()
            time.sleep(1.0)
            for number in range(CADDY_CHANGES):
                changes.append(time.monotonic())
                _balancer_member(str(run_dir / 'admin.sock'),
                                 blue='drained' if number % 2 == 0 else 'enabled', green='enabled')
                time.sleep(2.0)
            load.stop()
    finally:
        convergence.remove(engine, caddy.id)
    summary = load.summary(changes)
    print('caddy: %d member changes; held at each: %s; ws %s; sse %s'
          % (CADDY_CHANGES, summary['held'], summary[longlived.WS], summary[longlived.SSE]))
    assert all(one['open'] == WS + SSE and one['clean'] + one['cut'] == one['open'] for one in summary['held']), \
        'Caddy did not end every long-lived connection open at a change: %s' % summary['held']
    assert summary[longlived.SSE][longlived.CUT] == 0, summary['first_cuts']
    assert summary[longlived.WS][longlived.CUT] <= CADDY_CUT_ALLOWED, summary['first_cuts']
    assert summary['failed_connects'] == 0, summary['first_failed_connects']


# ---------------------------------------------------------------- the drain deadline
DEADLINE_SERVICE = 'zdt-fault-ll-deadline'
DRAIN_TIMEOUT = 3


def _module(module, args, timeout=240):
    """One module run, ad hoc on localhost as an operator would start it: (rc, result dict)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-c', 'local',
                           '-m', module, '-a', json.dumps(args)], capture_output=True, text=True, timeout=timeout, env=env,
                          check=False)
    try:
        result = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
    except (ValueError, KeyError, IndexError):
        raise AssertionError('%s: no result (rc %s): %s %s' % (module, proc.returncode, proc.stdout[-2000:],
                                                               proc.stderr[-2000:]))
    return proc.returncode, result


class Fronted(object):
    """The deadline tests' balancer in front of the slots blue and green: HAProxy (runtime API) or
    Apache (balancer-manager), and the connection options container_hotswap needs for it."""

    def __init__(self, engine, kind, workdir):
        self.kind = kind
        self.url = 'http://127.0.0.1:%d/' % PORT_BASE
        if kind == 'haproxy':
            self.front = HaproxyFront(engine, 'zdt-fault-ll-haproxy', PORT_BASE, {'app': APP_PORTS}, workdir).start()
            self.entry = dict(balancer='haproxy', backend='app', members=dict(blue='blue', green='green'),
                              connection=dict(haproxy_socket=self.front.socket, poll_interval=0.1))
            self.remove = self.front.remove
        else:
            container = engine.containers.run(
                'zerodowntime-test/apache', name='zdt-fault-ll-apache', detach=True, network_mode='host',
                environment=dict(APACHE_LISTEN='127.0.0.1:%d' % PORT_BASE,
                                 APACHE_BLUE='http://127.0.0.1:%d' % APP_PORTS['blue'],
                                 APACHE_GREEN='http://127.0.0.1:%d' % APP_PORTS['green']))
            self.entry = dict(balancer='apache', backend='app',
                              members=dict((slot, 'http://127.0.0.1:%d' % port) for slot, port in APP_PORTS.items()),
                              connection=dict(apache_url=self.url + 'balancer-manager', poll_interval=0.1))
            self.remove = lambda: convergence.remove(engine, container.id)
            _wait_answer(self.url + 'balancer-manager')


def _deploy(fronted, version, on_drain_timeout):
    return _module('zerodowntime.deploy.container_hotswap', dict(
        name=DEADLINE_SERVICE, image='zerodowntime-test/app:%s' % version, network_mode='host',
        slots=dict((slot, dict(env=dict(APP_PORT=str(port), APP_HOST='127.0.0.1'))) for slot, port in APP_PORTS.items()),
        readiness=dict(checks=[dict(type='http', url='http://127.0.0.1:${APP_PORT}/health')], timeout=30, interval=0.1),
        balancers=[fronted.entry], drain_timeout=DRAIN_TIMEOUT, on_drain_timeout=on_drain_timeout))


def _versions_served(url, count=20):
    client = _traffic.Client(timeout=5.0, keepalive=False)
    return sorted(set(client.request(_traffic.Target(url)).version for dummy in range(count)))


@pytest.mark.parametrize('balancer', ['haproxy', 'apache'])
def test_drain_deadline_fail_then_close(engine, tmp_path, balancer):
    """Websockets and event streams that never end, open on the old container at the switch.
    on_drain_timeout=fail: the deploy fails at drain_timeout, the old container keeps serving, no
    long-lived connection is closed or cut. on_drain_timeout=close: the deploy goes on, the old
    container's graceful stop closes every one of them cleanly, and long_lived counts them."""
    fronted = Fronted(engine, balancer, tmp_path)
    try:
        rc, first = _deploy(fronted, 'v1', 'fail')
        assert rc == 0, first.get('msg')
        _wait_answer(fronted.url)
        with longlived.LongLived(fronted.url, ws=WS, sse=SSE) as load:
            assert load.wait_open()
            time.sleep(1.0)
            fail_at = time.monotonic()
            rc_fail, failed = _deploy(fronted, 'v2', 'fail')
            fail_end = time.monotonic()
            served_after_fail = _versions_served(fronted.url)
            time.sleep(1.0)
            close_at = time.monotonic()
            rc_close, closed = _deploy(fronted, 'v2', 'close')
            time.sleep(2.0)
            load.stop()
        served_after_close = _versions_served(fronted.url)
    finally:
        _module('zerodowntime.deploy.container_hotswap', dict(name=DEADLINE_SERVICE, state='absent'))
        fronted.remove()
    connections, dummy = load.records()
    held_fail = longlived.held_across(connections, fail_at)
    ended_during_fail = [c for c in connections if fail_at <= c.ended < fail_end]
    held_close = longlived.held_across(connections, close_at)
    rows = dict(balancer=balancer,
                fail=dict(rc=rc_fail, msg=failed.get('msg'), long_lived=failed.get('long_lived'), held=held_fail,
                          ended_during=len(ended_during_fail), served_after=served_after_fail),
                close=dict(rc=rc_close, msg=closed.get('msg'), long_lived=closed.get('long_lived'), held=held_close,
                           timings=closed.get('timings'), served_after=served_after_close))
    print('drain deadline %s' % json.dumps(rows, indent=1, default=str))
    # fail: nothing lost, the old container serves, the candidate is gone
    assert rc_fail != 0, 'on_drain_timeout=fail with connections open: the deploy succeeded: %s' % failed
    assert 'drain_timeout' in failed.get('msg', ''), failed.get('msg')
    assert served_after_fail == ['v1'], served_after_fail
    assert held_fail['open'] == WS + SSE and not ended_during_fail, (held_fail, ended_during_fail)
    # close: the deploy succeeds, every held connection closed cleanly, counted
    assert rc_close == 0, closed.get('msg')
    assert served_after_close == ['v2'], served_after_close
    assert held_close == dict(open=WS + SSE, versions={'v1': WS + SSE}, client=0, clean=WS + SSE, cut=0), held_close
    assert closed['long_lived']['open_at_deadline'] == WS + SSE and closed['long_lived']['closed'] == WS + SSE, \
        closed['long_lived']
    assert load.summary()['cut'] == 0, load.summary()['first_cuts']
