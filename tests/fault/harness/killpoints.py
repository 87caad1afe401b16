# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kill-point driver: start a deploy, bring it to one point chosen from its own events, and
SIGKILL ansible-playbook with everything it started.

Two kinds of point:
- a task boundary: the trace callback holds the run before task N (occurrence k) starts, so the
  kill lands exactly after task N-1 finished and before task N began;
- inside a task: after task N started, the engine or the balancer is watched until a state of
  that task is reached (a candidate running, a member draining, a weight ramp half way), and the
  kill lands then. A slow request can be put in flight at the task start, so that the state
  lasts (a container retiring waits for it) and so that the request itself proves nothing in
  flight was lost.
"""

import time

from harness.load import HeldRequest

REACH_TIMEOUT = 120.0
POLL = 0.02


class KillPoint(object):
    """``reached(service)``: a short description of the state when it is reached, else None;
    None makes the point a task boundary. ``hold(service)``: base URL for a slow request put in
    flight when the task starts, answered after ``hold_ms``. ``defect``: a known defect this point
    shows (the test is a strict xfail with it as the reason). ``early``: when the task ends before
    the point is reached, kill at the start of the next task instead (random points, whose moment
    may outlast the task); either way a run that ends before the kill is a failure - a kill point
    that did not kill proved nothing."""

    def __init__(self, id, task, occurrence=1, reached=None, hold=None, hold_ms=4000, note='', defect=None,
                 early=False):
        self.id = id
        self.task = task
        self.occurrence = occurrence
        self.reached = reached
        self.hold = hold
        self.hold_ms = hold_ms
        self.note = note
        self.defect = defect
        self.early = early
        self.seq = 0                   # place in the report (set by the tables)

    @property
    def boundary(self):
        return self.reached is None

    def where(self):
        prefix = 'before' if self.boundary else 'during'
        occurrence = '' if self.occurrence == 1 else ' (#%d)' % self.occurrence
        return '%s "%s"%s%s' % (prefix, self.task, occurrence, '' if self.boundary else ': ' + self.note)

    def __repr__(self):
        return self.id


class Kill(object):
    """What a kill left: the killed run, the state at the kill, the request held across it, and
    when the kill landed (time.monotonic(), the load's clock)."""

    def __init__(self, run, state, held, seen, at):
        self.run = run
        self.state = state
        self.held = held
        self.seen = seen
        self.at = at


def kill_at(service, point, version):
    """Deploy ``version`` of ``service`` and SIGKILL the run at ``point``. Returns a Kill."""
    hold_at = (point.task, point.occurrence) if point.boundary else None
    run = service.run('kill-' + point.id, version, hold_at=hold_at).start()
    held = None
    if point.boundary:
        run.wait_for(run.held, REACH_TIMEOUT, 'hold before "%s"' % point.task)
        seen = 'held before the task'
    else:
        run.wait_for(run.task_started(point.task, point.occurrence), REACH_TIMEOUT,
                     'start of "%s" #%d' % (point.task, point.occurrence))
        if point.hold is not None:
            held = HeldRequest(point.hold(service), point.hold_ms).start()
        seen = _wait_reached(run, point, service)
    state = service.state()
    at = time.monotonic()
    run.kill()
    return Kill(run, state, held, seen, at)


def _next_task(run, point):
    """Name of the task that started after ``point``'s task, or None."""
    events = [e for e in run.events() if e['event'] == 'task_start']
    for index, event in enumerate(events):
        if event['task'] == point.task and event['n'] == point.occurrence:
            return events[index + 1]['task'] if index + 1 < len(events) else None
    return None


def _wait_reached(run, point, service):
    deadline = time.monotonic() + REACH_TIMEOUT
    while time.monotonic() < deadline:
        seen = point.reached(service)
        if seen:
            return seen
        following = _next_task(run, point) if point.early else None
        if following:
            return 'the task ended first; killed at the start of "%s"' % following
        if not run.running():
            raise AssertionError('%s: the run ended (rc %s) before reaching %s. Log: %s'
                                 % (point.id, run.proc.returncode, point.where(), run.tail()))
        time.sleep(POLL)
    run.kill()
    raise AssertionError('%s: %s not reached within %ss' % (point.id, point.where(), REACH_TIMEOUT))
