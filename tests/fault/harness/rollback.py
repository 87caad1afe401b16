# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A deploy that must fail and roll back, under load: what it left (the old version serving,
containers and balancer as before), what users saw, and what the operator was told."""

import re

from harness import report
from harness.load import CONCURRENCY, PAUSE, BackgroundLoad, across
from harness.services import RUN_TIMEOUT


class MayFail(object):
    """Failed requests a case may show, bounded: at most ``most`` requests, all together, of the
    outcome classes in ``classes`` ('status 502' allows that status only), for ``reason``."""

    def __init__(self, most, reason, *classes):
        self.most = most
        self.reason = reason
        self.classes = frozenset(classes)

    def __repr__(self):
        return 'at most %d %s (%s)' % (self.most, '/'.join(sorted(self.classes)), self.reason)


def in_flight_per_client(reason, *classes):
    """One request per load client (CONCURRENCY): what dies with a server holding every client's
    connection at once."""
    return MayFail(CONCURRENCY, reason, *classes)


def sent_within(seconds, reason, *classes):
    """Every request the load can send in ``seconds``: CONCURRENCY clients, each pausing PAUSE
    between requests (an upper bound: it counts no latency), plus one in flight per client."""
    return MayFail(int(CONCURRENCY * (1 + seconds / PAUSE)), reason, *classes)


class RollbackCase(object):
    """``vary(service, variables)``: the scenario's settings; ``fault``: (task, action(service),
    undo(service)) - the run is held before that task, the action injected, the run released
    (undo runs afterwards, whatever happened); ``step``: a regular expression for the step the
    failure message must name (the role's "failed at '<task>'", or the module's own step);
    ``cause``: a regular expression the message must match; ``may_fail``: a MayFail - failed
    requests the strategy documents as possible for this case, bounded, with the reason (None:
    zero failed requests)."""

    def __init__(self, id, kind, image, step, cause, vary=None, fault=None, may_fail=None, defect=None):
        self.id = id
        self.kind = kind
        self.image = image
        self.step = step
        self.cause = cause
        self.vary = vary
        self.fault = fault
        self.may_fail = may_fail
        self.defect = defect
        self.seq = 0                   # place in the report (set by the table)

    def __repr__(self):
        return self.id


class Attempt(object):
    def __init__(self, case, old_version, run, load, problems, coverage):
        self.case = case
        self.coverage = coverage
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
                    allowed=repr(self.case.may_fail) if self.case.may_fail else '0',
                    around=', '.join('%s %d' % item for item in self.load.get('around', {}).items()),
                    left='yes' if not self.problems else 'NO: ' + '; '.join(self.problems))

    def verdict(self):
        broken = []
        if self.run.rc == 0:
            broken.append('the deploy of %s succeeded' % self.case.image)
        if not self.message or not re.search(self.case.step, self.message):
            broken.append('the message does not name the step /%s/: %r' % (self.case.step, self.message))
        elif not re.search(self.case.cause, self.message):
            broken.append('the message does not give the cause /%s/: %r' % (self.case.cause, self.message))
        allowed, unexpected = self.failures()
        if unexpected:
            broken.append('failed requests %s (first: %s)' % (unexpected, self.load['first_failures']))
        if allowed and allowed > self.case.may_fail.most:
            broken.append('%d failed requests, more than the %r allowed (first: %s)'
                          % (allowed, self.case.may_fail, self.load['first_failures']))
        broken += self.coverage
        if self.problems:
            broken.append('%s is not left as it was: %s' % (self.old_version, '; '.join(self.problems)))
        return broken

    def failures(self):
        """(failed requests of the allowed classes, {class: count} of the others)."""
        classes = self.case.may_fail.classes if self.case.may_fail else frozenset()
        failed = dict((k, n) for k, n in self.load['errors'].items() if n)
        named = [c for c in classes if c.startswith('status ')]
        if failed.get('status') and named:
            # Only the statuses named ('status 502': a request in flight on a server that died)
            # are allowed, never another failed status.
            statuses = dict((code, n) for code, n in (self.load.get('statuses') or {}).items() if code != '200')
            for name in named:
                failed[name] = statuses.pop(name.split()[1], 0)
            failed['status'] = sum(statuses.values())
        allowed = sum(n for k, n in failed.items() if k in classes)
        return allowed, dict((k, n) for k, n in failed.items() if n and k not in classes)


def attempt(service, case):
    """Deploy ``case.image`` under load; returns an Attempt."""
    service.ensure()
    old = service.version
    hold_at = (case.fault[0], 1) if case.fault else None
    with BackgroundLoad(service.url) as load:
        load.wait_for_requests()
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
        load.wait_for_requests(since=run.ended)
    coverage = across(load, **{'deploy start': run.started, 'rollback end': run.ended})
    outcome = Attempt(case, old, run, load.stop(), service.problems(old), coverage)
    report.ROLLBACKS.add(outcome.row())
    return outcome


def assert_rolls_back(service, case):
    """The test body of every rollback case."""
    outcome = attempt(service, case)
    assert not outcome.verdict(), '%s: %s' % (case.id, ' | '.join(outcome.verdict()))
