# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The one interface every balancer adapter implements, the data it speaks, and the logic that is
the same for every balancer: the plan (what changes), the last-member guard and the weight ramp
(the bounded poll loop is ``_poll.wait_for``).

An adapter (``_haproxy.py``, ``_apache.py``, ``_nginx.py``, ``_caddy.py``) only knows how to
  - ``read(backend)``            -> ``Backend`` with its ``Member`` list (state, weight, health, active)
  - ``apply(backend, changes)``  -> put a list of ``Change`` into effect in one balancer transaction
                                    (or as close to one as the balancer allows)
  - ``active(backend, names)``   -> {member: active requests/connections} for the drain wait
Everything else (which member changes, whether that is allowed, waiting, ramping) lives here and in
``_runner.py`` and never asks which balancer it talks to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

ENABLED = 'enabled'
DRAINED = 'drained'
DISABLED = 'disabled'
STATES = (ENABLED, DRAINED, DISABLED)

# Health as the balancer reports it.
UP = 'up'                  # serving and, where the balancer checks, confirmed by its checks
DOWN = 'down'              # the balancer's checks (or errors) mark it unusable
UNCONFIRMED = 'unconfirmed'  # in rotation, but no check has confirmed it since it came back
UNKNOWN = 'unknown'        # the balancer has no opinion (no checks, checks paused, nginx)


class BalancerError(Exception):
    """A failure talking to, or acting on, a balancer. The message is complete for the user."""


class BalancerInputError(BalancerError):
    """A value the argument spec cannot judge (weight out of the balancer's range, bad address)."""


class BalancerConnectionError(BalancerError):
    """The balancer could not be reached, refused the credentials or the TLS handshake."""


class BalancerResponseError(BalancerError):
    """The balancer answered something this adapter does not understand."""


class NotFoundError(BalancerError):
    """The backend or member does not exist; the message lists the ones that do."""


class ApplyError(BalancerError):
    """The balancer refused or did not take the change; the message says what was left how.
    ``partial``: some of the transaction did take effect (the message lists it)."""

    def __init__(self, msg, partial=False):
        BalancerError.__init__(self, msg)
        self.partial = partial


class GuardError(BalancerError):
    """The last-member guard refused the plan."""


def parse_number(text, what, where):
    """int (or float when not whole) from balancer output; BalancerResponseError naming the field."""
    value = (text or '').strip()
    try:
        number = float(value)
    except ValueError:
        raise BalancerResponseError('%s: expected a number for %s, got %r' % (where, what, value))
    if math.isnan(number) or math.isinf(number):
        raise BalancerResponseError('%s: expected a number for %s, got %r' % (where, what, value))
    return int(number) if number == int(number) else number


class Member(object):
    """One member (server, worker) of a backend, as the balancer reports it right now.

    state:    enabled | drained | disabled (the administrative state this module manages)
    weight:   current weight / load factor (None when the balancer has none)
    health:   UP | DOWN | UNCONFIRMED | UNKNOWN
    serving:  True when the balancer would send it a new request now
    active:   requests/connections it is still working on (see each adapter)
    status:   the balancer's own words for the member, for messages (e.g. 'DRAIN', 'Init Drn Ok')
    config_weight: the weight it has in the configuration (the target of a ramp without weight)
    """

    def __init__(self, name, state, weight=None, health=UNKNOWN, serving=False, active=0,
                 status='', config_weight=None, serves_when_enabled=None):
        self.name = name
        self.state = state
        self.weight = weight
        self.health = health
        self.serving = serving
        self.active = active
        self.status = status
        self.config_weight = weight if config_weight is None else config_weight
        # Would it take requests if it were enabled (its health allows it)? Used by the guard for
        # members a plan puts into rotation.
        self.serves_when_enabled = (health != DOWN) if serves_when_enabled is None else serves_when_enabled

    def as_dict(self):
        return dict(name=self.name, state=self.state, weight=self.weight, health=self.health,
                    serving=self.serving, active=self.active, status=self.status,
                    config_weight=self.config_weight)

    def state_dict(self):
        """What the module manages, for before/after/diff."""
        return dict(state=self.state, weight=self.weight, health=self.health, status=self.status)

    def __repr__(self):
        return 'Member(%r, %r, weight=%r, health=%r, active=%r)' % (
            self.name, self.state, self.weight, self.health, self.active)


class Backend(object):
    """A backend (HAProxy backend, Apache balancer, nginx upstream) and its members.

    generation: what identifies the running balancer instance, as far as the adapter can tell
    (HAProxy: its worker's pid; Apache: the balancer's nonce, new on every restart); None when
    the adapter cannot tell. A change between two reads is a reload or restart.
    """

    def __init__(self, name, members, where='', generation=None):
        self.name = name
        self.members = list(members)
        self.where = where
        self.generation = generation

    def names(self):
        return [m.name for m in self.members]

    def get(self, name):
        for member in self.members:
            if member.name == name:
                return member
        return None

    def require(self, name):
        member = self.get(name)
        if member is None:
            raise NotFoundError(
                "Member '%s' not found in backend '%s' of %s. Members there: %s. Nothing was changed."
                % (name, self.name, self.where, ', '.join(self.names()) or '(none)'))
        return member


def backend_not_found(name, existing, where, kind='backend'):
    return NotFoundError("%s '%s' not found in %s. %ss there: %s. Nothing was changed." % (
        kind.capitalize(), name, where, kind.capitalize(), ', '.join(existing) or '(none)'))


class Change(object):
    """One member's target in a transaction. state/weight None = leave as it is."""

    def __init__(self, name, state=None, weight=None):
        self.name = name
        self.state = state
        self.weight = weight

    def __eq__(self, other):
        return (self.name, self.state, self.weight) == (other.name, other.state, other.weight)

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return 'Change(%r, state=%r, weight=%r)' % (self.name, self.state, self.weight)


def ordered(changes):
    """Transaction order shared by all adapters: weights and members entering rotation first,
    members leaving it last, so that a cutover never has a moment where nobody takes requests."""
    rank = {ENABLED: 0, None: 0, DRAINED: 1, DISABLED: 1}
    return sorted(changes, key=lambda c: rank[c.state])


class BalancerAdapter(object):
    """The interface. Subclasses set ``kind`` and implement read/apply (and active when the
    active count of a member is not part of read())."""

    kind = None
    #: (min, max) of a weight the balancer accepts; None when its members have no weight.
    weight_range = (0, 256)
    #: Why weight_range is None, for the message that refuses a weight or a ramp.
    no_weights_reason = ''
    #: True when apply() is one balancer transaction (HAProxy: one round trip; nginx: one reload).
    atomic = True
    #: What makes this balancer keep the states across its own reloads and restarts, for the
    #: message of a run that gave up re-asserting them.
    keep_state_hint = ''

    def describe(self):
        """'HAProxy runtime API at /run/haproxy/admin.sock' - used in every message."""
        raise NotImplementedError

    def effective_state(self, state):
        """The state the balancer will report after being asked for ``state`` (nginx folds
        drained into disabled: its only out-of-rotation state is ``down``)."""
        return state

    def read(self, backend):
        """Backend with all members. NotFoundError (listing the backends) when it does not exist."""
        raise NotImplementedError

    def apply(self, backend, changes):
        """Put ``changes`` (list of Change, already ordered) into effect. ApplyError on refusal."""
        raise NotImplementedError

    def active(self, backend, names, current=None):
        """{name: active count} for the drain wait. ``current``: a Backend just read, when the
        caller has one (adapters whose count is part of read() need no second round trip)."""
        if current is None:
            current = self.read(backend)
        return dict((name, current.require(name).active) for name in names)

    def release(self, backend, names):
        """Make the balancer let go of the idle (pooled keep-alive) connections it keeps to
        ``names``: members out of rotation with nothing in flight any more, so that their server
        stops at once when told to, instead of waiting for connections nobody will use. Their
        state stays as it is. Returns what was done, for the result (None: nothing to do here)."""
        return None

    def persistence(self):
        """Whether the balancer keeps the states across its own reloads and restarts, as far as
        the adapter can tell (a short text for the result), or None."""
        return None

    def close(self):
        """Release connections. Called once at the end."""


# ---------------------------------------------------------------------------------- the plan

class Request(object):
    """What the user asked for one member."""

    def __init__(self, name, state, weight=None):
        self.name = name
        self.state = state
        self.weight = weight


def ramp_weights(target, steps):
    """Weights of a ramp to ``target``: ``steps`` are percentages of it, in order. Every step
    takes at least weight 1 (0 would take the member out again), consecutive repeats are dropped
    and the last step is always ``target``."""
    weights = []
    for percent in steps:
        weight = max(1, int(round(target * percent / 100.0)))
        weight = min(weight, target)
        if not weights or weights[-1] != weight:
            weights.append(weight)
    if not weights or weights[-1] != target:
        weights.append(target)
    return weights


class Plan(object):
    """Decided before anything is done: the first transaction, the ramp that follows, and the
    members the run waits for."""

    def __init__(self, backend, requests):
        self.backend = backend
        self.requests = requests
        self.changes = []          # first transaction (Change list, ordered)
        self.ramps = {}            # member -> every weight of its ramp (the first one is in changes)
        self.targets = {}          # member -> dict(state=, weight=) expected after the run
        self.leaving = []          # members this plan takes out of rotation

    @property
    def changed(self):
        return bool(self.changes or self.ramps)

    def predicted_after(self, name):
        """State dict of a member after the run, for check mode."""
        member = self.backend.get(name)
        after = member.state_dict()
        after.update(self.targets[name])
        return after


def _would_serve(member, state, weight):
    if state != ENABLED:
        return False
    if weight is not None and weight <= 0:
        return False
    if member.state == ENABLED and member.weight == weight:
        return member.serving
    return member.serves_when_enabled


def make_plan(adapter, backend, requests, min_active=1, force=False, ramp_steps=None):
    """Compare what was asked with what the balancer reports; raise GuardError if the plan would
    leave fewer than ``min_active`` members serving (unless ``force``). Pure: no balancer calls."""
    plan = Plan(backend, requests)
    _refuse_weights(adapter, requests, ramp_steps)
    low, high = adapter.weight_range or (None, None)
    seen = set()
    for req in requests:
        if req.name in seen:
            raise BalancerInputError(
                "Member '%s' is listed twice in 'members'. Nothing was changed." % req.name)
        seen.add(req.name)
        member = backend.require(req.name)
        if req.weight is not None and not low <= req.weight <= high:
            raise BalancerInputError(
                "weight %s for member '%s' is outside what %s accepts (%s..%s). Nothing was changed."
                % (req.weight, req.name, adapter.describe(), low, high))
        target_state = adapter.effective_state(req.state)
        entering = target_state == ENABLED and member.state != ENABLED
        # A member in rotation below its configured weight was left part-way up a ramp (a run
        # killed between two steps): without an explicit weight, the ramp resumes from there.
        resuming = (target_state == ENABLED and not entering and req.weight is None
                    and None not in (member.weight, member.config_weight)
                    and member.weight < member.config_weight)
        target_weight = req.weight
        ramp = []
        if ramp_steps and (entering or resuming):
            goal = req.weight if req.weight is not None else member.config_weight
            if goal is not None and goal > 1:
                ramp = ramp_weights(goal, ramp_steps)
                if resuming:
                    ramp = [weight for weight in ramp if weight > member.weight]
                target_weight = goal
        first_weight = ramp[0] if ramp else target_weight
        change = Change(req.name)
        if target_state != member.state:
            change.state = target_state
        if first_weight is not None and first_weight != member.weight:
            change.weight = first_weight
        if change.state is not None or change.weight is not None:
            plan.changes.append(change)
        if len(ramp) > 1:
            plan.ramps[req.name] = ramp
        plan.targets[req.name] = dict(
            state=target_state,
            weight=target_weight if target_weight is not None else member.weight)
    plan.changes = ordered(plan.changes)
    _guard(plan, backend, min_active, force)
    return plan


def _refuse_weights(adapter, requests, ramp_steps):
    """A weight or a ramp asked of a balancer whose members have none: refused, saying why."""
    if adapter.weight_range is not None:
        return
    weighted = ["'%s'" % req.name for req in requests if req.weight is not None]
    if not weighted and not ramp_steps:
        return
    asked = 'weight for %s' % ', '.join(weighted) if weighted else 'ramp (it steps weights)'
    raise BalancerInputError('%s cannot take a %s: %s. Nothing was changed.'
                             % (adapter.describe(), asked, adapter.no_weights_reason))


def _guard(plan, backend, min_active, force):
    """The last-member guard: refuse to take serving members out of rotation when fewer than
    ``min_active`` would be left serving in the backend."""
    serving_after = []
    for member in backend.members:
        target = plan.targets.get(member.name)
        if target is None:
            if member.serving:
                serving_after.append(member.name)
        elif _would_serve(member, target['state'], target['weight']):
            serving_after.append(member.name)
    plan.leaving = [m.name for m in backend.members
                    if m.serving and m.name in plan.targets and m.name not in serving_after]
    if not plan.leaving or len(serving_after) >= min_active or force:
        return
    others = ['%s (%s)' % (m.name, _why(m)) for m in backend.members if m.name not in plan.leaving]
    raise GuardError(
        "Refusing to take %s out of rotation in backend '%s': %d member(s) would be left serving "
        "(%s), fewer than min_active=%d. The other members: %s. Set force: true to do it anyway. "
        "Nothing was changed."
        % (', '.join("'%s'" % n for n in plan.leaving), backend.name, len(serving_after),
           ', '.join(serving_after) or 'none', min_active, '; '.join(others) or 'none'))


def _why(member):
    if member.serving:
        return 'serving'
    if member.state != ENABLED:
        return member.state
    return 'enabled, not serving: %s' % (member.status or member.health)
