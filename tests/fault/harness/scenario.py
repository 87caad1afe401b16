# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One kill scenario end to end, under load: deploy the other version, kill it at the point, let
the service run on its own for a moment, run the same deploy again, and judge the result -
zero failed requests (our load, and wrk and ab beside it: harness/judges.py), the load running
across the kill, the run really killed, the held request answered, the re-run successful and
converged."""

import signal
import time

import pytest

from harness import convergence, judges, report
from harness.killpoints import kill_at
from harness.load import MAX_SECONDS, BackgroundLoad, across
from harness.services import RUN_TIMEOUT, other

# Seconds the killed deploy's leftovers serve alone before the re-run starts.
ALONE = 1.0
# A graceful stop begun before the kill goes on in the engine (up to the stop timeout); the re-run
# comes after it, as an operator's would.
SETTLE = 30.0
TOOK_OVER = 'Took over the deploy lock'


class Outcome(object):
    def __init__(self, point, kill, rerun, load, problems, coverage, judged):
        self.point = point
        self.kill = kill
        self.rerun = rerun
        self.load = load
        self.problems = problems
        self.coverage = coverage
        self.judged = judged
        self.held = kill.held.outcome() if kill.held is not None else None

    def lock(self):
        took_over = [w for w in self.rerun.warnings() if TOOK_OVER in w]
        if took_over:
            return 'taken over at once: ' + took_over[0].split(' from ', 1)[-1]
        if 'hotswap-lock' in self.kill.state:
            return 'left behind, not taken over'
        return 'none (no module was running)'

    def row(self):
        failure = self.rerun.final_failure()
        return dict(
            seq=self.point.seq, id=self.point.id, at=self.point.where(), killed=len(self.kill.run.killed_pids),
            state=self.kill.state if self.point.boundary else '%s: %s' % (self.kill.seen, self.kill.state),
            failed='%d of %d%s' % (self.load['failed'], self.load['requests'],
                                   (' ' + '; '.join(self.load['first_failures'])) if self.load['failed'] else ''),
            around=', '.join('%s %d' % item for item in self.load.get('around', {}).items()),
            judges='; '.join(judges.describe(judged) for judged in self.judged),
            held=self.held or '-',
            rerun=('ok in %ss' % self.rerun.elapsed) if self.rerun.rc == 0 else
            'rc %s: %s' % (self.rerun.rc, failure['msg'] if failure else self.rerun.tail(5)),
            lock=self.lock(),
            converged='yes' if not self.problems else 'NO: ' + '; '.join(self.problems))

    def verdict(self):
        """Every broken promise, for one assertion message."""
        broken = []
        if self.kill.run.rc != -signal.SIGKILL:
            broken.append('the run was not killed: it ended with rc %s' % self.kill.run.rc)
        if self.load['failed']:
            broken.append('%d requests failed: %s' % (self.load['failed'], self.load['first_failures']))
        broken += self.coverage
        broken += ['second judge: %s' % text for text in judges.problems(self.judged)]
        if self.held not in (None, 'ok'):
            broken.append('the request held across the kill failed: %s' % self.held)
        if self.rerun.rc != 0:
            broken.append('the re-run failed: %s' % self.row()['rerun'])
        if self.problems:
            broken.append('not converged: %s' % '; '.join(self.problems))
        return broken


def _wait_retired(service):
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline and any(
            name.endswith('-previous') and seen.status == 'running'
            for name, seen in convergence.service_containers(service.docker, service.name).items()):
        time.sleep(0.1)


def kill_and_rerun(service, point):
    service.ensure()
    version = other(service.version)
    second = judges.Judges(service.url, service.workdir / ('judges-%d' % service.runs), MAX_SECONDS)
    with second, BackgroundLoad(service.url) as load:
        load.wait_for_requests()
        kill = kill_at(service, point, version)
        if kill.held is not None:
            kill.held.outcome()
        _wait_retired(service)
        time.sleep(ALONE)
        rerun = service.run('rerun-' + point.id, version)
        rerun.run(RUN_TIMEOUT)
    coverage = across(load, kill=kill.at, **{'re-run start': rerun.started})
    outcome = Outcome(point, kill, rerun, load.stop(), service.problems(version), coverage, second.stop())
    if not outcome.problems:
        service.version = version
    report.KILL_POINTS.add(outcome.row())
    return outcome


# Signatures of the known defects (tables/defects.py) in a verdict, for random kill points.
# None is known at present: a random kill point's failure is a failure. Entries: (text, defect).
KNOWN = ()


def known_defects(outcome):
    """The known defects a failed outcome shows, when users saw nothing wrong (no failed request,
    the held request answered): convergence problems are then put down to them. None otherwise."""
    if outcome.load['failed'] or outcome.held not in (None, 'ok'):
        return None
    text = ' '.join(outcome.verdict())
    return sorted(set(defect for signature, defect in KNOWN if signature in text)) or None


def assert_survives(service, point, known=False):
    """The test body of every kill point. ``known``: a failure that only shows known defects is
    an xfail (random points, whose outcome cannot be a strict xfail)."""
    outcome = kill_and_rerun(service, point)
    broken = outcome.verdict()
    if broken and known and known_defects(outcome):
        pytest.xfail('known defect(s): %s' % ' | '.join(known_defects(outcome)))
    assert not broken, '%s: %s' % (point.where(), ' | '.join(broken))
