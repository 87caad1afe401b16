# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The balancer_member module's logic: argument spec, adapter choice, and one run:

  read -> plan (+ last-member guard) -> [check mode stops here] -> apply (one transaction) ->
  verify -> wait healthy (members enabled) -> wait drained (members drained/disabled) ->
  weight ramp -> read again -> result

The adapter is picked once from ``balancer``; nothing below branches on the balancer kind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers import _apache
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    ENABLED, STATES, UNKNOWN, UP,
    BalancerError, Change, Request, make_plan, wait_for,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._caddy import CaddyAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._haproxy import HaproxyAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._nginx import NginxAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import (
    DOCKER_CONNECTION_ARGS, DOCKER_CONNECTION_REQUIRED_TOGETHER,
)

ADAPTERS = dict(haproxy=HaproxyAdapter, apache=_apache.ApacheAdapter, nginx=NginxAdapter, caddy=CaddyAdapter)

# Matches DOCUMENTATION in plugins/modules/balancer_member.py; both change together.
ARGUMENT_SPEC = dict(
    balancer=dict(type='str', required=True, choices=sorted(ADAPTERS)),
    backend=dict(type='str', required=True),
    member=dict(type='str'),
    state=dict(type='str', choices=list(STATES)),
    weight=dict(type='int'),
    members=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        state=dict(type='str', required=True, choices=list(STATES)),
        weight=dict(type='int'),
    )),
    wait=dict(type='bool', default=True),
    drain_timeout=dict(type='float', default=300.0),
    on_drain_timeout=dict(type='str', default='fail', choices=['fail', 'proceed']),
    healthy_timeout=dict(type='float', default=60.0),
    poll_interval=dict(type='float', default=0.2),
    min_active=dict(type='int', default=1),
    force=dict(type='bool', default=False),
    ramp=dict(type='dict', options=dict(
        steps=dict(type='list', elements='int', default=[10, 25, 50, 100]),
        pause=dict(type='float', default=10.0),
    )),
    request_timeout=dict(type='float', default=10.0),
    haproxy_socket=dict(type='str'),
    apache_url=dict(type='str'),
    apache_username=dict(type='str'),
    apache_password=dict(type='str', no_log=True),
    apache_validate_certs=dict(type='bool', default=True),
    apache_ca_path=dict(type='path'),
    apache_client_cert=dict(type='path'),
    apache_client_key=dict(type='path', no_log=False),
    apache_stale_busy_after=dict(type='float', default=10.0),
    nginx_config=dict(type='str'),
    nginx_container=dict(type='str'),
    nginx_binary=dict(type='str', default='nginx'),
    nginx_main_config=dict(type='str'),
    nginx_pid_file=dict(type='str', default='/run/nginx.pid'),
    caddy_admin=dict(type='str'),
    caddy_origin=dict(type='str'),
    caddy_validate_certs=dict(type='bool', default=True),
    caddy_ca_path=dict(type='path'),
    caddy_client_cert=dict(type='path'),
    caddy_client_key=dict(type='path', no_log=False),
)
ARGUMENT_SPEC.update(DOCKER_CONNECTION_ARGS)

ARGUMENT_RULES = dict(
    required_if=[
        ('balancer', 'haproxy', ['haproxy_socket']),
        ('balancer', 'apache', ['apache_url']),
        ('balancer', 'nginx', ['nginx_config']),
        ('balancer', 'caddy', ['caddy_admin']),
    ],
    required_one_of=[('member', 'members')],
    mutually_exclusive=[('member', 'members'), ('state', 'members'), ('weight', 'members')],
    required_by=dict(member=['state']),
    required_together=[('apache_client_cert', 'apache_client_key'), ('caddy_client_cert', 'caddy_client_key')]
    + DOCKER_CONNECTION_REQUIRED_TOGETHER,
)


class RunFailure(Exception):
    """Fail the task with this message and these result fields."""

    def __init__(self, msg, **result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result


def build_adapter(params, module, clock=time.monotonic, sleep=time.sleep):
    kind = params['balancer']
    if kind == 'apache' and not _apache.HAS_REQUESTS:
        raise RunFailure(missing_required_lib('requests'), exception=_apache.REQUESTS_IMPORT_ERROR)
    if kind == 'nginx':
        return NginxAdapter.from_params(params, module, clock=clock, sleep=sleep)
    if kind == 'apache':
        return _apache.ApacheAdapter.from_params(params, module, clock=clock)
    return ADAPTERS[kind].from_params(params, module)


def requests_from(params):
    if params.get('members'):
        return [Request(m['name'], m['state'], m.get('weight')) for m in params['members']]
    return [Request(params['member'], params['state'], params.get('weight'))]


def _states(backend, names):
    return dict((name, backend.require(name).state_dict()) for name in names)


def _diff_view(states):
    return dict((name, dict(state=s['state'], weight=s['weight'])) for name, s in states.items())


class Run(object):
    """One execution of the module against one adapter (clock and sleep injectable)."""

    def __init__(self, adapter, params, check_mode=False, diff=False, clock=time.monotonic,
                 sleep=time.sleep, warn=None):
        self.adapter = adapter
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.clock = clock
        self.sleep = sleep
        self.warn = warn or (lambda msg: None)
        self.backend_name = params['backend']
        self.requests = requests_from(params)
        self.names = [r.name for r in self.requests]
        self.result = dict(changed=False, backend=self.backend_name)
        self.applied = []          # human descriptions of what this run changed
        self.drained_counts = {}   # last active counts the drain wait saw (when it ended in time)

    # -- small helpers
    def where(self):
        return "backend '%s' of %s" % (self.backend_name, self.adapter.describe())

    def after_note(self):
        """What a failure after the first change leaves behind."""
        if not self.applied:
            return ' Nothing was changed.'
        return ' Changed by this run and left so: %s.' % '; '.join(self.applied)

    def fail(self, msg, **extra):
        self.result.update(extra)
        raise RunFailure(msg, **self.result)

    def read(self):
        return self.adapter.read(self.backend_name)

    # -- the run
    def run(self):
        try:
            backend = self.read()
            for name in self.names:
                backend.require(name)
            plan = make_plan(self.adapter, backend, self.requests,
                             min_active=self.params['min_active'], force=self.params['force'],
                             ramp_steps=(self.params.get('ramp') or {}).get('steps'))
            self.result['before'] = _states(backend, self.names)
            self.result['active_start'] = self.adapter.active(self.backend_name, self.names, current=backend)
        except BalancerError as exc:
            # Before any change: the message says 'Nothing was changed.' where it matters.
            msg = str(exc)
            if 'Nothing was changed' not in msg:
                msg += ' Nothing was changed.'
            self.fail(msg)
        self.result['changed'] = plan.changed
        if plan.ramps:
            self.result['ramp'] = dict(plan.ramps)
        if self.check_mode:
            self.result['after'] = dict((name, plan.predicted_after(name)) for name in self.names)
            self.result['active_end'] = self.result['active_start']
            self.result['drain_seconds'] = 0.0
            self.result['members'] = [m.as_dict() for m in backend.members]
            return self.finish()

        try:
            if plan.changes:
                self.apply(plan.changes, 'the first transaction')
            if self.params['wait']:
                self.wait_healthy(plan)
                self.wait_drained(plan)
            else:
                self.result['drain_seconds'] = 0.0
            self.ramp(plan)
            final = self.read()
            self.result['after'] = _states(final, self.names)
            self.result['active_end'] = self.active_end(final)
            self.result['members'] = [m.as_dict() for m in final.members]
        except BalancerError as exc:
            self.fail('%s: %s%s' % (self.where(), exc, self.after_note()))
        return self.finish()

    def finish(self):
        if self.diff:
            after = self.result.get('after', self.result.get('before', {}))
            self.result['diff'] = dict(before=_diff_view(self.result.get('before', {})),
                                       after=_diff_view(after))
        return self.result

    def active_end(self, final):
        """Counts at the end: the drain wait's last (fresh) ones, the adapter's for the others."""
        counts = dict(self.drained_counts)
        rest = [n for n in self.names if n not in counts]
        if rest:
            counts.update(self.adapter.active(self.backend_name, rest, current=final))
        return counts

    def apply(self, changes, step):
        try:
            self.adapter.apply(self.backend_name, changes)
        except BalancerError as exc:
            self.result['changed'] = bool(self.applied) or getattr(exc, 'partial', False)
            earlier = ''
            if self.applied:
                earlier = ' Changed earlier in this run and left so: %s.' % '; '.join(self.applied)
            self.fail('Changing %s failed during %s: %s%s' % (self.where(), step, exc, earlier))
        current = self.read()
        wrong = []
        for change in changes:
            member = current.require(change.name)
            if (change.state is not None and member.state != change.state) or \
                    (change.weight is not None and member.weight != change.weight):
                wrong.append("'%s' is %s (weight %s, status %s), expected %s%s"
                             % (change.name, member.state, member.weight, member.status,
                                change.state or member.state,
                                '' if change.weight is None else ' with weight %s' % change.weight))
        self.applied.extend(_describe(c) for c in changes)
        if wrong:
            self.result['changed'] = True
            self.fail('%s accepted %s but then reported: %s.%s'
                      % (self.adapter.describe(), step, '; '.join(wrong), self.after_note()))

    def wait_healthy(self, plan):
        names = [n for n in self.names if plan.targets[n]['state'] == ENABLED]
        if not names:
            return

        def healthy(backend):
            return all(backend.require(n).health in (UP, UNKNOWN) for n in names)
        waited = wait_for(self.read, healthy, self.params['healthy_timeout'], self.params['poll_interval'],
                          self.clock, self.sleep)
        if not waited.ok:
            bad = ["'%s' is %s (status '%s')" % (n, waited.value.require(n).health, waited.value.require(n).status)
                   for n in names if waited.value.require(n).health not in (UP, UNKNOWN)]
            self.result['members'] = [m.as_dict() for m in waited.value.members]
            self.fail('%s: member(s) meant to be enabled are not healthy after healthy_timeout=%ss '
                      '(%d polls); last seen: %s. The balancer does not send them traffic while its '
                      'checks fail.%s'
                      % (self.where(), _num(self.params['healthy_timeout']), waited.polls,
                         '; '.join(bad), self.after_note()))

    def wait_drained(self, plan):
        names = [n for n in self.names if plan.targets[n]['state'] != ENABLED]
        self.result['drain_seconds'] = 0.0
        if not names:
            return
        waited = wait_for(lambda: self.adapter.active(self.backend_name, names),
                          lambda counts: all(not counts[n] for n in names),
                          self.params['drain_timeout'], self.params['poll_interval'], self.clock, self.sleep)
        self.result['drain_seconds'] = round(waited.elapsed, 3)
        if waited.ok:
            if not plan.ramps:            # a ramp takes time: count again at the end
                self.drained_counts = waited.value
            self.result['released'] = self.adapter.release(self.backend_name, names)
            return
        busy = ', '.join("'%s' %s active" % (n, waited.value[n]) for n in names if waited.value[n])
        msg = ('%s: still active after drain_timeout=%ss (%d polls): %s.'
               % (self.where(), _num(self.params['drain_timeout']), waited.polls, busy))
        self.result['drain_timed_out'] = True
        self.result['active_end'] = waited.value
        if self.params['on_drain_timeout'] == 'proceed':
            self.warn(msg + ' Proceeding as asked (on_drain_timeout=proceed).')
            return
        self.fail(msg + self.after_note())

    def ramp(self, plan):
        if not plan.ramps:
            return
        pause = self.params['ramp']['pause']
        step = 1                 # step 0 was part of the first transaction
        while True:
            changes = [Change(name, weight=weights[step]) for name, weights in sorted(plan.ramps.items())
                       if step < len(weights)]
            if not changes:
                return
            self.sleep(pause)
            self.apply(changes, 'weight ramp step %d (%s)' % (
                step + 1, ', '.join('%s=%s' % (c.name, c.weight) for c in changes)))
            step += 1


def _describe(change):
    bits = []
    if change.state is not None:
        bits.append(change.state)
    if change.weight is not None:
        bits.append('weight %s' % change.weight)
    return '%s %s' % (change.name, ' + '.join(bits))


def _num(value):
    return int(value) if value == int(value) else value


def run_module(module, adapter=None, clock=time.monotonic, sleep=time.sleep):
    """Entry point of plugins/modules/balancer_member.py."""
    try:
        if adapter is None:
            adapter = build_adapter(module.params, module, clock=clock, sleep=sleep)
    except RunFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    except BalancerError as exc:
        module.fail_json(msg=str(exc))
    try:
        result = Run(adapter, module.params, check_mode=module.check_mode, diff=module._diff,
                     clock=clock, sleep=sleep, warn=module.warn).run()
    except RunFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    finally:
        adapter.close()
    module.exit_json(**result)
