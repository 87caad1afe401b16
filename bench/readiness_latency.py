# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long after an app turns ready does wait_ready notice?

Starts the demo app container with APP_READY_DELAY (host network, 127.0.0.1 only), runs the
wait_ready logic (_readiness.wait_until_ready, HTTP check on /health, interval 0.1 s by default)
and, beside it, a detector thread that polls /health every 2 ms to find the moment the app turned
ready. Reports the time from that moment to wait_until_ready returning, over N runs.

    .venv/bin/python bench/readiness_latency.py                 # 20 runs, interval 0.1 s
    .venv/bin/python bench/readiness_latency.py --runs 5 --interval 0.25 --json bench/results/rl.json

Needs the Docker engine and the image zerodowntime-test/app:v1 (make images).
"""

import argparse
import atexit
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_collection():
    """Make `ansible_collections.zerodowntime.deploy` importable from this checkout."""
    base = tempfile.mkdtemp(prefix='zdt-ready-bench-')
    atexit.register(shutil.rmtree, base, True)
    os.makedirs(os.path.join(base, 'ansible_collections', 'zerodowntime'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'zerodowntime', 'deploy'))
    sys.path.insert(0, base)
    from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness, _traffic
    return _readiness, _traffic


class ReadyDetector(threading.Thread):
    """Polls /health every `period` s; `ready_at` is the start of the first request answered 200
    (the app turned ready between the previous request and that one)."""

    def __init__(self, traffic, url, period=0.002):
        super().__init__(daemon=True)
        self.traffic = traffic
        self.target = traffic.Target(url)
        self.period = period
        self.ready_at = None
        self.last = None
        self.stop = threading.Event()

    def run(self):
        client = self.traffic.Client(timeout=1.0, keepalive=True)
        while not self.stop.is_set():
            result = self.last = client.request(self.target)
            if result.outcome == self.traffic.OK:
                self.ready_at = result.start
                return
            self.stop.wait(self.period)


def one_run(docker_client, readiness, traffic, args):
    name = 'zdt-ready-bench-%05d' % random.randint(0, 99999)
    url = 'http://127.0.0.1:%d/health' % args.port
    container = docker_client.containers.run(
        args.image, name=name, detach=True, network_mode='host',
        environment=dict(APP_PORT=str(args.port), APP_READY_DELAY=str(args.ready_delay)))
    try:
        detector = ReadyDetector(traffic, url)
        detector.start()
        result = readiness.wait_until_ready([dict(type='http', url=url)], timeout=args.ready_delay + 30,
                                            interval=args.interval, success_threshold=1)
        returned = time.monotonic()
        detector.stop.set()
        detector.join(5)
        if not result.ok or detector.ready_at is None:
            raise SystemExit('run failed: %s (detector: ready at %s, last request %s)'
                             % (result.msg, detector.ready_at, detector.last))
        return returned - detector.ready_at, result.attempts
    finally:
        container.remove(force=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--interval', type=float, default=0.1)
    parser.add_argument('--ready-delay', type=float, default=1.5)
    parser.add_argument('--port', type=int, default=18150)
    parser.add_argument('--image', default='zerodowntime-test/app:v1')
    parser.add_argument('--json', help='also write the numbers to this file')
    args = parser.parse_args()

    readiness, traffic = import_collection()
    import docker
    client = docker.from_env()
    latencies = []
    for number in range(1, args.runs + 1):
        latency, attempts = one_run(client, readiness, traffic, args)
        latencies.append(latency)
        print('run %2d: ready -> wait_ready returned in %6.1f ms (%d attempts)'
              % (number, latency * 1000, attempts), flush=True)
    ms = sorted(x * 1000 for x in latencies)
    summary = dict(runs=args.runs, interval_s=args.interval, ready_delay_s=args.ready_delay,
                   median_ms=round(statistics.median(ms), 1), mean_ms=round(statistics.mean(ms), 1),
                   min_ms=round(ms[0], 1), max_ms=round(ms[-1], 1),
                   p95_ms=round(traffic.percentile(ms, 95), 1), latencies_ms=[round(x, 1) for x in ms])
    print('median %.1f ms, mean %.1f ms, min %.1f ms, p95 %.1f ms, max %.1f ms over %d runs '
          '(interval %gs; the expectation is about interval/2)'
          % (summary['median_ms'], summary['mean_ms'], summary['min_ms'], summary['p95_ms'],
             summary['max_ms'], args.runs, args.interval))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as handle:
            json.dump(summary, handle, indent=2)


if __name__ == '__main__':
    main()
