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
import os
import sys
import time

import pytest

from harness import longlived, report

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
