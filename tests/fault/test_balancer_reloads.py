# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A balancer reloaded or restarted at a phase of a deploy, under load (issue #14).

Each case deploys the other version with the collection's role (blue_green or rolling_restart)
behind a strict front (HAProxy, Apache, nginx or Caddy), and reloads or restarts that front once,
at the phase the case names (harness/reloads.py: Trigger). What must hold:
- the deploy converges, or fails with a message that names the balancer and what it found;
- no request fails that a balancer which stays up would have served: a failed request counts
  against us unless it overlaps the balancer's own window - from the reload or restart until the
  front answers again, plus a second (reloads.GRACE) - where it is the balancer's, counted apart;
  nginx and Caddy close idle keep-alive client connections at every reload (the deploy's own
  changes too): a request that meets one is counted apart as well (CLOSES_KEEPALIVE);
- the reload or restart really happened during the deploy.

The reloads are what config management does: HAProxy SIGUSR2, ``apache2ctl -k graceful``,
``nginx -s reload``, ``caddy reload --config`` of Caddy's configuration file (a POST /load of the
file: the admin API's changes are replaced by the file's configuration); a restart is the
front's container restarted.

Phases (what the trigger waits for on the balancer, read without the collection's adapters):
- blue_green 'switch': the candidate's member entered rotation;
- blue_green 'drain':  the old member left rotation, a slow request still in flight on it;
- blue_green 'retire': the old member left rotation, nothing in flight: the deploy goes straight
  on to retire the old container (a re-check, the stop, a last look - together well under a
  second since the stop releases idle connections, so the trigger fires at once);
- rolling 'drain':     a member left rotation, a slow request in flight;
- rolling 'replace':   a member has been out of rotation for REPLACE_AFTER seconds: its
  container is being replaced;
- rolling 'enable':    a member that was out is back in rotation (the weight ramp, with HAProxy).

Default (CI): 8 cases for HAProxy and Apache each (blue_green drain/retire, rolling drain/enable,
each reloaded and restarted), 4 for nginx (rolling; blue_green with nginx is the shared-port
strategy, no balancer member), 4 for Caddy (DEFAULT_ONLY: each phase and each action once).
SLOW=1 adds the 'switch' and 'replace' phases, every pair for Caddy, and repeats every case
(ZDT_RELOAD_REPEAT, default 3 with SLOW; more where a balancer would have fewer than
MIN_SLOW_CASES): 36 HAProxy + 36 Apache + 24 nginx + 36 Caddy cases.
"""

import os
import time

import pytest

from harness import report
from harness.load import across
from harness.reloads import (
    AttributingLoad, BackInRotation, BlueGreenBehind, OutFor, RollingBehind, Trigger, any_out, candidate_enabled,
    old_out,
)
from harness.services import RUN_TIMEOUT, VERSIONS, other

PORT_BASE = 18800
# (front port, member ports) of each service: their own block in 18800-18829 (nothing else in
# tests/, molecule/ or bench/ uses 18800-18859; tests/ssh starts at 18860).
LAYOUT = {
    ('haproxy', 'blue_green'): (18800, {'blue': 18801, 'green': 18802}),
    ('haproxy', 'rolling'): (18803, {'b1': 18804, 'b2': 18805, 'b3': 18806}),
    ('apache', 'blue_green'): (18807, {'blue': 18808, 'green': 18809}),
    ('apache', 'rolling'): (18810, {'b1': 18811, 'b2': 18812, 'b3': 18813}),
    ('nginx', 'rolling'): (18814, {'b1': 18815, 'b2': 18816, 'b3': 18817}),
    ('caddy', 'blue_green'): (18818, {'blue': 18819, 'green': 18820}),
    ('caddy', 'rolling'): (18821, {'b1': 18822, 'b2': 18823, 'b3': 18824}),
}
# Slow requests kept in flight through the front during the drain phases (two at a time): the old
# member always has some when it leaves rotation, so the drain lasts up to SLOW_MS.
SLOW_MS = 1500
# HAProxy's checks take a member out after fall x inter (fronts.SERVER: 2 x 500 ms), plus slack.
CHECKS_SETTLE = 2.5
# Words of a failure message that names the balancer and what it found.
NAMES_BALANCER = ('HAProxy runtime API', 'balancer-manager at ', 'nginx (', 'Caddy admin API at ')
# Balancers whose every reload (the deploy's own changes too) closes idle keep-alive client
# connections: a client that sends on one at that moment sees it closed. Counted apart.
CLOSES_KEEPALIVE = ('nginx', 'caddy')
# rolling 'replace': how long a member has been out of rotation when the trigger fires.
REPLACE_AFTER = 0.5

PHASES = {'blue_green': ['drain', 'retire'], 'rolling': ['drain', 'enable']}
SLOW_PHASES = {'blue_green': ['switch'], 'rolling': ['replace']}
# The default run (CI) keeps Caddy to one case per phase and per action and strategy, not every pair.
DEFAULT_ONLY = {'caddy': [('blue_green', 'drain', 'reload'), ('blue_green', 'retire', 'restart'),
                          ('rolling', 'drain', 'restart'), ('rolling', 'enable', 'reload')]}
# SLOW=1: each case repeated ZDT_RELOAD_REPEAT times (default 3), more where a balancer would
# otherwise have fewer than this many cases.
MIN_SLOW_CASES = 20


def _cases(slow, repeat):
    cases = []
    for balancer in sorted(set(b for b, s in LAYOUT)):
        one_round = []
        for strategy in sorted(s for b, s in LAYOUT if b == balancer):
            for phase in PHASES[strategy] + (SLOW_PHASES[strategy] if slow else []):
                for action in ('reload', 'restart'):
                    if slow or balancer not in DEFAULT_ONLY or (strategy, phase, action) in DEFAULT_ONLY[balancer]:
                        one_round.append((strategy, phase, action))
        rounds = max(repeat, -(-MIN_SLOW_CASES // len(one_round))) if slow else repeat
        for strategy, phase, action in one_round:
            for round_ in range(rounds):
                cases.append(pytest.param(balancer, strategy, phase, action, id='%s-%s-%s-%s-%d' % (
                    balancer, strategy, phase, action, round_ + 1)))
    return cases


SLOW = os.environ.get('SLOW', '') in ('1', 'yes', 'true')
CASES = _cases(SLOW, int(os.environ.get('ZDT_RELOAD_REPEAT', '3' if SLOW else '1')))


@pytest.fixture(scope='module')
def reload_services(engine, tmp_path_factory):
    made = {}

    def get(balancer, strategy):
        key = (balancer, strategy)
        if key not in made:
            front_port, members = LAYOUT[key]
            workdir = tmp_path_factory.mktemp('reload-%s-%s' % key)
            name = 'zdt-fault-rl-%s-%s' % (balancer[:2], strategy[:2])
            front = ('zdt-fault-rl-front-%s-%s' % (balancer[:2], strategy[:2]), front_port)
            cls = BlueGreenBehind if strategy == 'blue_green' else RollingBehind
            service = cls(balancer, engine, name, workdir, front, members)
            made[key] = service
            service.front.start()
            service.deploy(VERSIONS[0], 'first')
        return made[key]
    yield get
    for service in made.values():
        service.remove()
        service.front.remove()


def _trigger(service, strategy, phase, action):
    if strategy == 'blue_green':
        active = service.active_slot()
        if phase == 'switch':
            return Trigger(service.front, action, candidate_enabled(active))
        return Trigger(service.front, action, old_out(active))
    if phase == 'drain':
        return Trigger(service.front, action, any_out)
    if phase == 'replace':
        return Trigger(service.front, action, OutFor(REPLACE_AFTER))
    return Trigger(service.front, action, BackInRotation())


def _names_balancer(msg):
    return any(word in msg for word in NAMES_BALANCER)


@pytest.mark.parametrize('balancer, strategy, phase, action', CASES)
def test_balancer_reload_or_restart_mid_deploy(reload_services, balancer, strategy, phase, action):
    service = reload_services(balancer, strategy)
    service.ensure()
    version = other(service.version)
    trigger = _trigger(service, strategy, phase, action)
    slow = AttributingLoad(service.url + 'slow?ms=%d' % SLOW_MS, concurrency=2, pause=0.0) \
        if phase in ('drain', 'switch') else None
    with AttributingLoad(service.url) as load:
        if slow is not None:
            slow.__enter__()
        load.wait_for_requests()
        trigger.start()
        run = service.run('%s-%s-%s' % (strategy, phase, action), version)
        run.run(RUN_TIMEOUT)
        trigger.stop()
        load.wait_past(run)
        if slow is not None:
            slow.stop()
    coverage = across(load, **{'deploy start': run.started, 'deploy end': run.ended})
    summary = load.stop()
    slow_summary = slow.stop() if slow is not None else dict(requests=0)
    ours, theirs = load.split(trigger.window(), *([slow] if slow is not None else []))
    # nginx and Caddy: every reload - the deploy's own (each drain and enable is one, each Caddy
    # admin-API change too) as well as the fault's - closes idle keep-alive client connections, and
    # a client that sends on one at that moment sees it closed (ENVIRONMENT.md; README: the
    # front these balancers want; docs/balancer-reloads.md). Counted apart, never hidden.
    closed = [what for what in ours if balancer in CLOSES_KEEPALIVE and what.startswith('closed ')]
    ours = [what for what in ours if what not in closed]
    failure = run.final_failure()
    problems = service.problems(version) if run.rc == 0 else []
    retired_back = []
    if phase == 'retire' and problems:
        # A reload after the deploy's last look at the balancer (the module looks once more after
        # the old container is gone) returns the retired member to rotation: no module can see
        # it. Acceptable only once the balancer's own checks take it out of service (HAProxy:
        # DOWN after fall x inter); any request it lost is counted above.
        retired_back = _down_by_checks(service, problems)
        problems = [p for p in problems if p not in retired_back]
    if run.rc == 0 and not problems:
        service.version = version
    reasserted = run_reassertions(run)
    restarts = sum(len(event.get('restarts') or []) for event in run.results('ok') + run.results('failed'))
    report.RELOADS.add(dict(
        seq=time.time(), case='%s %s %s %s' % (balancer, strategy, phase, action),
        requests=summary['requests'] + slow_summary['requests'],
        ours=len(ours), balancer=len(theirs), closed=len(closed), reasserted=reasserted, restarts=restarts,
        deploy='ok' if run.rc == 0 else 'rc %s: %s' % (run.rc, ' '.join(
            [(failure or {}).get('msg') or run.tail(3)] + list((failure or {}).get('item_msgs') or []))[:400]),
        window='-' if trigger.fired is None else '%.2f s' % (trigger.window()[1] - trigger.window()[0]),
        converged=('yes' if not problems else 'NO: ' + '; '.join(problems))
        + (' (after: %s, DOWN by its checks)' % '; '.join(retired_back) if retired_back else '')))

    broken = []
    if trigger.error:
        broken.append('the trigger failed: %s' % trigger.error)
    if trigger.fired is None:
        broken.append('the %s never happened (the phase was not seen)' % action)
    elif not run.started <= trigger.fired <= run.ended:
        broken.append('the %s was not during the deploy' % action)
    if ours:
        broken.append('%d request(s) failed outside the balancer\'s own window: %s' % (len(ours), ours[:5]))
    said = ' '.join([(failure or {}).get('msg') or ''] + list((failure or {}).get('item_msgs') or []))
    if run.rc != 0 and not _names_balancer(said):
        broken.append('the deploy failed without naming the balancer: %s' % ((failure or {}).get('msg') or run.tail(5)))
    if problems:
        broken.append('not converged: %s' % '; '.join(problems))
    broken += coverage
    assert not broken, '%s %s %s %s: %s' % (balancer, strategy, phase, action, ' | '.join(broken))


def _down_by_checks(service, problems):
    """The problems 'HAProxy <member> is enabled' whose member HAProxy's checks mark DOWN within
    CHECKS_SETTLE seconds (a restarted HAProxy starts its servers UP until the checks fail)."""
    deadline = time.monotonic() + CHECKS_SETTLE
    while True:
        servers = service.front.servers()
        down = [p for p in problems if any(p.startswith('HAProxy %s is enabled' % name) and not s['up']
                                           for name, s in servers.items())]
        if len(down) == len(problems) or time.monotonic() > deadline:
            return down
        time.sleep(0.2)


def run_reassertions(run):
    """Re-assertions the deploy's tasks reported, from its JSON events."""
    return sum(len(event.get('reasserted') or []) for event in run.results('ok') + run.results('failed'))
