# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One ansible-playbook run of the collection's playbooks, as an operator starts it, that the
test can watch (the trace of the zdt_fault_trace callback) and SIGKILL as a whole.

"As a whole" means every process of the run: ansible-core 2.19 workers call setsid(), so they
and the modules they run are in sessions of their own, and killing ansible-playbook's process
group would leave a module running to its end (and releasing its lock) - not the crash this
suite is about. The run is killed like a controller that dies: its process tree is frozen
(SIGSTOP, so nothing forks meanwhile), then every process of it gets SIGKILL.
"""

import json
import os
import signal
import subprocess
import sys
import time

from harness.judges import send_signal

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CALLBACKS = os.path.join(HERE, 'callback_plugins')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


STARTED = []


def kill_leftovers():
    """Kill every run this process started that still runs (after a test that failed half way)."""
    while STARTED:
        run = STARTED.pop()
        if run.running():
            run.kill()


def process_tree(root):
    """``root`` and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                ppid = int(handle.read().rpartition(')')[2].split()[1])
        except (IOError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


class PlaybookTimeout(AssertionError):
    """The run did not end (or reach an event) in time; it was killed."""


class PlaybookRun(object):
    """``playbook``: FQCN of a collection playbook; ``inventory``: text (YAML/JSON);
    ``extra_vars``: dict; ``hold_at``: (task name, occurrence) where the run waits to be killed."""

    def __init__(self, workdir, label, playbook, inventory, extra_vars, hold_at=None):
        self.dir = os.path.join(str(workdir), label)
        os.makedirs(self.dir)
        self.label = label
        self.trace = os.path.join(self.dir, 'trace.jsonl')
        self.release_file = os.path.join(self.dir, 'release')
        self.log = os.path.join(self.dir, 'stdout.log')
        self.playbook = playbook
        self.hold_at = hold_at
        self._write('inventory.yml', json.dumps(inventory))
        self._write('vars.json', json.dumps(extra_vars))
        self.proc = None
        self.started = None
        self.ended = None               # time.monotonic() when it ended (wait() or kill())
        self.rc = None
        self.killed = False
        self.killed_pids = []

    def _write(self, name, text):
        with open(os.path.join(self.dir, name), 'w') as handle:
            handle.write(text)

    def env(self):
        env = dict(os.environ)
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
            ANSIBLE_CALLBACKS_ENABLED='zdt_fault_trace',
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_RETRY_FILES_ENABLED='0',
            # Temp dirs of a killed run stay in the test's own directory.
            ANSIBLE_LOCAL_TEMP=os.path.join(self.dir, 'local-tmp'),
            ANSIBLE_REMOTE_TEMP=os.path.join(self.dir, 'remote-tmp'),
            ZDT_FAULT_TRACE=self.trace,
            ZDT_FAULT_RELEASE=self.release_file,
        )
        env.pop('ZDT_FAULT_HOLD_AT', None)
        if self.hold_at:
            env['ZDT_FAULT_HOLD_AT'] = '%s#%d' % self.hold_at
        return env

    def start(self):
        argv = [ANSIBLE_PLAYBOOK, '-i', os.path.join(self.dir, 'inventory.yml'),
                '-e', '@' + os.path.join(self.dir, 'vars.json'), self.playbook]
        with open(self.log, 'w') as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                                         cwd=self.dir, start_new_session=True)
        self.started = time.monotonic()
        STARTED.append(self)
        return self

    # ------------------------------------------------------------------ watching
    def events(self):
        try:
            with open(self.trace) as handle:
                lines = handle.read().splitlines()
        except IOError:
            return []
        return [json.loads(line) for line in lines if line.endswith('}')]

    def running(self):
        return self.proc.poll() is None

    def wait_for(self, predicate, timeout, what):
        """Poll the trace until ``predicate(events)`` is true; the run is killed on a timeout or
        when it ends first."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.events()
            if predicate(events):
                return events
            if not self.running():
                raise PlaybookTimeout('%s: the run ended (rc %s) before %s. Log: %s'
                                      % (self.label, self.proc.returncode, what, self.tail()))
            if time.monotonic() > deadline:
                self.kill()
                raise PlaybookTimeout('%s: no %s within %ss. Log: %s' % (self.label, what, timeout, self.tail()))
            time.sleep(0.02)

    def task_started(self, task, occurrence=1):
        return lambda events: any(e['event'] == 'task_start' and e['task'] == task and e['n'] == occurrence
                                  for e in events)

    def held(self, events):
        return any(e['event'] == 'held' for e in events)

    def release(self):
        """Let a held run go on (after the test injected its fault)."""
        with open(self.release_file, 'w'):
            pass

    # ------------------------------------------------------------------ ending
    def kill(self):
        """SIGKILL ansible-playbook and every process it started (workers, modules). The tree is
        frozen first, scan after scan until no new process turns up (a process not stopped yet
        may still fork: a worker's 'sh -c' starting the module), so nothing escapes the kill."""
        stopped = set()
        for dummy in range(50):
            tree = process_tree(self.proc.pid)
            if tree <= stopped:
                break
            for pid in tree - stopped:
                send_signal(pid, signal.SIGSTOP)
            stopped |= tree
        for pid in stopped:
            send_signal(pid, signal.SIGKILL)
        self.killed = True
        self.killed_pids = sorted(stopped)
        self.rc = self.proc.wait()
        self.ended = time.monotonic()
        return self.rc

    def wait(self, timeout):
        try:
            self.rc = self.proc.wait(timeout)
            self.ended = time.monotonic()
        except subprocess.TimeoutExpired:
            self.kill()
            raise PlaybookTimeout('%s: still running after %ss; killed. Log: %s' % (self.label, timeout, self.tail()))
        return self.rc

    def run(self, timeout):
        return self.start().wait(timeout)

    @property
    def elapsed(self):
        return round(time.monotonic() - self.started, 1)

    # ------------------------------------------------------------------ what it did
    def results(self, event):
        return [e for e in self.events() if e['event'] == event]

    def failures(self):
        """Failed tasks that failed the run (ignored ones and rescued ones are in the trace too,
        but the last failure is the one the operator sees)."""
        return [e for e in self.results('failed') if not e['ignored']]

    def final_failure(self):
        failures = self.failures()
        return failures[-1] if failures else None

    def warnings(self):
        return [w for e in self.results('ok') + self.results('failed') for w in e['warnings']]

    def tail(self, lines=40):
        try:
            with open(self.log) as handle:
                return '\n'.join(handle.read().splitlines()[-lines:])
        except IOError:
            return '(no log)'
