# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback of the fault suite: a JSON-lines trace of a playbook run, and a hold at
one exact task boundary.

Why a callback: the kill points must be chosen from the run's own events, not from timing.
``v2_playbook_on_task_start`` fires after every host finished the previous task and before any
worker starts the next one, so holding the run there (ZDT_FAULT_HOLD_AT) lets the test kill the
process group at exactly that boundary.

Environment:
  ZDT_FAULT_TRACE    file the events are appended to (one JSON object per line)
  ZDT_FAULT_HOLD_AT  '<task name>#<occurrence>': stop there until the test kills the run, or
                     creates the file ZDT_FAULT_RELEASE (after injecting a fault) to let it go on
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
    name: zdt_fault_trace
    type: aggregate
    short_description: Trace task events to a file; hold the run at one task boundary (tests only)
    description:
      - Appends task starts and results to the file named by ZDT_FAULT_TRACE.
      - With ZDT_FAULT_HOLD_AT, holds the run before that task until the test kills it or
        creates the file ZDT_FAULT_RELEASE.
'''

import json
import os
import signal
import time

from ansible.plugins.callback import CallbackBase

# A hold nobody ends (the test died) must not leave ansible-playbook behind forever.
HOLD_LIMIT = 180.0


def short_name(task):
    """'Stage the candidate ...' for 'zerodowntime.deploy.blue_green : Stage the candidate ...'."""
    return task.get_name().split(' : ')[-1].strip()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'zdt_fault_trace'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.path = os.environ.get('ZDT_FAULT_TRACE')
        self.hold_at = os.environ.get('ZDT_FAULT_HOLD_AT')
        self.release = os.environ.get('ZDT_FAULT_RELEASE')
        self.seen = {}

    def write(self, **event):
        if not self.path:
            return
        event['t'] = time.time()
        # One write per event, so a SIGKILL never leaves half a line behind.
        with open(self.path, 'a') as handle:
            handle.write(json.dumps(event, default=str) + '\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        name = short_name(task)
        self.seen[name] = self.seen.get(name, 0) + 1
        self.write(event='task_start', task=name, n=self.seen[name])
        if self.hold_at == '%s#%d' % (name, self.seen[name]):
            self.hold(name)

    def hold(self, name):
        self.write(event='held', task=name, n=self.seen[name], pid=os.getpid())
        deadline = time.monotonic() + HOLD_LIMIT
        while time.monotonic() < deadline:
            if self.release and os.path.exists(self.release):
                self.write(event='released', task=name)
                return
            time.sleep(0.05)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def _result(self, event, result, ignored=False):
        res = result.result if hasattr(result, 'result') else result._result
        # A loop's own msg is 'One or more items failed'; the items say what failed.
        items = [item.get('msg') for item in res.get('results') or [] if isinstance(item, dict) and item.get('msg')]
        self.write(event=event, task=short_name(result.task), host=result.host.get_name(),
                   changed=bool(res.get('changed')), check_mode=bool(result.task.check_mode),
                   msg=res.get('msg'), item_msgs=items,
                   warnings=res.get('warnings') or [], ignored=bool(ignored),
                   # re-assertions of a balancer that lost the states (test_balancer_reloads)
                   reasserted=list(res.get('reasserted') or []) + [
                       r for item in res.get('results') or [] if isinstance(item, dict)
                       for r in item.get('reasserted') or []],
                   # reloads and restarts the module saw (balancer_member; container_hotswap per balancer)
                   restarts=_restarts(res) + [r for item in res.get('results') or [] if isinstance(item, dict)
                                              for r in _restarts(item)],
                   res=dict((k, res.get(k)) for k in ('active', 'candidate', 'previous', 'lock', 'plan')
                            if k in res))

    def v2_runner_on_ok(self, result):
        self._result('ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('failed', result, ignored=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._result('unreachable', result)

    def v2_playbook_on_stats(self, stats):
        self.write(event='end', failures=dict(stats.failures), changed=dict(stats.changed))


def _restarts(res):
    """restarts of a balancer_member result and of each entry of a container_hotswap one."""
    found = list(res.get('restarts') or [])
    for balancer in res.get('balancers') or []:
        if isinstance(balancer, dict):
            found += balancer.get('restarts') or []
    return found
