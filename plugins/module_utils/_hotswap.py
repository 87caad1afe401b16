# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Blue/green slots of one service: the state read from the engine, and the plan to reach a phase.

Pure logic, no engine I/O (the runner in _hotswap_run.py executes the plan).

A service ``web`` has at most three containers, one per role, each in one of two slots:

  role       container name    meaning
  active     web               takes the traffic
  candidate  web-candidate     staged beside the active one, not promoted yet
  previous   web-previous      the former active one: retired (stopped) and kept for rollback,
                               or still running when a swap was interrupted while retiring it

Docker labels cannot change after a container is created, so the *role* is the container name
(renames are atomic in the engine and names are unique, so two actives cannot exist), while the
labels record what never changes: the service, the slot, the image asked for and the hash of the
configuration. Everything is read from the engine on every run; there is no state file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import (
    DEFAULT_STOP_TIMEOUT, SLOTS)

ACTIVE, CANDIDATE, PREVIOUS = 'active', 'candidate', 'previous'
ROLES = (ACTIVE, CANDIDATE, PREVIOUS)

LABEL_SERVICE = 'zerodowntime.service'
LABEL_SLOT = 'zerodowntime.slot'
LABEL_HASH = 'zerodowntime.config-hash'
LABEL_CONFIG = 'zerodowntime.config'
LABEL_IMAGE = 'zerodowntime.image'

# The state option: one full swap, or one phase.
PRESENT, STAGED, PROMOTED, ROLLED_BACK, ABSENT = 'present', 'staged', 'promoted', 'rolled_back', 'absent'
PHASES = (PRESENT, STAGED, PROMOTED, ROLLED_BACK, ABSENT)

# Plan steps.
CREATE, START, READY, WARMUP, RENAME, STOP, REMOVE = (
    'create', 'start', 'ready', 'warmup', 'rename', 'stop', 'remove')


class StateError(Exception):
    """The engine holds something this module will not guess about; nothing was changed."""


class PlanError(Exception):
    """The phase cannot be reached from the current state; nothing was changed."""


def stop_timeout(value):
    """Seconds a container gets after its stop signal: its own (0 included), else the default."""
    return DEFAULT_STOP_TIMEOUT if value is None else value


def other_slot(slot):
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def container_name(service, role):
    return service if role == ACTIVE else '%s-%s' % (service, role)


def role_of(service, name):
    for role in ROLES:
        if name == container_name(service, role):
            return role
    return None


class Member(object):
    """One container of the service, as read from ``docker inspect``."""

    def __init__(self, service, info):
        config = info.get('Config') or {}
        labels = config.get('Labels') or {}
        state = info.get('State') or {}
        self.id = info['Id']
        self.name = (info.get('Name') or '').lstrip('/')
        self.role = role_of(service, self.name)
        self.slot = labels.get(LABEL_SLOT)
        self.config_hash = labels.get(LABEL_HASH)
        self.image = labels.get(LABEL_IMAGE) or config.get('Image')
        self.image_id = info.get('Image')
        self.status = state.get('Status') or ('running' if state.get('Running') else 'unknown')
        self.health = (state.get('Health') or {}).get('Status')
        self.exit_code = state.get('ExitCode')
        self.stop_signal = config.get('StopSignal') or 'SIGTERM'
        self.stop_timeout = config.get('StopTimeout')
        self.has_healthcheck = bool(config.get('Healthcheck')) and (
            (config.get('Healthcheck') or {}).get('Test') or ['NONE'])[0] != 'NONE'
        try:
            self.config = json.loads(labels.get(LABEL_CONFIG) or 'null')
        except ValueError:
            self.config = None

    @property
    def running(self):
        return self.status == 'running'

    def view(self):
        """What the module returns about this container."""
        return dict(id=self.id, name=self.name, role=self.role, slot=self.slot, image=self.image,
                    image_id=self.image_id, config_hash=self.config_hash, status=self.status,
                    health=self.health)


class Desired(object):
    """The container the task asks for: image ID plus the configuration hash of each slot."""

    def __init__(self, image, image_id, configs, hashes):
        self.image = image
        self.image_id = image_id
        self.configs = configs
        self.hashes = hashes

    def matches(self, member):
        return (member is not None and member.image_id == self.image_id
                and member.slot in self.hashes and member.config_hash == self.hashes[member.slot])


class ServiceState(object):
    """The containers of one service by role."""

    def __init__(self, service, members):
        self.service = service
        self.members = dict((m.role, m) for m in members)

    @property
    def active(self):
        return self.members.get(ACTIVE)

    @property
    def candidate(self):
        return self.members.get(CANDIDATE)

    @property
    def previous(self):
        return self.members.get(PREVIOUS)

    @property
    def empty(self):
        return not self.members

    def view(self):
        return dict((role, self.members[role].view() if role in self.members else None) for role in ROLES)


def read_state(service, infos):
    """ServiceState from the inspect dicts of (a) every container labelled for ``service`` and
    (b) every container holding one of the service's names. Raises StateError for containers
    the module did not make (a foreign container under one of its names, a labelled one under
    another name, a bad slot label): it never guesses about those."""
    members = []
    problems = []
    seen = set()
    for info in infos:
        if info['Id'] in seen:
            continue
        seen.add(info['Id'])
        labels = (info.get('Config') or {}).get('Labels') or {}
        name = (info.get('Name') or '').lstrip('/')
        role = role_of(service, name)
        owner = labels.get(LABEL_SERVICE)
        if owner != service:
            if role is not None:
                problems.append('container %s (%s) holds the name of the %s container but is not '
                                'managed by this module (label %s=%s is %s); rename or remove it'
                                % (name, info['Id'][:12], role, LABEL_SERVICE, service,
                                   'missing' if owner is None else 'for service %r' % owner))
            continue
        if role is None:
            problems.append('container %s (%s) is labelled %s=%s but its name is none of %s; '
                            'remove it or give it back its name'
                            % (name, info['Id'][:12], LABEL_SERVICE, service,
                               ', '.join(container_name(service, r) for r in ROLES)))
            continue
        if labels.get(LABEL_SLOT) not in SLOTS:
            problems.append('container %s (%s) has slot label %r, expected blue or green'
                            % (name, info['Id'][:12], labels.get(LABEL_SLOT)))
            continue
        members.append(Member(service, info))
    if problems:
        raise StateError('Service %s: %s. Nothing was changed.' % (service, '; '.join(problems)))
    return ServiceState(service, members)


# ------------------------------------------------------------------ the plan

class Step(object):
    """One action of a plan. ``role`` names the container the action applies to *at the time it
    runs* (renames move containers between roles)."""

    def __init__(self, action, role, slot=None, to_role=None, keep=False):
        self.action = action
        self.role = role
        self.slot = slot
        self.to_role = to_role
        self.keep = keep

    def __eq__(self, other):
        return isinstance(other, Step) and self.key() == other.key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key())

    def key(self):
        return (self.action, self.role, self.slot, self.to_role)

    def __repr__(self):
        return 'Step%r' % (self.key(),)


class Plan(object):
    def __init__(self, phase, steps, slot=None, notes=None):
        self.phase = phase
        self.steps = steps
        self.slot = slot            # the candidate slot, when a candidate is involved
        self.notes = notes or []    # warnings for the user (nothing to roll back...)

    @property
    def changes(self):
        """True when a step changes something (waiting and warming up only look)."""
        return any(step.action not in (READY, WARMUP) for step in self.steps)

    def actions(self):
        return [(s.action, s.role) if s.to_role is None else (s.action, s.role, s.to_role)
                for s in self.steps]


def _running_ok(member):
    return member is not None and member.running and member.health != 'unhealthy'


def _good_active(state, desired):
    return desired.matches(state.active) and state.active.running


def _retire(role, member_running, keep_previous):
    """Stop a retired container (its stop signal, then its stop timeout, then kill), and remove
    it unless it is kept for rollback."""
    steps = []
    if keep_previous:
        if member_running:
            steps.append(Step(STOP, role))
    else:
        steps.append(Step(REMOVE, role))
    return steps


def candidate_slot(state):
    if state.active is not None:
        return other_slot(state.active.slot)
    if state.candidate is not None:
        return state.candidate.slot
    if state.previous is not None:
        return other_slot(state.previous.slot)
    return SLOTS[0]


def _ensure_candidate(state, desired, warmup):
    """Steps that leave a ready candidate of ``desired`` in the free slot (the active container
    untouched). The new container is created before anything is removed from its slot, so an
    option the engine refuses fails before any change."""
    slot = candidate_slot(state)
    cand = state.candidate
    prev = state.previous
    steps = []
    # A running candidate is reused even when its health check failed so far: the readiness
    # wait tells a slow start from a failure (unhealthy after having been healthy fails it).
    reuse = (cand is not None and cand.slot == slot and desired.matches(cand)
             and cand.status in ('created', 'running'))
    if not reuse:
        if cand is not None:
            steps.append(Step(REMOVE, CANDIDATE))
        steps.append(Step(CREATE, CANDIDATE, slot=slot))
    if prev is not None and prev.slot == slot:
        steps.append(Step(REMOVE, PREVIOUS))   # the old rollback point occupies the slot
    if not reuse or cand.status == 'created':
        steps.append(Step(START, CANDIDATE))
    steps.append(Step(READY, CANDIDATE, slot=slot))
    if warmup:
        steps.append(Step(WARMUP, CANDIDATE, slot=slot))
    return slot, steps


def _cutover(state, keep_previous):
    """Candidate -> active; the former active -> previous, retired. Names move first (atomic),
    then the old container gets its stop signal: that graceful stop is the cutover of the
    reuseport strategy, and a run interrupted after the renames finds a running previous and
    finishes retiring it."""
    steps = []
    if state.active is not None:
        if state.previous is not None:
            steps.append(Step(REMOVE, PREVIOUS))
        steps.append(Step(RENAME, ACTIVE, to_role=PREVIOUS))
        steps.append(Step(RENAME, CANDIDATE, to_role=ACTIVE))
        steps += _retire(PREVIOUS, state.active.running, keep_previous)
    else:
        steps.append(Step(RENAME, CANDIDATE, to_role=ACTIVE))
        if state.previous is not None:
            steps += _retire(PREVIOUS, state.previous.running, keep_previous)
    return steps


def _finish_retire(state, keep_previous):
    """Retire the previous container as the cutover would have: a running one (a run killed
    while stopping it) is stopped or removed, and without keep_previous a stopped one goes too -
    a run killed between the stop and the removal leaves it exited, and it must not stay behind
    (nor become a rollback point the user did not ask for)."""
    prev = state.previous
    if prev is None:
        return []
    return _retire(PREVIOUS, prev.running, keep_previous)


def plan_phase(state, desired, phase, keep_previous=None, warmup=False):
    """The Plan that takes ``state`` to ``phase``. ``desired`` (a Desired) is required for
    present and staged, optional for promoted (then the candidate must match it), unused
    otherwise. ``keep_previous``: True, False or None (not given): None is False for present,
    staged and promoted; for rolled_back only an explicit False matters (see there).
    Raises PlanError when the phase cannot be reached; nothing was changed then."""
    svc = state.service
    act, cand, prev = state.active, state.candidate, state.previous

    if phase == ABSENT:
        steps = [Step(REMOVE, role) for role in (CANDIDATE, PREVIOUS, ACTIVE) if role in state.members]
        return Plan(phase, steps)

    if phase in (PRESENT, STAGED):
        if _good_active(state, desired):
            steps = []
            if cand is not None:
                steps.append(Step(REMOVE, CANDIDATE))      # staged for another version: stale
            if phase == PRESENT:
                steps += _finish_retire(state, keep_previous)
            return Plan(phase, steps)
        slot, steps = _ensure_candidate(state, desired, warmup)
        if phase == PRESENT:
            # The candidate may have been replaced: the cutover sees the state after staging.
            staged = ServiceState(svc, [m for m in state.members.values() if m.role == ACTIVE]
                                  + ([prev] if prev is not None and prev.slot != slot else []))
            steps += _cutover(staged, keep_previous)
        return Plan(phase, steps, slot=slot)

    if phase == PROMOTED:
        if cand is not None:
            if desired is not None and not desired.matches(cand):
                raise PlanError(
                    'Cannot promote %s: it runs image %s (%s) with configuration %s, not the one this '
                    'task asks for (%s, %s, configuration %s); stage the desired version first (state=staged). '
                    'Nothing was changed.' % (cand.name, cand.image, (cand.image_id or '')[:19],
                                              (cand.config_hash or '')[:12], desired.image,
                                              desired.image_id[:19], desired.hashes[cand.slot][:12]))
            if not _running_ok(cand):
                raise PlanError(
                    'Cannot promote %s: it is %s%s, not running and ready; stage it again '
                    '(state=staged). Nothing was changed.'
                    % (cand.name, cand.status, ', %s' % cand.health if cand.health else ''))
            return Plan(phase, _cutover(state, keep_previous), slot=cand.slot)
        if act is not None and (desired is None or _good_active(state, desired)):
            return Plan(phase, _finish_retire(state, keep_previous))
        if act is not None:
            raise PlanError(
                'Nothing staged to promote for service %s: there is no %s container, and the '
                'active one (%s) runs image %s with configuration %s, not the desired %s; stage '
                'it first (state=staged). Nothing was changed.'
                % (svc, container_name(svc, CANDIDATE), act.name, act.image,
                   (act.config_hash or '')[:12], desired.image))
        raise PlanError('Nothing to promote for service %s: it has no %s container%s. Nothing was '
                        'changed.' % (svc, container_name(svc, CANDIDATE),
                                      '' if prev is None else ' and no active one'))

    if phase == ROLLED_BACK:
        steps = []
        if cand is not None:
            if act is None and prev is not None:
                # interrupted cutover: the former active one is still (or again) the one to keep
                if not prev.running:
                    steps += [Step(START, PREVIOUS), Step(READY, PREVIOUS, slot=prev.slot)]
                steps.append(Step(RENAME, PREVIOUS, to_role=ACTIVE))
            steps.append(Step(REMOVE, CANDIDATE))
            if act is not None and prev is not None:
                # Staging discards the previous container (it holds the candidate's slot); one
                # is left only when a run was killed while staging. Removing it with the
                # candidate keeps a second rollback from going one version further back.
                steps.append(Step(REMOVE, PREVIOUS))
            return Plan(phase, steps, slot=cand.slot)
        if prev is not None and act is not None and not prev.running and keep_previous is False:
            # A stopped previous beside an active one, and the task says previous containers are
            # not kept: it is what a run with keep_previous=false left behind when it was killed
            # between stopping and removing it, not a rollback point (a run not interrupted would
            # have removed it, and this rollback would find nothing). Restoring it would depend on
            # when that run died, so it is removed as that run meant to. Without keep_previous
            # (None) it is restored, as a kept one is.
            return Plan(phase, [Step(REMOVE, PREVIOUS)], notes=[
                'Nothing to roll back for service %s: %s is stopped and keep_previous is false, so it '
                'is not a rollback point (a run that was to remove it was interrupted); it is removed. '
                'Run with keep_previous=true to restore it instead.'
                % (svc, container_name(svc, PREVIOUS))])
        if prev is not None:
            if not prev.running:
                steps += [Step(START, PREVIOUS), Step(READY, PREVIOUS, slot=prev.slot)]
            if act is not None:
                steps += [Step(RENAME, ACTIVE, to_role=CANDIDATE),
                          Step(RENAME, PREVIOUS, to_role=ACTIVE),
                          Step(REMOVE, CANDIDATE)]
            else:
                steps.append(Step(RENAME, PREVIOUS, to_role=ACTIVE))
            return Plan(phase, steps, slot=prev.slot)
        return Plan(phase, [], notes=[
            'Nothing to roll back for service %s: there is no %s and no %s container.'
            % (svc, container_name(svc, CANDIDATE), container_name(svc, PREVIOUS))])

    raise ValueError('unknown phase %r' % phase)


# ------------------------------------------------------------------ describing and predicting

def describe(step, service, roles):
    """A line of the plan for humans. ``roles``: role -> view dict at the time the step runs."""
    name = container_name(service, step.role)
    cur = roles.get(step.role) or {}
    timeout = stop_timeout(cur.get('stop_timeout'))
    if step.action == CREATE:
        return 'create %s in slot %s (image %s)' % (name, step.slot, cur.get('image'))
    if step.action == START:
        return 'start %s' % name
    if step.action == READY:
        return 'wait until %s (slot %s) is ready' % (name, step.slot or cur.get('slot'))
    if step.action == WARMUP:
        return 'warm up %s' % name
    if step.action == RENAME:
        return 'rename %s to %s' % (name, container_name(service, step.to_role))
    if step.action == STOP:
        return 'stop %s (%s, up to %ss, then kill) and keep it for rollback' % (
            name, cur.get('stop_signal') or 'SIGTERM', timeout)
    if step.action == REMOVE:
        if cur.get('status') == 'running':
            return 'stop %s (%s, up to %ss, then kill) and remove it' % (
                name, cur.get('stop_signal') or 'SIGTERM', timeout)
        return 'remove %s (%s)' % (name, cur.get('status'))
    return '%s %s' % (step.action, name)


def simulate(plan, state, desired, stop_timeout=None, stop_signal=None):
    """(lines describing the plan, predicted view of every role afterwards) without any I/O."""
    roles = {}
    for role, member in state.members.items():
        view = member.view()
        view.update(stop_signal=member.stop_signal, stop_timeout=member.stop_timeout)
        roles[role] = view
    lines = []
    for step in plan.steps:
        if step.action == CREATE:
            roles[CANDIDATE] = dict(id=None, name=container_name(state.service, CANDIDATE),
                                    role=CANDIDATE, slot=step.slot, image=desired.image,
                                    image_id=desired.image_id, config_hash=desired.hashes[step.slot],
                                    status='created', health=None, stop_signal=stop_signal or 'SIGTERM',
                                    stop_timeout=stop_timeout)
        lines.append(describe(step, state.service, roles))
        cur = roles.get(step.role)
        if step.action == START:
            cur['status'] = 'running'
        elif step.action == STOP:
            cur['status'] = 'exited'
        elif step.action == REMOVE:
            roles.pop(step.role, None)
        elif step.action == RENAME:
            moved = roles.pop(step.role)
            moved['role'] = step.to_role
            moved['name'] = container_name(state.service, step.to_role)
            roles[step.to_role] = moved
    after = {}
    for role in ROLES:
        view = roles.get(role)
        if view is not None:
            view = dict((k, v) for k, v in view.items() if k not in ('stop_signal', 'stop_timeout'))
        after[role] = view
    return lines, after


class DiffTracker(object):
    """(name, before, after) per field; the diff holds the fields that differ."""

    def __init__(self):
        self._fields = []

    def add(self, name, before, after):
        self._fields.append((name, before, after))

    @property
    def changed(self):
        return any(before != after for dummy, before, after in self._fields)

    def diff(self):
        before, after = {}, {}
        for name, old, new in self._fields:
            if old != new:
                before[name] = old
                after[name] = new
        return dict(before=before, after=after)


ENV_HIDDEN = '(hidden)'
ENV_HIDDEN_CHANGED = '(hidden, changed)'


def hide_env(before, after):
    """The two configurations of one role with their env values hidden: the diff reaches logs and
    AWX job output, and env (env_files included) is where secrets go. A variable whose value
    differs reads ENV_HIDDEN_CHANGED on both sides, so the diff still says what changed."""
    def hidden(config, other):
        if config is None:
            return None
        env = config.get('env') or {}
        theirs = (other or {}).get('env') or {}
        config = dict(config)
        config['env'] = dict((name, ENV_HIDDEN if other is not None and theirs.get(name) == value
                              else ENV_HIDDEN_CHANGED) for name, value in env.items())
        return config
    return hidden(before, after), hidden(after, before)


def service_diff(service, before_roles, after_roles, configs_before, configs_after):
    """A DiffTracker over the image and configuration of every role. ``*_roles``: role -> view;
    ``configs_*``: role -> normalized configuration (or None). Env values are hidden (hide_env)."""
    tracker = DiffTracker()
    for role in ROLES:
        old, new = before_roles.get(role), after_roles.get(role)
        key = container_name(service, role)
        tracker.add('%s.image' % key, (old or {}).get('image'), (new or {}).get('image'))
        tracker.add('%s.image_id' % key, (old or {}).get('image_id'), (new or {}).get('image_id'))
        tracker.add('%s.slot' % key, (old or {}).get('slot'), (new or {}).get('slot'))
        tracker.add('%s.config' % key, *hide_env(configs_before.get(role), configs_after.get(role)))
    return tracker
