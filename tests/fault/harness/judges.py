# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Second judges: two independent HTTP clients beside our own load, so that "0 failed" does not
rest on the collection's own request engine alone.

- ``wrk`` keeps its connections alive (1 thread, WRK_CONNECTIONS connections, each waiting
  WRK_DELAY_MS between requests: a modest rate on a 2-core machine);
- ``ab`` opens a new connection for every request (one at a time, ``-r``: a receive error is
  counted, not the end of the run). ab has no rate option, and alone it sent some 3,000 requests/s
  here (load average over 30 on 2 cores in the fault suite): it asks for the test app's
  ``/slow?ms=AB_SLOW_MS`` instead of ``/`` (same body, the answer held that long without CPU), which
  keeps it under 1000 / AB_SLOW_MS requests/s.
Both run at nice 10, so that the deploy they watch keeps the CPU it needs.

Both are bounded in time (``seconds``) and stopped with SIGINT by ``stop()`` (each prints its
summary then). What counts as failed:
- wrk: "Socket errors: connect, read, write, timeout" and "Non-2xx or 3xx responses";
- ab: "Failed requests" of the kinds Connect, Receive, Exceptions (Length counts a body of another
  length; the test app's bodies have one length for every version, so it is reported and counted
  too), "Non-2xx responses", "Write errors". ab aborts after 10 refused connections in a row
  ("Test aborted"): that is a failure as well.

Used by the fault suite (``Judges`` as a context manager) and by Molecule through the command
line: ``judges.py start URL DIR SECONDS`` / ``judges.py stop DIR`` (prints JSON). Standard
library only, so that any Python can run it.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

WRK_CONNECTIONS = 2
WRK_DELAY_MS = 5
NICE = 10
AB_SLOW_MS = 5
STOP_TIMEOUT = 15.0
LUA = 'function delay()\n   return %d\nend\n' % WRK_DELAY_MS


def _count(pattern, text, group=1):
    match = re.search(pattern, text)
    return int(match.group(group)) if match else 0


def parse_wrk(text):
    """requests and failures by kind of wrk's summary; requests None when there is no summary."""
    total = re.search(r'(\d+) requests in ', text)
    errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    kinds = dict(zip(('connect', 'read', 'write', 'timeout'),
                     (int(n) for n in errors.groups()) if errors else (0, 0, 0, 0)))
    kinds['non_2xx_3xx'] = _count(r'Non-2xx or 3xx responses: (\d+)', text)
    return _verdict('wrk', int(total.group(1)) if total else None, kinds, text)


def parse_ab(text):
    """requests and failures by kind of ab's summary; requests None when there is no summary."""
    total = re.search(r'Complete requests:\s+(\d+)', text)
    failed = re.search(r'Failed requests:\s+(\d+)\s*\(Connect: (\d+), Receive: (\d+), Length: (\d+), '
                       r'Exceptions: (\d+)\)', text, re.S)
    kinds = dict(zip(('connect', 'receive', 'length', 'exceptions'),
                     (int(n) for n in failed.groups()[1:]) if failed else (0, 0, 0, 0)))
    kinds['non_2xx'] = _count(r'Non-2xx responses:\s+(\d+)', text)
    kinds['write'] = _count(r'Write errors:\s+(\d+)', text)
    kinds['aborted'] = 1 if 'Test aborted' in text else 0
    return _verdict('ab', int(total.group(1)) if total else None, kinds, text)


def _verdict(tool, requests, kinds, text):
    out = dict(tool=tool, requests=requests, failed=sum(kinds.values()), kinds=kinds)
    if requests is None:
        out['error'] = 'no summary in its output: %s' % text[-600:].strip()
    return out


def describe(judged):
    """'wrk 1234 requests, 0 failed' (the failures by kind when there are any)."""
    if judged.get('error'):
        return '%s: %s' % (judged['tool'], judged['error'])
    kinds = ', '.join('%s %d' % item for item in sorted(judged['kinds'].items()) if item[1])
    return '%s %d requests, %d failed%s' % (judged['tool'], judged['requests'], judged['failed'],
                                            ' (%s)' % kinds if kinds else '')


def problems(verdicts):
    """What is wrong in the judges' verdicts: failed requests, a judge without a summary, or one
    that sent no request. [] when both saw every request succeed."""
    found = []
    for judged in verdicts:
        if judged.get('error') or judged['failed'] or not judged['requests']:
            found.append(describe(judged))
    return found


def commands(url, directory, seconds):
    """(name, argv) of both judges."""
    script = os.path.join(directory, 'delay.lua')
    with open(script, 'w') as handle:
        handle.write(LUA)
    seconds = max(1, int(seconds))
    argv = dict(
        wrk=['wrk', '-t1', '-c%d' % WRK_CONNECTIONS, '-d%ds' % seconds, '--timeout', '10s', '-s', script, url],
        ab=['ab', '-r', '-c', '1', '-s', '10', '-t', str(seconds), '-n', '100000000',
            '%s/slow?ms=%d' % (url.rstrip('/'), AB_SLOW_MS)])
    return [(name, ['nice', '-n', str(NICE)] + argv[name]) for name in ('wrk', 'ab')]


class Judges(object):
    """``with Judges(url, directory, seconds) as judges: ...`` then ``judges.verdicts``."""

    def __init__(self, url, directory, seconds):
        self.url = url
        self.directory = str(directory)
        self.seconds = seconds
        self.procs = []
        self.verdicts = None
        self.started = self.stopped = None

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        for name, argv in commands(self.url, self.directory, self.seconds):
            out = open(os.path.join(self.directory, name + '.out'), 'w')
            self.procs.append((name, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                                      start_new_session=True)))
            out.close()
        self.started = time.monotonic()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        if self.verdicts is None:
            self.stopped = time.monotonic()
            self.verdicts = stop_all(self.directory, [(name, proc.pid) for name, proc in self.procs],
                                     [proc for name, proc in self.procs])
        return self.verdicts


def stop_all(directory, pids, procs=None):
    """SIGINT every judge (nice passes it on: it execs the tool), wait for its summary, parse it."""
    for name, pid in pids:
        send_signal(pid, signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    for index, (name, pid) in enumerate(pids):
        while _alive(pid, procs[index] if procs else None) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid, procs[index] if procs else None):
            send_signal(pid, signal.SIGKILL)
    verdicts = []
    for name, pid in pids:
        with open(os.path.join(directory, name + '.out'), errors='replace') as handle:
            text = handle.read()
        verdicts.append(parse_wrk(text) if name == 'wrk' else parse_ab(text))
    return verdicts


def send_signal(pid, signum):
    """os.kill that lets a process that is gone already be."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _alive(pid, proc=None):
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of an exited parent may linger as a zombie until init reaps it.
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().split(') ', 1)[1][0] != 'Z'
    except (IOError, IndexError):
        return False


def main(argv):
    """start URL DIR SECONDS: start both in the background (pids in DIR/judges.json);
    stop DIR: stop them and print their verdicts as JSON."""
    if argv[:1] == ['start'] and len(argv) == 4:
        url, directory, seconds = argv[1], argv[2], float(argv[3])
        os.makedirs(directory, exist_ok=True)
        pids = []
        for name, command in commands(url, directory, seconds):
            with open(os.path.join(directory, name + '.out'), 'w') as out:
                pids.append((name, subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                                    start_new_session=True).pid))
        with open(os.path.join(directory, 'judges.json'), 'w') as handle:
            json.dump(dict(pids=pids, url=url, started=time.time()), handle)
        print(json.dumps(dict(started=pids)))
        return 0
    if argv[:1] == ['stop'] and len(argv) == 2:
        path = os.path.join(argv[1], 'judges.json')
        if not os.path.exists(path):
            print(json.dumps(dict(running=False)))
            return 0
        with open(path) as handle:
            state = json.load(handle)
        verdicts = stop_all(argv[1], [tuple(pair) for pair in state['pids']])
        os.remove(path)
        print(json.dumps(dict(running=True, url=state['url'], seconds=round(time.time() - state['started'], 1),
                              verdicts=verdicts, problems=problems(verdicts),
                              text=[describe(v) for v in verdicts])))
        return 0
    sys.stderr.write('usage: judges.py start URL DIR SECONDS | judges.py stop DIR\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
