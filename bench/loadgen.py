"""The benchmark's load generator: N clients against one URL for a while, every request recorded.

Each request's start time, latency, outcome class (ok, status = unexpected status, refused,
reset, timeout, closed = a kept-alive connection the server had closed, other) and X-App-Version
come from the collection's one request engine (plugins/module_utils/_traffic.py); the clients
run in a few worker processes (see zdtbench/loadgen.py for why).

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:18600/ -c 64 -d 10
    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:18600/ -c 256 --no-keepalive -d 10 --json out.json

Send load to 127.0.0.1 only. The run stops by itself after --duration seconds.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from zdtbench import loadgen, stats  # noqa: E402  (needs the path above)
from zdtbench.collection import traffic  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('-c', '--concurrency', type=int, default=64)
    parser.add_argument('--keepalive', dest='keepalive', action='store_true', default=True,
                        help='reuse connections (default)')
    parser.add_argument('--no-keepalive', dest='keepalive', action='store_false',
                        help='one connection per request')
    parser.add_argument('-d', '--duration', type=float, default=10.0, help='seconds of load')
    parser.add_argument('--pause', type=float, default=0.0,
                        help='think time: seconds each client waits after an answer (default 0: at once)')
    parser.add_argument('-p', '--processes', type=int, help='worker processes (default: per core)')
    parser.add_argument('--timeout', type=float, default=5.0, help='seconds per request')
    parser.add_argument('--json', help='write the summary and a per-second timeline here')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run(url, concurrency, keepalive, duration, processes=None, timeout=5.0, pause=0.0):
    """Load for ``duration`` seconds; returns (samples, the stopped LoadGenerator)."""
    generator = loadgen.LoadGenerator(url, concurrency, keepalive, processes=processes,
                                      max_seconds=duration + 60, timeout=timeout, pause=pause)
    with generator:
        time.sleep(max(0.0, generator.started_at + duration - time.monotonic()))
        samples = generator.stop()
    return samples, generator


def summary(samples, generator):
    """Counts, throughput and latency of a whole run, with a self-check of the counts."""
    result = stats.window_stats(samples, generator.stopped_at - generator.started_at)
    result['consistent'] = result['requests'] == result['ok'] + sum(result['errors'].values())
    result['processes'] = len(generator.shares)
    return result


def describe(result):
    failed = ', '.join('%s %d' % item for item in sorted(result['errors'].items()) if item[1])
    latency = result['latency_ms']
    return ('%d requests in %.1f s: %d ok (%.0f/s), %d failed%s; ok latency ms p50 %s p99 %s max %s'
            % (result['requests'], result['seconds'], result['ok'], result['ok_per_s'] or 0,
               result['failed'], ' (%s)' % failed if failed else '', latency['p50'], latency['p99'],
               latency['max']))


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        loadgen.worker_main(args, traffic)
        return
    samples, generator = run(args.url, args.concurrency, args.keepalive, args.duration,
                             args.processes, args.timeout, args.pause)
    result = summary(samples, generator)
    print(describe(result))
    if args.json:
        from zdtbench.timeline import timeline
        result.update(url=args.url, concurrency=args.concurrency, keepalive=args.keepalive, pause=args.pause,
                      timeline=timeline(samples, generator.started_at, generator.stopped_at, 1.0))
        with open(args.json, 'w') as handle:
            json.dump(result, handle, indent=1)


if __name__ == '__main__':
    main()
