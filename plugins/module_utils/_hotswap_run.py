# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""container_hotswap end to end: validate, connect, resolve the image, take the lock, read the
state, plan (_hotswap.py), then -- behind one check-mode gate -- execute the plan step by step.

``Runner`` executes a plan against an engine (_hotswap_engine.DockerEngine or a fake); failures
before the cutover remove the candidate (or keep it, when asked) and leave the active container
untouched. ``run_module`` is the whole module body.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math
import re
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _switch
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import (
    CONTAINER_ARGS, SpecError, build_spec, canonical_json, create_args)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import (
    DOCKER_CONNECTION_ARGS, DOCKER_CONNECTION_REQUIRED_TOGETHER, module_docker_client)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import (
    DockerEngine, EngineError)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._lock import LockTimeout, ServiceLock
from ansible_collections.zerodowntime.deploy.plugins.module_utils._sysctl import (
    MODES as MIGRATE_MODES, SysctlError, ensure_migrate_req)

STRATEGIES = ('balancer', 'reuseport')
LOG_LINES = 20
TIMING_KEYS = ('pull', 'lock', 'create', 'start', 'ready', 'warmup', 'switch', 'drain', 'cutover', 'retire',
               'total')
_STEP_TIMING = {hs.CREATE: 'create', hs.START: 'start', hs.READY: 'ready', hs.WARMUP: 'warmup',
                hs.RENAME: 'cutover', hs.STOP: 'retire', hs.REMOVE: 'retire'}
_NAME = re.compile(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]*$')
_PLACEHOLDER = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}')
_NO_PLACEHOLDERS = ('body_regex',)


def argument_spec():
    spec = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', default=hs.PRESENT, choices=list(hs.PHASES)),
        strategy=dict(type='str', default='balancer', choices=list(STRATEGIES)),
        tcp_migrate_req=dict(type='str', default='require', choices=list(MIGRATE_MODES)),
        # No default: state=rolled_back tells "not given" from an explicit false (_hotswap.plan_phase).
        keep_previous=dict(type='bool'),
        keep_failed=dict(type='bool', default=False),
        wait_healthy=dict(type='bool', default=True),
        lock_timeout=dict(type='float', default=300.0),
        lock_ttl=dict(type='int', default=1800),
    )
    spec.update(copy.deepcopy(CONTAINER_ARGS))
    spec.update(copy.deepcopy(_readiness.READINESS_NESTED_ARGS))
    spec.update(copy.deepcopy(_switch.SWITCH_ARGS))
    spec.update(DOCKER_CONNECTION_ARGS)
    return spec


REQUIRED_IF = [('state', hs.PRESENT, ('image',)), ('state', hs.STAGED, ('image',))]
REQUIRED_TOGETHER = DOCKER_CONNECTION_REQUIRED_TOGETHER


class HotswapError(Exception):
    """A failure with a complete message; ``details`` go to the result."""

    def __init__(self, msg, **details):
        super(HotswapError, self).__init__(msg)
        self.msg = msg
        self.details = details


# ------------------------------------------------------------------ readiness per slot

def substitute(value, values, where):
    """``value`` with every ${NAME} in its strings replaced from ``values`` (recursively; keys in
    _NO_PLACEHOLDERS are left alone). Raises SpecError for an unknown name."""
    if isinstance(value, dict):
        return dict((k, v if k in _NO_PLACEHOLDERS else substitute(v, values, '%s.%s' % (where, k)))
                    for k, v in value.items())
    if isinstance(value, list):
        return [substitute(v, values, '%s[%d]' % (where, i)) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def repl(match):
        if match.group(1) not in values:
            raise SpecError('%s: unknown placeholder ${%s} (known: %s)'
                            % (where, match.group(1), ', '.join(sorted(values))))
        return values[match.group(1)]
    return _PLACEHOLDER.sub(repl, value)


def slot_readiness(readiness, placeholders):
    """The readiness options of one slot: placeholders replaced."""
    readiness = readiness or {}
    return dict(
        checks=substitute(readiness.get('checks') or [], placeholders, 'readiness.checks'),
        warmup=substitute(readiness['warmup'], placeholders, 'readiness.warmup')
        if readiness.get('warmup') else None,
        timeout=readiness.get('timeout', 60.0),
        interval=readiness.get('interval', 1.0),
        success_threshold=readiness.get('success_threshold', 1),
        initial_delay=readiness.get('initial_delay', 0.0),
    )


def container_check(name, healthy=True):
    """The check the module adds for the container it waits for: running (exit or removal fails
    at once) and, with ``healthy`` and a HEALTHCHECK in the container, healthy (turning unhealthy
    after having been healthy fails at once)."""
    return dict(type='container', name='container %s' % name, container=name, healthy=healthy)


# ------------------------------------------------------------------ the runner

class Runner(object):
    """Executes a Plan. ``engine``: DockerEngine-like; ``docker``: the client the readiness
    container check uses; ``wait_ready``/``warmup`` default to _readiness."""

    def __init__(self, engine, service, spec, desired, readiness, keep_failed=False, docker=None,
                 wait_ready=None, warmup=None, clock=time.monotonic, sleep=time.sleep, wait_healthy=True,
                 hooks=None):
        self.engine = engine
        self.hooks = hooks         # _switch.Hooks: the balancers, moved at points of the plan
        self.service = service
        self.spec = spec
        self.desired = desired
        self.readiness = readiness or {}
        self.keep_failed = keep_failed
        self.wait_healthy = wait_healthy
        self.docker = docker
        self.wait_ready = wait_ready or _readiness.wait_until_ready
        self.warmup = warmup or _readiness.run_warmup
        self.clock = clock
        self.sleep = sleep
        self.timings = dict((k, 0.0) for k in TIMING_KEYS if k not in ('pull', 'lock', 'switch', 'drain', 'total'))
        self.report = dict(readiness=None, warmup=None, retired=[], candidate_logs=None)
        self.roles = {}
        self.created = set()       # roles whose container this run created
        self.started = set()       # container IDs this run started
        self.cutover = False

    def _bind(self, state):
        for role, member in state.members.items():
            self.roles[role] = dict(id=member.id, name=member.name, slot=member.slot,
                                    image=member.image, status=member.status,
                                    stop_timeout=member.stop_timeout)

    def name(self, role):
        return hs.container_name(self.service, role)

    def run(self, plan, state):
        self._bind(state)
        for step in plan.steps:
            if self.hooks is not None:
                self.hooks.before(step, self)
            start = self.clock()
            try:
                self._do(step)
            except HotswapError:
                raise
            except (EngineError, SpecError, _readiness.ReadinessInputError) as exc:
                self._fail(step, str(exc))
            finally:
                key = _STEP_TIMING[step.action]
                self.timings[key] = round(self.timings[key] + self.clock() - start, 3)
        if self.hooks is not None:
            try:
                self.hooks.after(self)
            except _switch.SwitchFailure as exc:
                active = self.roles.get(hs.ACTIVE)
                raise HotswapError(
                    'Service %s: putting the balancers into their end state failed: %s. The containers are '
                    'in place (active: %s); run again to converge the balancers.'
                    % (self.service, exc.cause.rstrip('.'),
                       '%s, slot %s' % (active['name'], active['slot']) if active else 'none'),
                    cutover=self.cutover)
        return self.report

    # ---------------------------------------------------------------- steps
    def _do(self, step):
        cur = self.roles.get(step.role)
        if step.action == hs.CREATE:
            self._create(step.slot)
        elif step.action == hs.START:
            self.engine.start(cur['id'])
            self.started.add(cur['id'])
            cur['status'] = 'running'
        elif step.action == hs.READY:
            self._ready(step.role, cur)
        elif step.action == hs.WARMUP:
            self._warmup(step.role, cur)
        elif step.action == hs.RENAME:
            self.engine.rename(cur['id'], self.name(step.to_role))
            self.roles[step.to_role] = self.roles.pop(step.role)
            self.roles[step.to_role]['name'] = self.name(step.to_role)
            if step.role in self.created:
                self.created.discard(step.role)
            if step.to_role == hs.ACTIVE:
                self.cutover = True
        elif step.action == hs.STOP:
            self._stop(step.role, cur)
        elif step.action == hs.REMOVE:
            if cur['status'] == 'running':
                self._stop(step.role, cur)
            self.engine.remove(cur['id'])
            self.roles.pop(step.role)
            self.created.discard(step.role)

    def _create(self, slot):
        config = self.desired.configs[slot]
        labels = {hs.LABEL_SERVICE: self.service, hs.LABEL_SLOT: slot,
                  hs.LABEL_HASH: self.desired.hashes[slot], hs.LABEL_CONFIG: canonical_json(config),
                  hs.LABEL_IMAGE: self.desired.image}
        name = self.name(hs.CANDIDATE)
        kwargs, networks = create_args(self.engine.api, config, self.desired.image, name, labels)
        container_id = self.engine.create(kwargs, networks)
        self.roles[hs.CANDIDATE] = dict(id=container_id, name=name, slot=slot, image=self.desired.image,
                                        status='created', stop_timeout=config['stop_timeout'])
        self.created.add(hs.CANDIDATE)

    def _ready(self, role, cur):
        options = slot_readiness(self.readiness, self.spec.placeholders(cur['slot']) if self.spec else {'SLOT': cur['slot']})
        checks = [container_check(cur['name'], self.wait_healthy)] + options['checks']
        result = self.wait_ready(checks, options['timeout'], options['interval'],
                                 options['success_threshold'], initial_delay=options['initial_delay'],
                                 docker=self.docker, clock=self.clock, sleep=self.sleep,
                                 option_prefix='readiness.')
        self.report['readiness'] = result.as_dict()
        if not result.ok:
            self._fail(hs.Step(hs.READY, role), result.msg, readiness=True)

    def _warmup(self, role, cur):
        options = slot_readiness(self.readiness, self.spec.placeholders(cur['slot']))
        stats = self.warmup(options['warmup'], clock=self.clock, option_prefix='readiness.')
        self.report['warmup'] = stats
        if stats.get('failed') and options['warmup'].get('fail_on_error', True):
            self._fail(hs.Step(hs.WARMUP, role), stats.get('msg') or 'warmup requests failed')

    def watch(self, name, seconds):
        """Keep watching container ``name`` for ``seconds``: it must stay running (and healthy,
        with a HEALTHCHECK) the whole time. Returns what went wrong, or None."""
        polls = max(1, int(math.ceil(seconds / _switch.WATCH_INTERVAL)))
        result = self.wait_ready([container_check(name, self.wait_healthy)], seconds + 30, _switch.WATCH_INTERVAL,
                                 polls, docker=self.docker, clock=self.clock, sleep=self.sleep)
        return None if result.ok else result.msg

    def _stop(self, role, cur):
        timeout = hs.stop_timeout(cur.get('stop_timeout'))
        record = self.engine.stop(cur['id'], timeout)
        record.update(name=cur['name'], role=role, id=cur['id'])
        self.report['retired'].append(record)
        cur['status'] = 'exited'

    # ---------------------------------------------------------------- failure
    def _fail(self, step, cause, readiness=False):
        """Undo what this run started before the cutover, then raise HotswapError whose message
        names the service, the step, the cause and what was left as it was."""
        cur = self.roles.get(step.role) or {}
        what = '%s %s' % (step.action, cur.get('name') or self.name(step.role))
        notes = []
        keep_reason = None
        put_back = self.hooks is not None and not self.cutover
        if put_back and self.hooks.put_back_first:
            # Blue/green: traffic back on the old container's member before the candidate goes.
            notes, keep_reason = self.hooks.on_failure(self)
        logs = None
        cand = self.roles.get(hs.CANDIDATE)
        if not self.cutover and cand is not None and step.role == hs.CANDIDATE:
            logs = self.engine.logs(cand['id'], LOG_LINES)
            self.report['candidate_logs'] = logs
            if self.keep_failed:
                notes.append('%s was kept for debugging (keep_failed=true)' % cand['name'])
            elif keep_reason:
                notes.append('%s was kept: %s' % (cand['name'], keep_reason))
            else:
                try:
                    if cand['status'] == 'running':
                        self.engine.stop(cand['id'], hs.stop_timeout(cand.get('stop_timeout')))
                    self.engine.remove(cand['id'])
                    self.roles.pop(hs.CANDIDATE)
                    notes.append('%s was removed' % cand['name'])
                except EngineError as exc:
                    notes.append('removing %s failed too (%s)' % (cand['name'], exc))
        prev = self.roles.get(hs.PREVIOUS)
        if step.role == hs.PREVIOUS and prev is not None and prev['id'] in self.started and not keep_reason:
            try:
                self.engine.stop(prev['id'], hs.stop_timeout(prev.get('stop_timeout')))
                notes.append('%s was stopped again' % prev['name'])
            except EngineError as exc:
                notes.append('stopping %s again failed (%s)' % (prev['name'], exc))
        if put_back and not self.hooks.put_back_first:
            # Rolling: the member reaches whichever container listens - the candidate goes first.
            notes += self.hooks.on_failure(self)[0]
        act = self.roles.get(hs.ACTIVE)
        if act is not None:
            notes.append('the active container %s (slot %s, image %s, %s) %s' % (
                act['name'], act['slot'], act['image'], act['status'],
                'is the new version (the cutover was done)' if self.cutover else 'was left untouched'))
        else:
            notes.append('service %s has no active container' % self.service)
        msg = 'Service %s: %s failed: %s. Then: %s.' % (
            self.service, what, cause.strip().rstrip('.'), '; '.join(notes))
        if logs and 'Last log lines' not in cause:
            msg += ' Last log lines of %s: %s' % (cand['name'], ' | '.join(logs) or '(none)')
        raise HotswapError(msg, cutover=self.cutover)


# ------------------------------------------------------------------ the module body

def _validate(params):
    """Everything that can be judged without the engine. Raises SpecError."""
    if not _NAME.match(params['name']):
        raise SpecError('name: %r is not a valid container name (letters, digits, _ . -; starting '
                        'with a letter or digit)' % params['name'])
    if params['strategy'] == 'reuseport' and not params.get('network_mode') and not params.get('networks'):
        # host is this strategy's default: build_spec must judge the options against it (it
        # refuses published ports there, which Docker would silently drop on the host network).
        params = dict(params, network_mode='host')
    spec = build_spec(params)
    if params['strategy'] == 'reuseport':
        mode = spec.common['network_mode'] or 'host'
        if mode != 'host' and not mode.startswith('container:'):
            raise SpecError('strategy=reuseport: both slots must share one network namespace to '
                            'share a port: network_mode host (the default for this strategy) or '
                            'container:<name>, got %r' % mode)
        spec.common['network_mode'] = mode
    if params['lock_timeout'] < 0 or params['lock_ttl'] <= 0:
        raise SpecError('lock_timeout must be >= 0 and lock_ttl > 0')
    readiness = params.get('readiness') or {}
    for slot in hs.SLOTS:
        options = slot_readiness(readiness, spec.placeholders(slot))
        try:
            _readiness.check_input(options['checks'], options['timeout'], options['interval'],
                                   options['success_threshold'], options['initial_delay'],
                                   options['warmup'], option_prefix='readiness.')
        except _readiness.ReadinessInputError as exc:
            raise SpecError('%s (slot %s)' % (exc, slot))
    return spec


def _member_config(member):
    return member.config if member is not None else None


def _preflight(engine, params, spec, state, plan, engine_local):
    """Checks against the engine before any change: networks exist, published host ports free."""
    mode = spec.common['network_mode'] or ''
    if mode.startswith('container:') and engine.inspect(mode.split(':', 1)[1]) is None:
        raise SpecError('network_mode=%s: container %s does not exist' % (mode, mode.split(':', 1)[1]))
    for net in [n['name'] for n in spec.common['networks']] + (
            [mode] if mode and mode not in ('host', 'none', 'bridge', 'default') and ':' not in mode else []):
        if not engine.network_exists(net):
            raise SpecError('network %s does not exist on the engine' % net)
    creates = [s for s in plan.steps if s.action == hs.CREATE]
    if not creates:
        return
    slot = creates[0].slot
    own_ids = set(m.id for m in state.members.values())
    in_slot_running = any(m.slot == slot and m.running for m in state.members.values())
    for ip, port, proto in spec.host_ports[slot]:
        users = engine.port_users(port, proto, own_ids)
        if users:
            raise SpecError('slots.%s.published_ports: host port %d/%s is already published by %s'
                            % (slot, port, proto, ', '.join(users)))
        if engine_local and not in_slot_running:
            problem = engine.port_free_here(ip, port, proto)
            if problem:
                raise SpecError('slots.%s.published_ports: host port %s:%d/%s is taken on the Docker '
                                'host (%s)' % (slot, ip, port, proto, problem))


def _view(state):
    return state.view() if state is not None else dict((r, None) for r in hs.ROLES)


def run_module(module, clock=time.monotonic):
    params = module.params
    service = params['name']
    phase = params['state']
    check_mode = module.check_mode
    started = clock()
    timings = dict((k, 0.0) for k in TIMING_KEYS)
    result = dict(changed=False, state=phase, plan=[], sysctl=None, lock=None, readiness=None,
                  warmup=None, retired=[], timings=timings)
    nothing = 'Nothing was changed.'

    try:
        spec = _validate(params)
        balancers = _switch.validate(params, service)
    except SpecError as exc:
        module.fail_json(msg='Service %s: invalid options: %s. %s' % (service, exc, nothing), **result)
    except _switch.SwitchSpecError as exc:
        module.fail_json(msg=str(exc), **result)

    client = module_docker_client(module)
    engine = DockerEngine(client, clock=clock)
    switch = None
    if balancers and phase != hs.ABSENT:
        result.update(balancers=[], reasserted=[], long_lived=None)
        try:
            switch = _switch.build(balancers, module, params, check_mode, clock=clock, docker=client)
        except _switch.SwitchSpecError as exc:
            module.fail_json(msg=str(exc), **result)
    engine_local = params['docker_host'].startswith('unix://')

    desired = None
    try:
        if params.get('image'):
            start = clock()
            pull = params['pull'] if phase in (hs.PRESENT, hs.STAGED) else 'never'
            image_id, pulled = engine.resolve_image(params['image'], pull, check_mode=check_mode)
            timings['pull'] = round(clock() - start, 3)
            if check_mode and pulled:
                result['plan'].append('pull image %s (pull=%s)' % (params['image'], pull))
            configs = dict((slot, spec.config(slot)) for slot in hs.SLOTS)
            hashes = dict((slot, spec.config_hash(slot)) for slot in hs.SLOTS)
            desired = hs.Desired(params['image'], image_id, configs, hashes)
        state = hs.read_state(service, engine.service_infos(service))
    except (EngineError, hs.StateError) as exc:
        module.fail_json(msg='Service %s: %s. %s' % (service, str(exc).rstrip('.'), nothing)
                         if not isinstance(exc, hs.StateError) else str(exc), **result)

    warnings = []
    if params['strategy'] == 'reuseport' and phase in (hs.PRESENT, hs.STAGED, hs.PROMOTED):
        try:
            sysctl, more = ensure_migrate_req(params['tcp_migrate_req'], spec.common['network_mode'],
                                              engine_local, check_mode, inspect_container=engine.inspect)
        except SysctlError as exc:
            module.fail_json(msg='Service %s: %s' % (service, exc), **result)
        result['sysctl'] = sysctl
        warnings += more
        result['changed'] = bool(sysctl['changed'])

    lock = None
    lock_image = desired.image_id if desired else next(
        (m.image_id for m in state.members.values() if m.image_id), None)
    if not check_mode and lock_image:
        lock = ServiceLock(engine, service, lock_image, params['lock_ttl'], params['lock_timeout'], clock=clock)
        start = clock()
        try:
            result['lock'] = lock.acquire()
        except LockTimeout as exc:
            module.fail_json(msg=str(exc), **result)
        except Exception as exc:
            module.fail_json(msg='Service %s: taking the deploy lock %s failed: %s. %s'
                             % (service, lock.name, exc, nothing), **result)
        timings['lock'] = round(clock() - start, 3)
        for holder in result['lock']['took_over']:
            warnings.append('Took over the deploy lock of service %s from %s.' % (service, holder))

    try:
        _decide_and_act(module, engine, client, params, spec, desired, phase, engine_local,
                        result, warnings, started, clock, switch=switch)
    finally:
        if switch is not None:
            switch.close()
        if lock is not None:
            try:
                lock.release()
            except Exception as exc:  # the result matters more; an expired lock is taken over
                module.warn('Releasing the deploy lock %s failed: %s' % (lock.name, exc))


def _decide_and_act(module, engine, client, params, spec, desired, phase, engine_local, result,
                    warnings, started, clock, switch=None):
    service = params['name']
    nothing = 'Nothing was changed.'
    timings = result['timings']
    warmup = bool((params.get('readiness') or {}).get('warmup'))
    try:
        # Read again under the lock: the state before the lock was only used to pick its image.
        state = hs.read_state(service, engine.service_infos(service))
        plan = hs.plan_phase(state, desired, phase, keep_previous=params['keep_previous'], warmup=warmup)
        _preflight(engine, params, spec, state, plan, engine_local)
        if switch is not None:
            switch.read_before()
    except (EngineError, SpecError) as exc:
        module.fail_json(msg='Service %s: %s. %s' % (service, str(exc).rstrip('.'), nothing), **result)
    except (hs.StateError, hs.PlanError, _switch.SwitchSpecError) as exc:
        module.fail_json(msg=str(exc), **result)

    lines, predicted = hs.simulate(plan, state, desired, stop_timeout=spec.common['stop_timeout'],
                                   stop_signal=spec.common['stop_signal'])
    warnings += plan.notes
    balancers_after = None
    if switch is not None:
        lines = _switch.merge_plan(plan, lines, switch, state, predicted)
        balancers_after = switch.predicted(
            (predicted.get(hs.ACTIVE) or {}).get('slot'))
        result.update(switch.results(predicted=balancers_after))
    result['plan'] = result['plan'] + lines
    result['changed'] = result['changed'] or plan.changes or bool(switch and switch.would_change(balancers_after))
    if state.active is not None and state.active.health == 'unhealthy' and not plan.changes:
        warnings.append('The active container %s runs the desired version but is unhealthy.'
                        % state.active.name)
    configs_before = dict((r, _member_config(state.members.get(r))) for r in hs.ROLES)

    after_roles = predicted
    if not module.check_mode and (plan.changes or switch is not None):
        runner = Runner(engine, service, spec, desired, params.get('readiness'),
                        keep_failed=params['keep_failed'], docker=client, clock=clock,
                        wait_healthy=params['wait_healthy'],
                        hooks=_switch.Hooks(switch, plan) if switch is not None else None)
        try:
            runner.run(plan, state)
        except HotswapError as exc:
            result.update(runner.report)
            timings.update(runner.timings)
            if switch is not None:
                timings.update(switch.timings)
                result.update(switch.results())
            timings['total'] = round(clock() - started, 3)
            after = _safe_state(engine, service)
            sysctl_changed = bool(result['sysctl'] and result['sysctl']['changed'])
            result['changed'] = (sysctl_changed or after is None or _fingerprint(after) != _fingerprint(state)
                                 or bool(switch and switch.changed))
            result.update(_view(after))
            for warning in warnings:
                module.warn(warning)
            module.fail_json(msg=exc.msg, **result)
        result.update(runner.report)
        timings.update(runner.timings)
        if switch is not None:
            timings.update(switch.timings)
            result.update(switch.results())
            result['changed'] = plan.changes or switch.changed or bool(result['sysctl'] and result['sysctl']['changed'])
            balancers_after = [b['after'] for b in result['balancers']]
        after = _safe_state(engine, service)
        after_roles = _view(after)
        for record in runner.report['retired']:
            if record.get('forced'):
                warnings.append('%s did not exit within %ss after %s and was killed; requests it '
                                'still had in flight were cut.' % (record['name'], record['timeout'],
                                                                   record['signal']))
    configs_after = {}
    for role in hs.ROLES:
        view = after_roles.get(role)
        if view is None:
            configs_after[role] = None
        elif desired is not None and view.get('config_hash') == desired.hashes.get(view.get('slot')):
            configs_after[role] = desired.configs[view['slot']]
        else:
            configs_after[role] = next((m.config for m in state.members.values() if m.id == view.get('id')),
                                       None)
    tracker = hs.service_diff(service, _view(state), after_roles, configs_before, configs_after)
    if switch is not None:
        switch.diff(tracker, balancers_after)
    if module._diff:
        result['diff'] = tracker.diff()
    result.update(dict((role, after_roles.get(role)) for role in hs.ROLES))
    timings['total'] = round(clock() - started, 3)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


def _fingerprint(state):
    """What counts as a change of the service: which container holds which role, in which status."""
    return sorted((role, m.id, m.status) for role, m in state.members.items())


def _safe_state(engine, service):
    try:
        return hs.read_state(service, engine.service_infos(service))
    except Exception:
        return None
