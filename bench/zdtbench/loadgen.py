"""Load from several processes, each running the collection's request engine (_traffic.Load).

CPython threads share one interpreter lock: 256 client threads in one process spend their time
waiting for it, which shows up as client-side latency. The clients are therefore split over a
few worker processes (bench/loadgen.py --worker), away from the process that drives the swaps.
A worker runs until told to stop on stdin (or stdin closes), bounded by ``max_seconds`` so a
forgotten worker stops by itself, and hands its samples back through a file.
"""

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time

from zdtbench import samples as samples_mod

WORKER_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'loadgen.py')
Worker = collections.namedtuple('Worker', 'proc out')


def default_processes(concurrency, cores=None):
    """One worker per core, never more workers than clients (a few clients fit in one)."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(cores, concurrency // 16 or 1))


def split(concurrency, processes):
    """Clients per worker: as even as possible, every worker at least one."""
    processes = max(1, min(processes, concurrency))
    base, extra = divmod(concurrency, processes)
    return [base + (1 if number < extra else 0) for number in range(processes)]


class LoadGenerator(object):
    """``concurrency`` clients against ``url`` (keep-alive or a connection per request), each
    waiting ``pause`` seconds (think time) after every answer before its next request.

    start() returns once every worker sends requests; stop() returns every Sample, ordered by
    start time - or halt() every generator first, then collect() each, so that no load runs on
    alone while another's samples are read. Usable as a context manager: leaving it kills
    workers that are still alive.
    """

    def __init__(self, url, concurrency, keepalive, processes=None, max_seconds=900.0,
                 timeout=5.0, python=sys.executable, pause=0.0):
        self.url = url
        self.concurrency = concurrency
        self.keepalive = keepalive
        self.pause = pause
        self.shares = split(concurrency, processes or default_processes(concurrency))
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.python = python
        self.started_at = None
        self.stopped_at = None
        self._workdir = None
        self._workers = []

    def _command(self, clients, out):
        return [self.python, WORKER_SCRIPT, '--worker', '--url', self.url,
                '--concurrency', str(clients), '--keepalive' if self.keepalive else '--no-keepalive',
                '--duration', str(self.max_seconds), '--timeout', str(self.timeout),
                '--pause', str(self.pause), '--out', out]

    def start(self):
        self._workdir = tempfile.mkdtemp(prefix='zdt-bench-load-')
        for number, clients in enumerate(self.shares):
            out = os.path.join(self._workdir, 'worker-%d.json' % number)
            proc = subprocess.Popen(self._command(clients, out), stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            self._workers.append(Worker(proc, out))
        started = [self._read_line(worker.proc, 'started') for worker in self._workers]
        self.started_at = max(started)
        return self

    def _read_line(self, proc, word):
        """The number after ``word`` on the worker's next stdout line."""
        line = proc.stdout.readline().split()
        if len(line) != 2 or line[0] != word:
            self.kill()
            raise RuntimeError('load worker %d: expected "%s <time>", got %r (exit code %s)'
                               % (proc.pid, word, line, proc.poll()))
        return float(line[1])

    def stop(self):
        """Stop every worker (requests in flight finish) and return all samples."""
        self.halt()
        return self.collect()

    def halt(self):
        """Tell every worker to start no further request (returns at once)."""
        self.stopped_at = time.monotonic()
        for worker in self._workers:
            worker.proc.stdin.write('stop\n')
            worker.proc.stdin.close()

    def collect(self):
        """After halt(): wait for the workers and return all samples, ordered by start time."""
        groups = []
        for worker in self._workers:
            self._read_line(worker.proc, 'done')
            worker.proc.wait(self.timeout + 10)
            with open(worker.out) as handle:
                groups.append(samples_mod.load(handle))
        self.kill()
        return samples_mod.merge(*groups)

    def kill(self):
        """Kill the workers still alive and remove their files (the end of stop(), and all that is
        left to do after an error)."""
        for worker in self._workers:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait()
        self._workers = []
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False


def worker_main(args, traffic):
    """Body of one worker process (bench/loadgen.py --worker): the protocol of LoadGenerator."""
    load = traffic.Load([traffic.Target(args.url)], concurrency=args.concurrency,
                        duration=args.duration, keepalive=args.keepalive, timeout=args.timeout,
                        pause=args.pause)
    load.start()
    print('started %r' % time.monotonic(), flush=True)
    sys.stdin.readline()            # 'stop', or EOF when the parent went away
    load.stop()
    load.join(args.timeout + 5)
    collected = [samples_mod.from_result(result) for result in load.results()]
    with open(args.out, 'w') as handle:
        samples_mod.dump(collected, handle)
    print('done %d' % len(collected), flush=True)
