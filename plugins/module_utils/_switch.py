# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""container_hotswap with ``balancers``: the traffic switch inside the same run.

The container plan (_hotswap.plan_phase) stays what it is; ``Switch`` hooks into the runner
(_hotswap_run.Runner) at three points and moves the traffic through the balancer machinery of
_balancers/_runner.py (``Run`` per transaction, ``build_adapter``; the adapters stay behind
their interface):

  before the cutover (the first rename that makes a container active)
      blue/green: candidate's member in (one change), wait until the balancer itself reports it
      up; old member drained (or, with a watch, kept in rotation at weight 1 as the balancer's own
      fallback until the watch passed); wait for 0 in flight.
      rolling (one ``member``): nothing here, the member was drained before the first change.
  before a running container that does not serve any more is stopped or removed
      re-read every balancer; a member the balancer put back (a reload, a restart) is drained
      again and its drain waited for again; every re-assertion is reported.
  at the end
      blue/green: the active slot's member in rotation, the other one parked (a run that switched
      nothing converges the balancers there); rolling: the member enabled, wait up.

Any failure before the old container is retired puts the balancers back (``before``: the old
member in with its weight, the candidate's member parked) and the runner removes the candidate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DRAINED, ENABLED, BalancerError, make_plan)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import (
    ADAPTERS, ARGUMENT_RULES, ARGUMENT_SPEC as MEMBER_SPEC, Run, RunFailure, build_adapter)

ON_DRAIN_TIMEOUT = ('fail', 'close')
WATCH_INTERVAL = 0.5
FALLBACK_WEIGHT = 1

# The options of balancer_member that say how to reach a balancer (connection: in a balancers
# entry): its adapter options and the three timing options. Everything else is decided here.
CONNECTION_KEYS = tuple(sorted(
    name for name in MEMBER_SPEC
    if name.split('_', 1)[0] in ADAPTERS or name in ('request_timeout', 'poll_interval', 'healthy_timeout')))

SWITCH_ARGS = dict(
    balancers=dict(type='list', elements='dict', options=dict(
        balancer=dict(type='str', required=True, choices=sorted(ADAPTERS)),
        backend=dict(type='str', required=True),
        members=dict(type='dict', options=dict(
            blue=dict(type='str', required=True),
            green=dict(type='str', required=True),
        )),
        member=dict(type='str'),
        connection=dict(type='dict', default={}),
    )),
    drain_timeout=dict(type='float', default=300.0),
    on_drain_timeout=dict(type='str', default='fail', choices=list(ON_DRAIN_TIMEOUT)),
    healthy_timeout=dict(type='float', default=60.0),
    watch=dict(type='float', default=0.0),
    min_active=dict(type='int', default=1),
)

BLUE_GREEN_PHASES = (hs.PRESENT, hs.STAGED, hs.PROMOTED, hs.ROLLED_BACK)
ROLLING_PHASES = (hs.PRESENT, hs.ROLLED_BACK)


class SwitchSpecError(Exception):
    """Invalid balancers options; the message is complete (it ends with 'Nothing was changed.')."""


class SwitchFailure(Exception):
    """A balancer step failed; ``cause`` is the balancer's message."""

    def __init__(self, cause):
        Exception.__init__(self, cause)
        self.cause = cause


def _num(value):
    return int(value) if value == int(value) else value


# ------------------------------------------------------------------ validation

def _member_rules():
    """balancer_member's own rules on the connection options (required_if by balancer kind,
    certificate/key pairs); member/members are ours."""
    return dict(required_if=ARGUMENT_RULES['required_if'],
                required_together=[pair for pair in ARGUMENT_RULES['required_together']
                                   if not pair[0].startswith('docker_')])


def validate(params, service):
    """The balancers entries as balancer_member parameters (defaults applied), one per entry, in
    order. Raises SwitchSpecError. None when ``balancers`` is not given."""
    entries = params.get('balancers')
    if not entries:
        return None

    def refuse(where, why):
        raise SwitchSpecError('container_hotswap: service %s: %s: %s. Nothing was changed.'
                              % (service, where, why))

    for name in ('drain_timeout', 'healthy_timeout', 'watch'):
        value = params[name]
        if value < 0 or math.isnan(value) or math.isinf(value):
            refuse(name, 'must be a number of seconds >= 0, got %r' % value)
    if params['min_active'] < 0:
        refuse('min_active', 'must be >= 0, got %d' % params['min_active'])
    modes = set()
    seen = set()
    validated = []
    for index, entry in enumerate(entries):
        where = "balancers[%d] (%s backend '%s')" % (index, entry['balancer'], entry['backend'])
        if entry.get('members') and entry.get('member'):
            refuse(where, 'members (blue/green switch) and member (rolling mode) are mutually exclusive')
        if not entry.get('members') and not entry.get('member'):
            refuse(where, 'one of members (blue/green switch: {blue: <member>, green: <member>}) or member '
                          '(rolling mode) is required')
        mode = 'members' if entry.get('members') else 'member'
        modes.add(mode)
        if mode == 'members' and entry['members']['blue'] == entry['members']['green']:
            refuse(where, "members.blue and members.green are both '%s'; each slot needs its own member"
                   % entry['members']['blue'])
        key = (entry['balancer'], entry['backend'], repr(sorted((entry.get('connection') or {}).items())))
        if key in seen:
            refuse(where, 'the same backend of the same balancer is listed twice')
        seen.add(key)
        connection = dict(entry.get('connection') or {})
        unknown = sorted(set(connection) - set(CONNECTION_KEYS))
        if unknown:
            refuse(where, 'connection: unknown option(s) %s (known: %s)'
                   % (', '.join(unknown), ', '.join(CONNECTION_KEYS)))
        values = dict(connection, balancer=entry['balancer'], backend=entry['backend'],
                      members=[dict(name='-', state=ENABLED)], drain_timeout=params['drain_timeout'],
                      min_active=params['min_active'])
        values.setdefault('healthy_timeout', params['healthy_timeout'])
        spec = dict((k, v) for k, v in MEMBER_SPEC.items() if not k.startswith('docker_'))
        result = ArgumentSpecValidator(spec, **_member_rules()).validate(values)
        if result.error_messages:
            refuse(where, 'connection: %s' % '; '.join(result.error_messages))
        member_params = result.validated_parameters
        for name in ('request_timeout', 'poll_interval', 'healthy_timeout'):
            if member_params[name] is not None and member_params[name] < 0:
                refuse(where, 'connection.%s must be >= 0' % name)
        member_params.update(dict((k, params.get(k)) for k in MEMBER_SPEC if k.startswith('docker_')))
        validated.append(dict(index=index, where=where, entry=entry, params=member_params))
    if len(modes) > 1:
        refuse('balancers', 'every entry must use members (blue/green switch) or every entry member '
                            '(rolling mode), not both')
    phases = BLUE_GREEN_PHASES if 'members' in modes else ROLLING_PHASES
    if params['state'] not in phases + (hs.ABSENT,):
        refuse('balancers', '%s works with state %s, not %s'
               % ('members (blue/green switch)' if 'members' in modes else 'member (rolling mode)',
                  ', '.join(phases), params['state']))
    if params['strategy'] == 'reuseport' and 'members' in modes:
        refuse('balancers', 'members (one member per slot) needs strategy=balancer: with reuseport both '
                            'slots share one address; use member (rolling mode)')
    return validated


# ------------------------------------------------------------------ one balancer

class Balancer(object):
    """One entry of ``balancers``: its adapter, its parameters and what the run did to it."""

    def __init__(self, index, where, entry, params, adapter):
        self.index = index
        self.where = where
        self.kind = entry['balancer']
        self.backend = entry['backend']
        self.slots = entry.get('members')       # slot -> member (blue/green), or None
        self.member = entry.get('member')       # rolling mode
        self.params = params
        self.adapter = adapter
        self.names = list(self.slots.values()) if self.slots else [self.member]
        self.before = None                      # name -> state dict, read before any change
        self.touched = False                    # this run applied a change
        self.report = dict(balancer=self.kind, backend=self.backend, before=None, after=None,
                           up_seconds=0.0, drain_seconds=0.0, active_at_switch=None, reasserted=[],
                           restarts=[], persistence=None)

    def name_of(self, slot):
        return self.slots[slot] if self.slots else self.member

    def weight_before(self, name):
        return (self.before.get(name) or {}).get('weight')

    def read_states(self):
        backend = self.adapter.read(self.backend)
        return dict((name, backend.require(name).state_dict()) for name in self.names), backend


# ------------------------------------------------------------------ the switch

class Switch(object):
    """The balancer side of one container_hotswap run. ``balancers``: list of Balancer;
    ``options``: the module's parameters (name, watch, drain_timeout, on_drain_timeout)."""

    def __init__(self, balancers, options, check_mode=False, clock=time.monotonic, sleep=time.sleep, warn=None):
        self.service = options['name']
        self.balancers = balancers
        self.options = options
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep
        self.warn = warn or (lambda msg: None)
        self.rolling = balancers[0].slots is None
        self.reasserted = []
        self.long_lived = dict(open_at_switch=0, open_at_deadline=0, closed=0)
        self.timings = dict(switch=0.0, drain=0.0)
        self.changed = False
        self.drained_for_swap = False  # rolling: the member was drained for this run's swap

    # ---------------------------------------------------------------- small helpers
    def _new_run(self, bal, members, force=False, drain_timeout=None):
        close = self.options['on_drain_timeout'] == 'close'
        params = dict(bal.params, members=members, force=force, wait=True, ramp=None,
                      on_drain_timeout='proceed' if close else 'fail')
        if drain_timeout is not None:
            params['drain_timeout'] = drain_timeout
        return Run(bal.adapter, params, clock=self.clock, sleep=self.sleep, warn=self.warn, patient=True)

    def _finished(self, bal, result, phase=None):
        """What a Run did: re-assertions (the balancer runner's own, while it waited; ``phase``:
        the step they were made for, when the Run served only that one), changes."""
        for entry in result.get('reasserted') or []:
            self._reasserted(bal, dict(entry, phase=phase) if phase else entry)
        for entry in result.get('restarts') or []:
            bal.report['restarts'].append(dict(entry, phase=phase) if phase else entry)
        if result.get('changed'):
            bal.touched = True
            self.changed = True

    def _run(self, bal, members, force=False, drain_timeout=None):
        """One balancer_member transaction (plan, guard, apply, wait healthy, wait drained)."""
        try:
            result = self._new_run(bal, members, force=force, drain_timeout=drain_timeout).run()
        except RunFailure as exc:
            self._finished(bal, exc.result)
            raise SwitchFailure('%s: %s' % (bal.where, exc.msg))
        self._finished(bal, result)
        return result

    def _enable(self, bal, name, weight=None, extra=None):
        """``name`` in rotation (with ``extra`` members in the same transaction); wait until the
        balancer itself reports it up."""
        started = self.clock()
        member = dict(name=name, state=ENABLED)
        if weight is not None:
            member['weight'] = weight
        result = self._run(bal, [member] + (extra or []))
        bal.report['up_seconds'] = round(bal.report['up_seconds'] + self.clock() - started, 3)
        return result

    def _drain(self, bal, name, weight=None, timeout=None):
        """``name`` out of rotation; wait for 0 in flight. Returns the Run result."""
        member = dict(name=name, state=DRAINED)
        if weight is not None:
            member['weight'] = weight
        result = self._run(bal, [member], drain_timeout=timeout)
        bal.report['drain_seconds'] = round(bal.report['drain_seconds'] + result.get('drain_seconds', 0.0), 3)
        self.timings['drain'] = round(self.timings['drain'] + result.get('drain_seconds', 0.0), 3)
        if result.get('drain_timed_out'):
            left = (result.get('active_end') or {}).get(name) or 0
            self.long_lived['open_at_deadline'] += left
            self.long_lived['closed'] += left
        return result

    def _weight(self, bal, name):
        """The member's weight before this run, to set back (None: leave it)."""
        return bal.weight_before(name) if bal.adapter.weight_range is not None else None

    # ---------------------------------------------------------------- before anything
    def read_before(self):
        """Read every balancer before any change: unreachable balancers, unknown backends and
        members fail here, when nothing was changed."""
        for bal in self.balancers:
            try:
                bal.before, dummy = bal.read_states()
            except BalancerError as exc:
                msg = str(exc).strip()
                if 'Nothing was changed' not in msg:
                    msg += ' Nothing was changed.'
                raise SwitchSpecError('container_hotswap: service %s: %s: %s' % (self.service, bal.where, msg))
            bal.report['before'] = bal.before
            try:
                bal.report['persistence'] = bal.adapter.persistence()
            except BalancerError as exc:
                bal.report['persistence'] = 'unknown (%s)' % exc

    def plan_lines(self, old_slot, new_slot, swap):
        """What the balancers go through, for the plan (check mode reports it): dict of lists -
        first (before any change), switch (before the cutover), recheck (before the old container
        is stopped), last (at the end)."""
        parts = dict(first=[], switch=[], recheck=[], last=[])
        for bal in self.balancers:
            label = "%s backend '%s'" % (bal.kind, bal.backend)
            if self.rolling:
                if swap:
                    parts['first'].append('%s: drain %s and wait for 0 in flight (up to %ss)'
                                          % (label, bal.member, _num(self.options['drain_timeout'])))
                    parts['recheck'].append('%s: re-check that %s is out of rotation' % (label, bal.member))
                parts['last'].append('%s: enable %s and wait until the balancer reports it up (up to %ss)'
                                     % (label, bal.member, _num(bal.params['healthy_timeout'])))
            elif swap:
                new, old = bal.name_of(new_slot), bal.name_of(hs.other_slot(new_slot))
                parts['switch'].append('%s: enable %s and wait until the balancer reports it up (up to %ss)'
                                       % (label, new, _num(bal.params['healthy_timeout'])))
                if old_slot is not None and self.options['watch'] and bal.adapter.weight_range is not None:
                    parts['switch'].append('%s: keep %s in rotation at weight %d as the fallback during the '
                                           '%ss watch' % (label, old, FALLBACK_WEIGHT, _num(self.options['watch'])))
                parts['switch'].append('%s: drain %s and wait for 0 in flight (up to %ss, then %s)'
                                       % (label, old, _num(self.options['drain_timeout']),
                                          'fail and put everything back' if self.options['on_drain_timeout'] == 'fail'
                                          else 'close what remains with the stop signal'))
                if old_slot is not None:
                    parts['recheck'].append('%s: re-check that %s is out of rotation' % (label, old))
            elif new_slot is not None:
                parts['last'].append('%s: keep %s in rotation and %s parked (drained)'
                                     % (label, bal.name_of(new_slot), bal.name_of(hs.other_slot(new_slot))))
        return parts

    def predicted(self, active_slot):
        """{name: state dict} per balancer after the run, for check mode and the diff."""
        out = []
        for bal in self.balancers:
            after = {}
            for name in bal.names:
                state = dict(bal.before.get(name) or {})
                if self.rolling:
                    state['state'] = ENABLED
                elif active_slot is not None:
                    state['state'] = ENABLED if name == bal.name_of(active_slot) else bal.adapter.effective_state(DRAINED)
                after[name] = state
            out.append(after)
        return out

    # ---------------------------------------------------------------- rolling: drain first
    def drain_member(self):
        """Rolling mode, before the first change of a swap: every member out of rotation."""
        started = self.clock()
        drain_before = self.timings['drain']
        for bal in self.balancers:
            result = self._drain(bal, bal.member)
            bal.report['active_at_switch'] = (result.get('active_start') or {}).get(bal.member)
            self.long_lived['open_at_switch'] += bal.report['active_at_switch'] or 0
        self.drained_for_swap = True
        self.timings['switch'] = round(self.timings['switch'] + self.clock() - started
                                       - (self.timings['drain'] - drain_before), 3)

    # ---------------------------------------------------------------- blue/green: the switch
    def switch(self, old_slot, new_slot, watch=None):
        """Traffic from ``old_slot`` (None: nothing serves yet) to ``new_slot``. ``watch``: a
        callable(seconds) that raises SwitchFailure when the candidate fails during the watch."""
        started = self.clock()
        drain_before = self.timings['drain']
        watching = bool(self.options['watch']) and old_slot is not None
        for bal in self.balancers:
            new, old = bal.name_of(new_slot), bal.name_of(hs.other_slot(new_slot))
            extra = []
            if old_slot is not None and watching and bal.adapter.weight_range is not None:
                extra = [dict(name=old, state=ENABLED, weight=FALLBACK_WEIGHT)]
            self._enable(bal, new, weight=self._weight(bal, new), extra=extra)
        watched = 0.0
        if watching:
            mark = self.clock()
            watch(self.options['watch'])
            watched = self.clock() - mark
        for bal in self.balancers:
            old = bal.name_of(hs.other_slot(new_slot))
            result = self._drain(bal, old, weight=self._weight(bal, old))
            if old_slot is not None:
                bal.report['active_at_switch'] = (result.get('active_start') or {}).get(old)
                self.long_lived['open_at_switch'] += bal.report['active_at_switch'] or 0
        self.timings['switch'] = round(self.timings['switch'] + self.clock() - started - watched
                                       - (self.timings['drain'] - drain_before), 3)

    # ---------------------------------------------------------------- re-check
    def recheck(self, serving_slot, phase):
        """Right before capacity is removed: every balancer read again; what it lost of the state
        this run set (a reload, a restart) is put back - members in rotation first - and waited
        for again (Run.reassert). ``serving_slot``: the slot whose member must be in rotation
        (None in rolling mode: the member must be out of rotation)."""
        for bal in self.balancers:
            if self.rolling:
                members = [dict(name=bal.member, state=DRAINED)]
            else:
                members = [dict(name=bal.name_of(serving_slot), state=ENABLED),
                           dict(name=bal.name_of(hs.other_slot(serving_slot)), state=DRAINED)]
            run = self._new_run(bal, members, force=True)
            try:
                plan = make_plan(bal.adapter, run.read_answering(phase), run.requests, force=True)
                run.reassert(phase, plan)
            except BalancerError as exc:
                raise SwitchFailure('%s: re-reading it (%s) failed: %s' % (bal.where, phase, exc))
            except RunFailure as exc:
                self._finished(bal, exc.result, phase)
                raise SwitchFailure('%s: %s' % (bal.where, exc.msg))
            self._finished(bal, run.result, phase)

    def _reasserted(self, bal, entry):
        entry = dict(entry, balancer=bal.kind, backend=bal.backend)
        entry.pop('at', None)
        bal.report['reasserted'].append(entry)
        self.reasserted.append(entry)

    # ---------------------------------------------------------------- end state
    def converge(self, active_slot):
        """Blue/green: the active slot's member in rotation, the other parked; rolling: the member
        in rotation. Waits until the balancer reports the member up."""
        for bal in self.balancers:
            if self.rolling:
                self._enable(bal, bal.member, weight=self._weight(bal, bal.member))
                continue
            if active_slot is None:
                continue
            self._enable(bal, bal.name_of(active_slot))
            other = bal.name_of(hs.other_slot(active_slot))
            if not _holds(bal, self._state(bal, other), DRAINED):
                self._drain(bal, other)

    @staticmethod
    def _state(bal, name):
        states, dummy = bal.read_states()
        return states[name]['state']

    # ---------------------------------------------------------------- put back
    def put_back(self, old_slot, new_slot):
        """After a failure before the old container was retired: on every balancer this run
        changed, the old member in rotation with its weight from before, the new one parked.
        Returns (put back, could not) - lists of descriptions."""
        done, failed = [], []
        for bal in reversed(self.balancers):
            if not bal.touched:
                continue
            members = []
            if self.rolling:
                members.append(dict(name=bal.member, state=ENABLED))
                _with_weight(members[-1], self._weight(bal, bal.member))
                what = '%s enabled' % bal.member
            else:
                new = bal.name_of(new_slot)
                parked = (bal.before.get(new) or {}).get('state')
                parked = DRAINED if parked in (None, ENABLED) else parked
                if old_slot is not None:
                    old = bal.name_of(old_slot)
                    members.append(_with_weight(dict(name=old, state=ENABLED), self._weight(bal, old)))
                members.append(_with_weight(dict(name=new, state=parked), self._weight(bal, new)))
                what = ', '.join('%s %s' % (m['name'], m['state']) for m in members)
            try:
                self._run(bal, members, force=True)
                done.append("%s backend '%s' (%s)" % (bal.kind, bal.backend, what))
            except SwitchFailure as exc:
                failed.append(exc.cause)
        return done, failed

    def would_change(self, predicted):
        """Check mode: does the predicted end state differ from what the balancers report now?"""
        return any(_managed(bal.before.get(name)) != _managed(after.get(name))
                   for bal, after in zip(self.balancers, predicted or []) for name in bal.names)

    def diff(self, tracker, afters):
        """State and weight of every member, before and after, into the run's DiffTracker."""
        for bal, after in zip(self.balancers, afters or [{}] * len(self.balancers)):
            for name in bal.names:
                tracker.add("%s backend '%s' member '%s'" % (bal.kind, bal.backend, name),
                            _managed(bal.before.get(name)), _managed((after or {}).get(name)))

    def results(self, predicted=None):
        """The balancers' part of the module result (reads every balancer once more; check mode:
        ``predicted`` is the after)."""
        for number, bal in enumerate(self.balancers):
            bal.report['after'] = None if predicted is None else predicted[number]
            if predicted is None:
                try:
                    bal.report['after'], dummy = bal.read_states()
                except BalancerError as exc:
                    self.warn('%s: reading it at the end failed: %s' % (bal.where, exc))
        return dict(balancers=[b.report for b in self.balancers], reasserted=self.reasserted,
                    long_lived=self.long_lived)

    def close(self):
        for bal in self.balancers:
            try:
                bal.adapter.close()
            except Exception:  # closing a connection must not hide the result
                pass


def _holds(bal, state, want):
    """Is a member in ``state`` where ``want`` asks it to be (nginx folds drained into disabled)?"""
    if want == ENABLED:
        return state == ENABLED
    return state in (DRAINED, DISABLED, bal.adapter.effective_state(want))


def _managed(state):
    """What this module manages of a member: its state and weight."""
    if state is None:
        return None
    return dict(state=state.get('state'), weight=state.get('weight'))


def merge_plan(plan, lines, switch, state, predicted):
    """The container plan's lines with the balancers' steps where they happen."""
    swap = any(s.action == hs.RENAME and s.to_role == hs.ACTIVE for s in plan.steps)
    new_slot = (predicted.get(hs.ACTIVE) or {}).get('slot')
    active = state.active
    old_slot = active.slot if active is not None and active.running and swap else None
    parts = switch.plan_lines(old_slot, new_slot, swap)
    rename = next((i for i, s in enumerate(plan.steps) if s.action == hs.RENAME), len(lines))
    retire = next((i for i, s in enumerate(plan.steps) if i > rename and s.action in (hs.STOP, hs.REMOVE)),
                  len(lines))
    merged = []
    merged += parts['first']
    merged += lines[:rename] + parts['switch'] + lines[rename:retire] + parts['recheck'] + lines[retire:]
    merged += parts['last']
    return merged


def _with_weight(member, weight):
    if weight is not None:
        member['weight'] = weight
    return member


def build(validated, module, options, check_mode, clock=time.monotonic, sleep=time.sleep, adapters=None,
          docker=None):
    """Switch over the validated entries. ``adapters``: list of adapters to use instead of
    building them (unit tests). ``docker``: the module's engine client, used by adapters that
    work through the engine (nginx in a container: its docker_* options are the module's).
    Raises SwitchSpecError when an adapter cannot be built."""
    balancers = []
    for number, item in enumerate(validated):
        if module is not None and item['params'].get('apache_password'):
            # Inside a dict option no_log cannot be declared: masked wherever the module's arguments
            # or results are shown, as balancer_member's own no_log option is.
            module.no_log_values.add(item['params']['apache_password'])
        try:
            adapter = adapters[number] if adapters else build_adapter(
                item['params'], module, clock=clock, sleep=sleep, docker=docker)
        except (RunFailure, BalancerError) as exc:
            raise SwitchSpecError('container_hotswap: service %s: %s: %s Nothing was changed.'
                                  % (options['name'], item['where'], getattr(exc, 'msg', None) or str(exc)))
        balancers.append(Balancer(item['index'], item['where'], item['entry'], item['params'], adapter))
    return Switch(balancers, options, check_mode=check_mode, clock=clock, sleep=sleep,
                  warn=module.warn if module is not None else None)


# ------------------------------------------------------------------ hooks into the runner

class Hooks(object):
    """Called by _hotswap_run.Runner around the steps of a plan: ``before(step, runner)``,
    ``after(runner)``, and ``on_failure(runner)`` when a step fails before the cutover (returns
    the notes for the message and, when a balancer could not be put back, why the candidate must
    stay). The watch window is the runner's ``watch(name, seconds)``."""

    def __init__(self, switch, plan):
        self.switch = switch
        self.plan = plan
        self.to_active = next((s for s in plan.steps if s.action == hs.RENAME and s.to_role == hs.ACTIVE), None)
        self.first_change = next((s for s in plan.steps if s.action not in (hs.READY, hs.WARMUP)), None)
        self.old_slot = None
        self.new_slot = None
        self.done = False              # the switch (blue/green) ran

    @property
    def put_back_first(self):
        """Blue/green: the balancers are put back before the candidate is removed (it has a member
        of its own). Rolling: after (the one member reaches whichever container listens)."""
        return not self.switch.rolling

    def on_failure(self, runner):
        if not any(b.touched for b in self.switch.balancers):
            return [], None
        done, failed = self.switch.put_back(self.old_slot, self.new_slot)
        notes = []
        if done:
            notes.append('balancers put back: %s' % '; '.join(done))
        if failed:
            notes.append('balancers that could NOT be put back - check them: %s' % ' | '.join(failed))
            return notes, 'a balancer could not be put back and may still send it requests'
        return notes, None

    # the points of the plan --------------------------------------------------------
    def before(self, step, runner):
        try:
            self._before(step, runner)
        except SwitchFailure as exc:
            if runner.cutover:
                runner._fail(hs.Step('re-check of the balancers before stopping', step.role), exc.cause)
            action = 'drain before replacing' if self.switch.rolling else 'switch to'
            runner._fail(hs.Step(action, self.to_active.role if self.to_active is not None else step.role),
                         exc.cause)

    def _before(self, step, runner):
        switch = self.switch
        swap = self.to_active is not None
        if switch.rolling:
            if swap and step is self.first_change and not switch.drained_for_swap:
                self.new_slot = self.old_slot = None
                switch.drain_member()
        elif swap and step.action == hs.RENAME and not self.done:
            active = runner.roles.get(hs.ACTIVE)
            self.old_slot = active['slot'] if active is not None and active['status'] == 'running' else None
            self.new_slot = runner.roles[self.to_active.role]['slot']
            self.done = True
            switch.switch(self.old_slot, self.new_slot,
                          watch=lambda seconds: self._watch(runner, self.to_active.role, seconds))
        if step.action in (hs.STOP, hs.REMOVE) and step.role != hs.ACTIVE:
            cur = runner.roles.get(step.role) or {}
            active = runner.roles.get(hs.ACTIVE)
            if cur.get('status') == 'running' and (switch.rolling or active is not None):
                switch.recheck(None if switch.rolling else active['slot'],
                               'stopping %s' % cur.get('name'))

    def _watch(self, runner, role, seconds):
        name = runner.roles[role]['name']
        problem = runner.watch(name, seconds)
        if problem:
            raise SwitchFailure('watch of %s (%ss, the old container kept as the fallback): %s'
                                % (name, _num(seconds), problem))

    def after(self, runner):
        """The end state (raises SwitchFailure; the containers are in place then)."""
        active = runner.roles.get(hs.ACTIVE)
        if not self.done:
            self.switch.converge(active['slot'] if active is not None else None)
        elif not self.switch.rolling and active is not None and self.old_slot is not None:
            # One last look once the old container is gone: a balancer reloaded or restarted while
            # it stopped has put the old member back in rotation, and no look before could see it.
            self.switch.recheck(active['slot'], 'after retiring the old container')
