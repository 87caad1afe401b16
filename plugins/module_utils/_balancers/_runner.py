# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The balancer_member module's logic: argument spec, adapter choice, and one run:

  read -> plan (+ last-member guard) -> [check mode stops here] -> apply (one transaction) ->
  verify -> wait healthy (members enabled) -> wait drained (members drained/disabled) ->
  read again: still as wanted? -> weight ramp -> read again -> result

A balancer can lose the states this run set: HAProxy forgets runtime states on a reload without
a server-state file, Apache forgets every balancer-manager change on a restart, config management
rewrites an nginx upstream file or reloads Caddy from its Caddyfile. Every wait re-reads the
members; when one is not as wanted any more, the run puts it back (a re-assertion, reported in
``reasserted``) and waits again, at most ``max_reassertions`` times. ``Run.reassert()`` does the
same check for a caller (container_hotswap) right before it removes serving capacity.

The adapter is picked once from ``balancer``; nothing below branches on the balancer kind.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers import _apache
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    ENABLED, STATES, UNKNOWN, UP,
    BalancerConnectionError, BalancerError, Change, Request, make_plan, ordered,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._caddy import CaddyAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._haproxy import HaproxyAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._nginx import NginxAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import (
    DOCKER_CONNECTION_ARGS, DOCKER_CONNECTION_REQUIRED_TOGETHER,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import wait_for

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
    max_reassertions=dict(type='int', default=3),
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


def build_adapter(params, module, clock=time.monotonic, sleep=time.sleep, docker=None):
    """The adapter for ``params``. ``docker``: an engine client connected with the module's
    docker_* options, for nginx in a container (None: the adapter connects itself)."""
    kind = params['balancer']
    if kind == 'apache' and not _apache.HAS_REQUESTS:
        raise RunFailure(missing_required_lib('requests'), exception=_apache.REQUESTS_IMPORT_ERROR)
    if kind == 'nginx':
        return NginxAdapter.from_params(params, module, clock=clock, sleep=sleep, docker=docker)
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


# Default of max_reassertions for callers whose params do not carry it (container_hotswap).
MAX_REASSERTIONS = 3


class Run(object):
    """One execution of the module against one adapter (clock, sleep and wallclock injectable).
    ``patient``: the first read waits for a balancer that does not answer (read_answering) - for
    a caller that already read it in this deploy (container_hotswap), where a balancer that stops
    answering is restarting; balancer_member's own first read fails at once instead."""

    def __init__(self, adapter, params, check_mode=False, diff=False, clock=time.monotonic,
                 sleep=time.sleep, warn=None, wallclock=time.time, patient=False):
        self.adapter = adapter
        self.patient = patient
        self.params = params
        self.check_mode = check_mode
        self.diff = diff
        self.clock = clock
        self.sleep = sleep
        self.warn = warn or (lambda msg: None)
        self.backend_name = params['backend']
        self.requests = requests_from(params)
        self.names = [r.name for r in self.requests]
        self.wallclock = wallclock
        self.result = dict(changed=False, backend=self.backend_name, reasserted=[], restarts=[])
        self.applied = []          # human descriptions of what this run changed
        self.drained_counts = {}   # last active counts the drain wait saw (when it ended in time)
        self.plan = None           # the plan of run() (or the one given to reassert())
        self.wanted = {}           # member -> dict(state=, weight=): what this run holds it to
        self.reassertions = 0      # re-assertions so far (run() and reassert() together)
        self.generation = None     # the balancer's generation at the last read (Backend.generation)
        self.unreachable = None    # (since, message) while the balancer does not answer a wait

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

    def read(self, phase=None):
        """The backend now; notes a change of the balancer's generation (a reload or restart)
        seen during ``phase``."""
        backend = self.adapter.read(self.backend_name)
        if backend.generation is not None:
            if self.generation is not None and backend.generation != self.generation:
                self.result['restarts'].append(dict(phase=phase or 'run', at=round(self.wallclock(), 3),
                                                    before=self.generation, after=backend.generation))
            self.generation = backend.generation
        return backend

    # -- the run
    def run(self):
        try:
            backend = self.read_answering('run') if self.patient else self.read()
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
        self.hold(plan)
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
            self.result['drain_seconds'] = 0.0
            if self.params['wait']:
                self.settle(plan, 'drain')
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

    def apply(self, changes, step, verify=True):
        """Apply ``changes``; read back and fail when the balancer did not take them (``verify``;
        a re-assertion leaves that to the wait that follows: a balancer reloading again in
        between is one more loss, not an error)."""
        try:
            self.adapter.apply(self.backend_name, changes)
        except BalancerError as exc:
            self.result['changed'] = bool(self.applied) or getattr(exc, 'partial', False)
            earlier = ''
            if self.applied:
                earlier = ' Changed earlier in this run and left so: %s.' % '; '.join(self.applied)
            self.fail('Changing %s failed during %s: %s%s' % (self.where(), step, exc, earlier))
        if not verify:
            self.applied.extend(_describe(c) for c in changes)
            self.hold_weights(changes)
            return
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
        self.hold_weights(changes)
        if wrong:
            self.result['changed'] = True
            self.fail('%s accepted %s but then reported: %s.%s'
                      % (self.adapter.describe(), step, '; '.join(wrong), self.after_note()))

    # -- holding the states: every wait re-reads them and puts back what the balancer lost
    def hold(self, plan):
        """Remember what ``plan`` holds its members to. A weight is held only where the plan sets
        one (a ramp's weight is held step by step, as apply() moves it)."""
        self.plan = plan
        self.wanted = {}
        for name, target in plan.targets.items():
            explicit = [r for r in plan.requests if r.name == name and r.weight is not None]
            weight = target['weight'] if explicit and name not in plan.ramps else None
            self.wanted[name] = dict(state=target['state'], weight=weight)
        self.hold_weights(plan.changes)

    def lost(self, backend):
        """[(member, wanted)] of the members that are not as this run holds them."""
        lost = []
        for name in sorted(self.wanted):
            wanted = self.wanted[name]
            member = backend.require(name)
            if member.state != wanted['state'] or (wanted['weight'] is not None and member.weight != wanted['weight']):
                lost.append((member, wanted))
        return lost

    def poll(self, phase, names=()):
        """One fresh look for a wait: the backend, what it lost, and the active counts of
        ``names`` (when nothing was lost). A balancer that does not answer (restarting) is seen as
        such - the wait goes on until its deadline - not as a failure of the run."""
        seen_restarts = len(self.result['restarts'])
        try:
            backend = self.read(phase)
            lost = self.lost(backend)
            counts = self.adapter.active(self.backend_name, names, current=backend) if names and not lost else {}
        except BalancerConnectionError as exc:
            if self.unreachable is None:
                self.unreachable = (self.clock(), self.wallclock(), str(exc))
            return Seen(error=str(exc))
        if self.unreachable is not None:
            since, at, error = self.unreachable
            self.result['restarts'].insert(seen_restarts, dict(
                phase=phase, at=round(at, 3), unreachable_seconds=round(self.clock() - since, 3), error=error))
            self.unreachable = None
        return Seen(backend, lost, counts)

    def watch(self, phase, names, done, timeout):
        """wait_for over poll(): ends early when the balancer lost a held state, which is then
        re-asserted, and the wait starts again. Returns the last WaitResult, its value a Seen."""
        while True:
            waited = wait_for(lambda: self.poll(phase, names),
                              lambda seen: seen.backend is not None and (bool(seen.lost) or done(seen)),
                              timeout, self.params['poll_interval'], self.clock, self.sleep)
            if waited.ok and waited.value.lost:
                self.restore(waited.value.backend, waited.value.lost, phase)
                continue
            return waited

    def restore(self, backend, lost, phase):
        """Put back what the balancer lost (one transaction), report it - or fail, when it keeps
        losing it."""
        at = round(self.wallclock(), 3)
        entries = [dict(member=member.name, phase=phase, at=at,
                        found=dict(state=member.state, weight=member.weight, status=member.status),
                        wanted=dict(wanted)) for member, wanted in lost]
        found = '; '.join("'%s' %s (weight %s, status '%s'), wanted %s%s"
                          % (member.name, member.state, member.weight, member.status, wanted['state'],
                             '' if wanted['weight'] is None else ' with weight %s' % wanted['weight'])
                          for member, wanted in lost)
        limit = self.params.get('max_reassertions')
        limit = MAX_REASSERTIONS if limit is None else limit
        if self.reassertions >= limit:
            self.fail('%s lost the state this run holds again during %s, after %d re-assertion(s) '
                      '(max_reassertions=%d): found %s. The balancer keeps reloading or restarting '
                      '(%d reload(s)/restart(s) seen). %s%s'
                      % (self.where(), phase, self.reassertions, limit, found, len(self.result['restarts']),
                         self.adapter.keep_state_hint, self.after_note()))
        self.reassertions += 1
        self.result['reasserted'].extend(entries)
        if self.check_mode:
            return
        self.warn('%s lost the state this run holds during %s (a reload or restart of the balancer?): '
                  'found %s. Re-asserted it (%d of at most %d).'
                  % (self.where(), phase, found, self.reassertions, limit))
        changes = []
        for member, wanted in lost:
            change = Change(member.name)
            if member.state != wanted['state']:
                change.state = wanted['state']
            if wanted['weight'] is not None and member.weight != wanted['weight']:
                change.weight = wanted['weight']
            changes.append(change)
        self.result['changed'] = True
        self.apply(ordered(changes), 're-asserting the state the balancer lost during %s' % phase, verify=False)

    def read_answering(self, phase):
        """The backend, read once the balancer answers: one that does not (restarting) is waited
        for up to healthy_timeout, then the Run fails saying so."""
        waited = wait_for(lambda: self.poll(phase), lambda seen: seen.backend is not None,
                          self.params['healthy_timeout'], self.params['poll_interval'], self.clock, self.sleep)
        if not waited.ok:
            self.did_not_answer(waited)
        return waited.value.backend

    def did_not_answer(self, waited):
        self.fail('%s: the balancer did not answer for %ss (%d polls): %s%s'
                  % (self.where(), _num(self.params['healthy_timeout']), waited.polls,
                     waited.value.error, self.after_note()))

    def settle(self, plan, phase):
        """Wait until the members meant to be enabled are healthy and the others have drained,
        then read once more: a state lost in the meantime is re-asserted and the waits run again.
        Returns the backend of the read that agreed."""
        while True:
            self.wait_healthy(plan)
            self.wait_drained(plan, phase)
            before = self.reassertions
            waited = self.watch(phase, (), lambda seen: True, self.params['healthy_timeout'])
            if not waited.ok:
                self.did_not_answer(waited)
            if self.reassertions == before:
                return waited.value.backend

    def reassert(self, phase, plan=None):
        """Before a step that removes serving capacity (container_hotswap: stopping the old
        container): read the members again and, where the balancer lost the state this Run holds
        them to (or ``plan``'s targets), put it back, wait for health and drain again, and repeat
        until one read agrees - at most max_reassertions times per Run. Returns the re-assertions
        of this call (also in result['reasserted']); RunFailure naming the balancer and what it
        found when it keeps losing the state. Check mode: reports, changes nothing, does not wait."""
        if plan is not None:
            self.hold(plan)
        if not self.wanted:
            return []
        first = len(self.result['reasserted'])
        try:
            if self.check_mode:
                backend = self.read(phase)
                lost = self.lost(backend)
                if lost:
                    self.restore(backend, lost, phase)
            else:
                self.settle(self.plan, phase)
        except BalancerError as exc:
            self.fail('%s: %s%s' % (self.where(), exc, self.after_note()))
        return self.result['reasserted'][first:]

    def hold_weights(self, changes):
        """A weight this run set is held from then on (a ramp's, step by step)."""
        for change in changes:
            if change.name in self.wanted and change.weight is not None:
                self.wanted[change.name]['weight'] = change.weight

    def wait_healthy(self, plan):
        names = [n for n in plan.targets if plan.targets[n]['state'] == ENABLED]
        if not names:
            return

        def healthy(seen):
            return all(seen.backend.require(n).health in (UP, UNKNOWN) for n in names)
        waited = self.watch('healthy', (), healthy, self.params['healthy_timeout'])
        if not waited.ok:
            if waited.value.backend is None:
                self.fail('%s: the balancer did not answer for healthy_timeout=%ss (%d polls): %s%s'
                          % (self.where(), _num(self.params['healthy_timeout']), waited.polls, waited.value.error,
                             self.after_note()))
            backend = waited.value.backend
            bad = ["'%s' is %s (status '%s')" % (n, backend.require(n).health, backend.require(n).status)
                   for n in names if backend.require(n).health not in (UP, UNKNOWN)]
            self.result['members'] = [m.as_dict() for m in backend.members]
            self.fail('%s: member(s) meant to be enabled are not healthy after healthy_timeout=%ss '
                      '(%d polls); last seen: %s. The balancer does not send them traffic while its '
                      'checks fail.%s'
                      % (self.where(), _num(self.params['healthy_timeout']), waited.polls,
                         '; '.join(bad), self.after_note()))

    def wait_drained(self, plan, phase='drain'):
        names = [n for n in plan.targets if plan.targets[n]['state'] != ENABLED]
        if not names:
            return
        started = self.clock()
        waited = self.watch(phase, names, lambda seen: all(not seen.counts[n] for n in names),
                            self.params['drain_timeout'])
        self.result['drain_seconds'] = round(self.result.get('drain_seconds', 0.0) + self.clock() - started, 3)
        if waited.ok:
            if not plan.ramps:            # a ramp takes time: count again at the end
                self.drained_counts = waited.value.counts
            released = self.adapter.release(self.backend_name, names)
            self.result['released'] = released or self.result.get('released')
            return
        if waited.value.backend is None:
            self.fail('%s: the balancer did not answer for drain_timeout=%ss (%d polls): %s%s'
                      % (self.where(), _num(self.params['drain_timeout']), waited.polls, waited.value.error,
                         self.after_note()))
        counts = waited.value.counts
        busy = ', '.join("'%s' %s active" % (n, counts[n]) for n in names if counts[n])
        restarts = ''
        if self.result['restarts']:
            restarts = (' The balancer reloaded or restarted %d time(s) during the run (see restarts).'
                        % len(self.result['restarts']))
        msg = ('%s: still active after drain_timeout=%ss (%d polls): %s.%s'
               % (self.where(), _num(self.params['drain_timeout']), waited.polls, busy, restarts))
        self.result['drain_timed_out'] = True
        self.result['active_end'] = counts
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


class Seen(object):
    """What one poll of a wait saw: the backend (None when the balancer did not answer: error),
    the members not as held ([(Member, wanted)]) and the active counts asked for."""

    def __init__(self, backend=None, lost=(), counts=None, error=None):
        self.backend = backend
        self.lost = list(lost)
        self.counts = counts or {}
        self.error = error


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
        try:
            result['persistence'] = adapter.persistence()
        except BalancerError as exc:
            result['persistence'] = 'unknown (%s)' % exc
    except RunFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    finally:
        adapter.close()
    module.exit_json(**result)
