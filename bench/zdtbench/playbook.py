"""Strategies that are playbooks (bench/playbooks/*.yml), run with ansible-runner.

This is where the collection's roles plug in. The contract (bench/playbooks/README.md): the
playbook gets ``bench_action`` = setup | swaps | teardown and the bench_* extra vars below; for
``swaps`` it runs every swap of ``bench_swaps`` in order through tasks/swaps.yml, which brackets
each swap with two marker tasks setting the facts ``bench_swap_started`` / ``bench_swap_ended``
to the swap's index. The tasks between the markers are the swap's phases, timed by the task
events ansible-runner records. Setup and teardown of fronts and backends are the playbook's.
"""

import datetime
import importlib.util
import os
import shutil
import sys
import tempfile
import time

from zdtbench import collection, profile
from zdtbench.strategy import Strategy, StrategyError
from zdtbench.swaps import Phase, Swap

PLAYBOOK_DIR = os.path.join(collection.REPO_ROOT, 'bench', 'playbooks')
ROLES_DIR = os.path.join(collection.REPO_ROOT, 'roles')
TASK_EVENTS = ('runner_on_ok', 'runner_on_failed', 'runner_on_skipped', 'runner_on_unreachable')
# An include only loads tasks; its own event would be a zero-length phase.
INCLUDE_ACTIONS = ('include_tasks', 'include_role')
START_MARK = 'bench_swap_started'
END_MARK = 'bench_swap_ended'
# Inside a swap, optional: one member of it (a backend of a rolling restart), reported as a swap
# of its own with the outer swap's index as its group.
MEMBER_START_MARK = 'bench_member_started'
MEMBER_END_MARK = 'bench_member_ended'


def parse_event_time(text):
    """Epoch seconds of an event time ('2026-11-22T00:42:23.538780+00:00'; naive = UTC)."""
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def task_records(events):
    """(name, start, end, facts) of every finished task, in order; times in epoch seconds."""
    records = []
    for event in events:
        data = event.get('event_data') or {}
        if event.get('event') not in TASK_EVENTS or not data.get('start') or not data.get('end'):
            continue
        if (data.get('task_action') or '').split('.')[-1] in INCLUDE_ACTIONS:
            continue
        facts = (data.get('res') or {}).get('ansible_facts') or {}
        records.append((data.get('task') or '?', parse_event_time(data['start']),
                        parse_event_time(data['end']), facts))
    return records


def swaps_from_events(events, specs, to_monotonic):
    """The Swaps of one ``swaps`` run: the tasks between each pair of marker tasks are phases.

    ``to_monotonic`` turns epoch seconds into time.monotonic() values. A swap starts when its
    start marker finished and ends when its end marker began; a missing end marker (the
    playbook failed mid-swap) raises StrategyError. When a swap holds member markers, each
    member is a swap of its own (numbered on from 0 over the run, group = the swap's index) and
    the swap itself is not reported."""
    by_index = dict((spec.index, spec) for spec in specs)
    swaps = []
    current = member = None
    for name, start, end, facts in task_records(events):
        if START_MARK in facts:
            current = dict(index=int(facts[START_MARK]), start=end, phases=[], members=[])
        elif END_MARK in facts and current is not None:
            spec = by_index[current['index']]
            if current['members']:
                for one in current['members']:
                    swaps.append(Swap(len(swaps), to_monotonic(one['start']), to_monotonic(one['end']),
                                      spec.old_version, spec.new_version, one['phases'], spec.index))
            else:
                swaps.append(Swap(spec.index, to_monotonic(current['start']), to_monotonic(start),
                                  spec.old_version, spec.new_version, current['phases']))
            current = None
        elif current is not None and MEMBER_START_MARK in facts:
            member = dict(start=end, phases=[])
        elif current is not None and MEMBER_END_MARK in facts and member is not None:
            member['end'] = start
            current['members'].append(member)
            member = None
        elif current is not None:
            phase = Phase(name, to_monotonic(start), to_monotonic(end))
            (member or current)['phases'].append(phase)
    if current is not None:
        raise StrategyError('swap %d started but never ended (no %s marker)' % (current['index'], END_MARK))
    return swaps


def _result_message(result):
    """The message of a task result; for a loop, that of its first failed item."""
    failed_items = [item for item in result.get('results') or [] if isinstance(item, dict) and item.get('failed')]
    if failed_items:
        return _result_message(failed_items[0])
    return result.get('msg') or result.get('stderr') or 'failed'


def failure_message(events):
    """'task: message' of the last failed task (the one that ended the play), or None."""
    for event in reversed(events):
        data = event.get('event_data') or {}
        if event.get('event') in ('runner_on_failed', 'runner_on_unreachable') and not data.get('ignore_errors'):
            return '%s: %s' % (data.get('task'), _result_message(data.get('res') or {}))
    return None


def _runner_env():
    """Environment for ansible-playbook: this Python, and the collection from this checkout
    unless a collections path is set already (make bench sets the installed copy)."""
    env = dict(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get('PATH', ''),
               ANSIBLE_NOCOLOR='1')
    env.setdefault('ANSIBLE_PYTHON_INTERPRETER', os.environ.get('ANSIBLE_PYTHON_INTERPRETER', sys.executable))
    if not os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
        collection.module_util('_traffic')        # makes sure the checkout link exists
        env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(collection.REPO_ROOT, '.tmp', 'bench-import')
    return env


def collection_installed(name):
    """Whether the collection ``namespace.name`` is importable where ansible-playbook finds the
    ones installed with Python packages (the `ansible` package bundles community.*)."""
    try:
        return importlib.util.find_spec('ansible_collections.%s' % name) is not None
    except ImportError:
        return False


class PlaybookStrategy(Strategy):
    """A strategy run by a playbook. role: the collection role it needs (None: needs none);
    extravars: strategy variables on top of the bench_* ones; collections: other collections
    its playbook uses (a peer's), pending while one is not installed."""

    def __init__(self, name, playbook, role=None, extravars=None, kind='ours', hand_script=None,
                 mixed_window_target=True, description='', collections=()):
        super(PlaybookStrategy, self).__init__(name)
        self.playbook = os.path.join(PLAYBOOK_DIR, playbook)
        self.collections = tuple(collections)
        self.role = role
        self.extravars = dict(extravars or {})
        self.kind = kind
        self.hand_script = hand_script
        self.mixed_window_target = mixed_window_target
        self.description = description or 'playbook %s' % playbook
        self.env = None

    def pending_reason(self):
        if self.role and not os.path.isdir(os.path.join(ROLES_DIR, self.role)):
            return 'role roles/%s does not exist yet' % self.role
        if not os.path.exists(self.playbook):
            return 'playbook %s does not exist yet' % os.path.relpath(self.playbook, collection.REPO_ROOT)
        missing = [name for name in self.collections if not collection_installed(name)]
        if missing:
            return 'collection(s) %s not installed (the `ansible` package of tests/requirements.txt has them)' % (
                ', '.join(missing))
        return None

    def _bench_vars(self, env):
        return dict(bench_name_prefix=env.prefix + self.name + '-', bench_port=env.port,
                    bench_backend_ports=list(env.backend_ports), bench_images=dict(env.images),
                    bench_backends=env.backends,
                    bench_initial_version=env.swap_specs(1)[0].old_version, **profile.extravars(env.app))

    def _run(self, action, **extra):
        """Run the playbook once; returns its events. Raises StrategyError when it fails."""
        import ansible_runner           # only strategies that run playbooks need it
        extravars = dict(self._bench_vars(self.env), bench_action=action, **self.extravars)
        extravars.update(extra)
        workdir = tempfile.mkdtemp(prefix='zdt-bench-runner-')
        try:
            runner = ansible_runner.run(
                private_data_dir=workdir, playbook=self.playbook, quiet=True,
                inventory='localhost ansible_connection=local', extravars=extravars,
                envvars=_runner_env())
            events = list(runner.events)
            if runner.status != 'successful':
                raise StrategyError('%s %s: %s (rc %s): %s' % (
                    os.path.basename(self.playbook), action, runner.status, runner.rc,
                    failure_message(events) or 'no failed task reported'))
            return events
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def setup(self, env):
        self.env = env
        self._run('setup')

    def run_swaps(self, specs, pause, seconds=None):
        """Every swap in one playbook run. With ``seconds``, the playbook starts no swap after
        that many seconds (bench_swap_deadline, epoch seconds; the first swap always runs)."""
        offset = time.time() - time.monotonic()
        extra = dict(bench_swap_pause=pause,
                     bench_swaps=[dict(index=spec.index, old_version=spec.old_version,
                                       new_version=spec.new_version, image=spec.image) for spec in specs])
        if seconds is not None:
            extra['bench_swap_deadline'] = round(time.time() + seconds, 3)
        events = self._run('swaps', **extra)
        swaps = swaps_from_events(events, specs, lambda epoch: epoch - offset)
        reported = sorted(set(swap.index if swap.group is None else swap.group for swap in swaps))
        expected = [spec.index for spec in specs][:len(reported) if seconds is not None else len(specs)]
        if not reported or reported != expected:
            raise StrategyError('%s: swaps %s asked, %s reported by the playbook'
                                % (self.name, [spec.index for spec in specs], reported))
        return swaps

    def teardown(self):
        self._run('teardown')

    def info(self):
        result = super(PlaybookStrategy, self).info()
        result.update(playbook=os.path.relpath(self.playbook, collection.REPO_ROOT), role=self.role,
                      extravars=self.extravars, collections=list(self.collections))
        return result
