# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deploy that must fail and roll back, under load: what it left (the old version serving,
containers and balancer as before), what users saw, and what the operator was told."""

import re

from harness import report
from harness.load import BackgroundLoad
from harness.services import RUN_TIMEOUT


class RollbackCase(object):
    """``vary(service, variables)``: the scenario's settings; ``fault``: (task, action(service),
    undo(service)) - the run is held before that task, the action injected, the run released
    (undo runs afterwards, whatever happened); ``step``: a regular expression for the step the
    failure message must name (the role's "failed at '<task>'", or the module's own step);
    ``cause``: a regular expression the message must match; ``may_fail``: outcome classes of
    requests the strategy documents as possible for this case (empty: zero failed requests;
    'status 502' allows that one status only)."""

    def __init__(self, id, kind, image, step, cause, vary=None, fault=None, may_fail=(), defect=None):
        self.id = id
        self.kind = kind
        self.image = image
        self.step = step
        self.cause = cause
        self.vary = vary
        self.fault = fault
        self.may_fail = frozenset(may_fail)
        self.defect = defect
        self.seq = 0                   # place in the report (set by the table)

    def __repr__(self):
        return self.id


class Attempt(object):
    def __init__(self, case, old_version, run, load, problems):
        self.case = case
        self.old_version = old_version
        self.run = run
        self.load = load
        self.problems = problems
        failure = run.final_failure()
        self.message = failure['msg'] if failure else None

    def row(self):
        failed = dict((k, n) for k, n in self.load['errors'].items() if n)
        return dict(seq=self.case.seq, id=self.case.id, rc=self.run.rc, message=self.message or self.run.tail(3),
                    failed='%d of %d %s' % (self.load['failed'], self.load['requests'], failed or ''),
                    left='yes' if not self.problems else 'NO: ' + '; '.join(self.problems))

    def verdict(self):
        broken = []
        if self.run.rc == 0:
            broken.append('the deploy of %s succeeded' % self.case.image)
        if not self.message or not re.search(self.case.step, self.message):
            broken.append('the message does not name the step /%s/: %r' % (self.case.step, self.message))
        elif not re.search(self.case.cause, self.message):
            broken.append('the message does not give the cause /%s/: %r' % (self.case.cause, self.message))
        unexpected = dict((k, n) for k, n in self.load['errors'].items() if n and k not in self.case.may_fail)
        # 'status 502' in may_fail: answers with status 502 (a request in flight on a server that
        # died) are allowed, any other failed status (a 503 - no member to serve) is not.
        if unexpected.get('status') and 'status 502' in self.case.may_fail:
            others = dict((code, n) for code, n in (self.load.get('statuses') or {}).items()
                          if n and code not in ('200', '502'))
            if not others:
                del unexpected['status']
        if unexpected:
            broken.append('failed requests %s (first: %s)' % (unexpected, self.load['first_failures']))
        if self.problems:
            broken.append('%s is not left as it was: %s' % (self.old_version, '; '.join(self.problems)))
        return broken


def attempt(service, case):
    """Deploy ``case.image`` under load; returns an Attempt."""
    service.ensure()
    old = service.version
    hold_at = (case.fault[0], 1) if case.fault else None
    with BackgroundLoad(service.url) as load:
        run = service.run('rollback-' + case.id, case.image, hold_at=hold_at, vary=case.vary).start()
        if case.fault:
            task, action, undo = case.fault
            try:
                run.wait_for(run.held, 120, 'hold before "%s"' % task)
                action(service)
                run.release()
                run.wait(RUN_TIMEOUT)
            finally:
                undo(service)
        else:
            run.wait(RUN_TIMEOUT)
    outcome = Attempt(case, old, run, load.stop(), service.problems(old))
    report.ROLLBACKS.add(outcome.row())
    return outcome


def assert_rolls_back(service, case):
    """The test body of every rollback case."""
    outcome = attempt(service, case)
    assert not outcome.verdict(), '%s: %s' % (case.id, ' | '.join(outcome.verdict()))
