"""container_hotswap measured against real containers: the numbers of its closing note.

1. timing      - swap wall time vs. the app's own start-to-ready time (median of --swaps).
                 App: `docker run` of zerodowntime-test/app:v2 (host network, 127.0.0.1:18370)
                 until GET /health answers 200. Swaps: v1 <-> v2 by the module (balancer
                 strategy, host network, blue 18371 / green 18372), with the container's
                 HEALTHCHECK awaited (wait_healthy=true, the default) and without it.
2. reuseport   - failed requests during --swaps reuseport swaps under load, with
                 net.ipv4.tcp_migrate_req=1 and =0. Each variant runs in a private network
                 namespace (a `--network none` holder container created with
                 `--sysctl net.ipv4.tcp_migrate_req=<0|1>`; the slots use network_mode
                 container:<holder>) so the host's setting, which other tests rely on, is never
                 touched. The load (bench/loadgen.py: the collection's request engine, one
                 connection per request) and the swaps run inside that namespace (nsenter), on
                 127.0.0.1:18360.
3. idempotency - the four-step check (check mode, real, repeat, repeat in check mode).

    .venv/bin/python bench/hotswap_timing.py                       # everything, about 5 minutes
    .venv/bin/python bench/hotswap_timing.py --parts reuseport --concurrency 128 --swaps 10

Writes bench/results/hotswap_timing.json (git-ignored) and prints a Markdown summary.
Containers are named zhs-bench-*, removed at the end. Needs root (nsenter) and the test images.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from zdtbench import collection  # noqa: E402  (needs the path above)

MODULE = 'ansible_collections.zerodowntime.deploy.plugins.modules.container_hotswap'
PREFIX = 'zhs-bench'
APP = 'zerodowntime-test/app:%s'
READY_PORT, BLUE, GREEN, REUSE_PORT, IDEM_BLUE, IDEM_GREEN = 18370, 18371, 18372, 18360, 18373, 18374


def log(msg):
    sys.stderr.write('[hotswap-bench] %s\n' % msg)
    sys.stderr.flush()


def import_root():
    """Directory holding ansible_collections/zerodowntime/deploy for this checkout."""
    module = collection.module_util('_hotswap')
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.dirname(module.__file__))))))


def run_module(args, check_mode=False):
    """Run container_hotswap once as Ansible would (a JSON args file); (result, wall seconds)."""
    payload = dict(args, _ansible_check_mode=check_mode)
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(dict(ANSIBLE_MODULE_ARGS=payload), handle)
    env = dict(os.environ, PYTHONPATH=import_root())
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, '-m', MODULE, handle.name], env=env, cwd='/tmp',
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
    finally:
        os.unlink(handle.name)
    wall = time.monotonic() - start
    try:
        return json.loads(proc.stdout), wall
    except ValueError:
        raise RuntimeError('module output is not JSON: %s %s' % (proc.stdout[-500:], proc.stderr[-500:]))


def docker(*argv, check=True):
    return subprocess.run(('docker',) + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check).stdout.strip()


def cleanup():
    ids = docker('ps', '-aq', '--filter', 'name=^/%s-' % PREFIX, check=False).split()
    if ids:
        docker('rm', '-f', *ids, check=False)


def median(values):
    return round(statistics.median(values), 3) if values else None


# ------------------------------------------------------------------ 1. timing

def start_to_ready(runs):
    """Seconds from `docker run` until GET /health answers 200, ``runs`` times."""
    times = []
    for number in range(runs):
        name = '%s-ready-%d' % (PREFIX, number)
        start = time.monotonic()
        docker('run', '-d', '--name', name, '--network', 'host', '-e', 'APP_PORT=%d' % READY_PORT, APP % 'v2')
        while True:
            try:
                with urllib.request.urlopen('http://127.0.0.1:%d/health' % READY_PORT, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - start > 60:
                raise RuntimeError('%s not ready after 60 s' % name)
            time.sleep(0.005)
        times.append(time.monotonic() - start)
        docker('rm', '-f', name)
    return times


def swap_args(name, image, blue, green, **extra):
    args = dict(name=name, image=image, network_mode='host',
                slots=dict(blue=dict(env=dict(APP_PORT=str(blue))), green=dict(env=dict(APP_PORT=str(green)))),
                readiness=dict(checks=[dict(type='http', url='http://127.0.0.1:${APP_PORT}/health')],
                               timeout=60, interval=0.05))
    args.update(extra)
    return args


def timing(swaps):
    log('app start-to-ready, %d runs' % swaps)
    ready = start_to_ready(swaps)
    out = dict(app_start_to_ready_s=dict(values=[round(v, 3) for v in ready], median=median(ready)))
    for wait_healthy in (True, False):
        name = '%s-time-%s' % (PREFIX, 'healthy' if wait_healthy else 'checks')
        run_module(swap_args(name, APP % 'v1', BLUE, GREEN, wait_healthy=wait_healthy))
        walls, totals, readies = [], [], []
        for number in range(swaps):
            image = APP % ('v2' if number % 2 == 0 else 'v1')
            result, wall = run_module(swap_args(name, image, BLUE, GREEN, wait_healthy=wait_healthy))
            if result.get('failed') or not result.get('changed'):
                raise RuntimeError('swap %d failed: %s' % (number, result.get('msg')))
            walls.append(wall)
            totals.append(result['timings']['total'])
            readies.append(result['timings']['ready'])
        log('swaps with wait_healthy=%s: module total median %s s' % (wait_healthy, median(totals)))
        out['swap_wait_healthy_%s' % str(wait_healthy).lower()] = dict(
            process_wall_s=dict(values=[round(v, 3) for v in walls], median=median(walls)),
            module_total_s=dict(values=totals, median=median(totals)),
            ready_phase_s=dict(values=readies, median=median(readies)))
        run_module(dict(name=name, state='absent'))
    return out


# ------------------------------------------------------------------ 2. reuseport

def reuseport_inner(args):
    """Inside the holder's network namespace: load + swaps; prints the JSON result."""
    from zdtbench import loadgen
    traffic = collection.traffic
    base = dict(name=args.service, strategy='reuseport', network_mode='container:%s' % args.holder,
                tcp_migrate_req='require' if args.migrate == 1 else 'warn', wait_healthy=False,
                env=dict(APP_PORT=str(REUSE_PORT), APP_REUSEPORT='1'))

    def deploy(version):
        readiness = dict(checks=[dict(type='http', url='http://127.0.0.1:%d/' % REUSE_PORT,
                                      response_headers={'X-App-Version': version})],
                         timeout=60, interval=0.05)
        return run_module(dict(base, image=APP % version, readiness=readiness))

    result = deploy('v1')[0]
    if result.get('failed'):
        raise RuntimeError('first deploy failed: %s' % result.get('msg'))
    generator = loadgen.LoadGenerator('http://127.0.0.1:%d/' % REUSE_PORT, args.concurrency, False,
                                      max_seconds=600)
    swaps = []
    with generator:
        time.sleep(2.0)
        for number in range(args.swaps):
            version = 'v2' if number % 2 == 0 else 'v1'
            begin = time.monotonic()
            result, wall = deploy(version)
            swaps.append(dict(version=version, begin=begin, end=time.monotonic(), wall=round(wall, 3),
                              failed=bool(result.get('failed')), msg=result.get('msg'),
                              warnings=result.get('warnings'), total=result['timings']['total']))
            time.sleep(1.0)
        time.sleep(1.0)
        samples = generator.stop()
    summary = traffic.summarize(samples)
    for swap in swaps:
        window = [s for s in samples if swap['begin'] <= s.start <= swap['end'] + 0.5]
        swap['requests'] = len(window)
        swap['failed_requests'] = sum(1 for s in window if s.outcome != traffic.OK)
        del swap['begin'], swap['end']
    first = [dict(outcome=s.outcome, status=s.status) for s in samples if s.outcome != traffic.OK][:5]
    print(json.dumps(dict(requests=summary['requests'], ok=summary['ok'], failed=summary['failed'],
                          errors=dict((k, v) for k, v in summary['errors'].items() if v),
                          seconds=round(generator.stopped_at - generator.started_at, 1),
                          swaps=swaps, first_failures=first)))


def reuseport(swaps, concurrencies):
    out = []
    for concurrency in concurrencies:
        for migrate in (1, 0):
            holder = '%s-netns-%d' % (PREFIX, migrate)
            service = '%s-reuse-%d' % (PREFIX, migrate)
            log('reuseport, tcp_migrate_req=%d, %d clients (one connection per request), %d swaps'
                % (migrate, concurrency, swaps))
            docker('run', '-d', '--name', holder, '--network', 'none', '--no-healthcheck',
                   '--sysctl', 'net.ipv4.tcp_migrate_req=%d' % migrate, APP % 'v1', 'sleep', 'infinity')
            try:
                pid = docker('inspect', '-f', '{{.State.Pid}}', holder)
                proc = subprocess.run(
                    ['nsenter', '-t', pid, '-n', sys.executable, os.path.abspath(__file__), '--inner-reuseport',
                     '--holder', holder, '--service', service, '--migrate', str(migrate),
                     '--concurrency', str(concurrency), '--swaps', str(swaps)],
                    stdout=subprocess.PIPE, text=True, check=True)
                result = json.loads(proc.stdout)
            finally:
                run_module(dict(name=service, state='absent'))
                docker('rm', '-f', holder, check=False)
            result.update(concurrency=concurrency, tcp_migrate_req=migrate)
            log('  %d requests, %d failed %s; swap failures: %d'
                % (result['requests'], result['failed'], result['errors'],
                   sum(1 for s in result['swaps'] if s['failed'])))
            out.append(result)
    return out


# ------------------------------------------------------------------ 3. idempotency

def idempotency():
    name = '%s-idem' % PREFIX
    args = swap_args(name, APP % 'v1', IDEM_BLUE, IDEM_GREEN)
    steps = []
    for label, check in (('check mode', True), ('real', False), ('repeat', False), ('repeat check mode', True)):
        result = run_module(args, check_mode=check)[0]
        steps.append(dict(step=label, changed=result.get('changed'), failed=bool(result.get('failed'))))
    run_module(dict(name=name, state='absent'))
    return steps


# ------------------------------------------------------------------ report

def markdown(results):
    lines = ['# container_hotswap measurements', '']
    t = results.get('timing')
    if t:
        lines += ['## Swap wall time vs. the app\'s own start-to-ready time (median of %d)' % len(
            t['app_start_to_ready_s']['values']), '',
            '| what | median s |', '|---|---|',
            '| app: `docker run` until /health = 200 | %s |' % t['app_start_to_ready_s']['median']]
        for key, label in (('swap_wait_healthy_true', 'swap, HEALTHCHECK awaited (default)'),
                           ('swap_wait_healthy_false', 'swap, readiness checks only (wait_healthy=false)')):
            s = t[key]
            lines.append('| %s: module total / ready phase / process wall | %s / %s / %s |' % (
                label, s['module_total_s']['median'], s['ready_phase_s']['median'], s['process_wall_s']['median']))
        lines.append('')
    r = results.get('reuseport')
    if r:
        lines += ['## Reuseport swaps under load (one connection per request)', '',
                  '| clients | tcp_migrate_req | swaps | requests | failed | failures by class |',
                  '|---|---|---|---|---|---|']
        for run in r:
            lines.append('| %d | %d | %d | %d | %d | %s |' % (
                run['concurrency'], run['tcp_migrate_req'], len(run['swaps']), run['requests'], run['failed'],
                ', '.join('%s %d' % kv for kv in sorted(run['errors'].items())) or '-'))
        lines.append('')
    i = results.get('idempotency')
    if i:
        lines += ['## Four-step idempotency', '', '| step | changed |', '|---|---|']
        lines += ['| %s | %s |' % (s['step'], str(s['changed']).lower()) for s in i]
        lines.append('')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--parts', default='timing,reuseport,idempotency')
    parser.add_argument('--swaps', type=int, default=10)
    parser.add_argument('--concurrency', default='16,128', help='clients of the reuseport runs')
    parser.add_argument('--json', default=os.path.join(BENCH_DIR, 'results', 'hotswap_timing.json'))
    parser.add_argument('--inner-reuseport', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--holder', help=argparse.SUPPRESS)
    parser.add_argument('--service', help=argparse.SUPPRESS)
    parser.add_argument('--migrate', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.inner_reuseport:
        args.concurrency = int(args.concurrency)
        reuseport_inner(args)
        return
    parts = args.parts.split(',')
    results = dict(started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), swaps=args.swaps,
                   load_average_start=os.getloadavg())
    cleanup()
    try:
        if 'timing' in parts:
            results['timing'] = timing(args.swaps)
        if 'reuseport' in parts:
            results['reuseport'] = reuseport(args.swaps, [int(c) for c in args.concurrency.split(',')])
        if 'idempotency' in parts:
            results['idempotency'] = idempotency()
    finally:
        cleanup()
    results['load_average_end'] = os.getloadavg()
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, 'w') as handle:
        json.dump(results, handle, indent=1)
    print(markdown(results))
    log('wrote %s' % args.json)


if __name__ == '__main__':
    main()
