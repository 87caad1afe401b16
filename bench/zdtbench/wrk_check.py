"""Cross-check of the load generator against wrk on a steady run (no swap).

Both tools load the same app container, one after the other, with the same clients (keep-alive,
the only mode of wrk). They agree when both see exactly zero errors and our counts add up
(requests = ok + every failure class). Throughputs are reported side by side: wrk is C with
epoll, ours is CPython threads, so ours is expected to be well below — it is what the load
generator can sustain on this machine, not a disagreement.
"""

import re
import shutil
import subprocess

from zdtbench import docker_cli, probe

ERROR_TOLERANCE = 0         # errors must agree exactly on a steady run
UNITS_MS = {'us': 0.001, 'ms': 1.0, 's': 1000.0, 'm': 60000.0}


def _ms(text):
    match = re.match(r'([\d.]+)(us|ms|s|m)$', text)
    return round(float(match.group(1)) * UNITS_MS[match.group(2)], 3) if match else None


def parse_wrk(text):
    """requests, seconds, per_s, errors (socket errors + non-2xx/3xx), latency_ms of wrk output
    (run with --latency for the percentiles)."""
    total = re.search(r'(\d+) requests in ([\d.]+)(ms|s|m)', text)
    if not total:
        raise ValueError('no "N requests in T" line in wrk output:\n%s' % text)
    seconds = _ms(total.group(2) + total.group(3)) / 1000.0
    socket_errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', text)
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', text)
    errors = (sum(int(value) for value in socket_errors.groups()) if socket_errors else 0) \
        + (int(non_2xx.group(1)) if non_2xx else 0)
    latency = {}
    for pct, value in re.findall(r'^\s+(50|99)%\s+(\S+)$', text, re.M):
        latency['p%s' % pct] = _ms(value)
    maximum = re.search(r'Latency\s+\S+\s+\S+\s+(\S+)', text)
    if maximum:
        latency['max'] = _ms(maximum.group(1))
    requests = int(total.group(1))
    return dict(requests=requests, seconds=seconds, per_s=round(requests / seconds, 1), errors=errors,
                latency_ms=latency)


def verdict(ours, wrk):
    """Text of the comparison: do errors agree, are our counts self-consistent, throughput ratio."""
    agree = abs(ours['failed'] - wrk['errors']) <= ERROR_TOLERANCE and ours['consistent']
    return '%s: errors ours %d / wrk %d (tolerance %d), our counts %s; throughput ours %.0f/s = %.0f%% of wrk %.0f/s' % (
        'agree' if agree else 'DISAGREE', ours['failed'], wrk['errors'], ERROR_TOLERANCE,
        'add up' if ours['consistent'] else 'do NOT add up', ours['per_s'], 100.0 * ours['per_s'] / wrk['per_s'],
        wrk['per_s']), agree


def run_check(env, run_loadgen, seconds=5.0, concurrency=64, threads=2):
    """Both tools against one fresh app container. run_loadgen(url, concurrency, seconds) returns
    the summary of our load generator (bench/loadgen.py summary())."""
    if not shutil.which('wrk'):
        return dict(skipped='wrk is not installed')
    name = env.prefix + 'loadgen-check'
    docker_cli.remove(name)
    docker_cli.run_app(name, env.images[sorted(env.images)[0]], env.port, extra=env.app_args)
    try:
        probe.wait_for_version(env.url, timeout=30)
        ours = run_loadgen(env.url, concurrency, seconds)
        ours['per_s'] = ours['ok_per_s']
        text = subprocess.run(['wrk', '-t%d' % threads, '-c%d' % concurrency, '-d%ds' % max(1, round(seconds)),
                               '--latency', env.url], capture_output=True, text=True, timeout=seconds + 30,
                              check=False).stdout
        wrk = parse_wrk(text)
        wrk['version'] = _wrk_version()
    finally:
        docker_cli.remove(name)
    text, agree = verdict(ours, wrk)
    return dict(concurrency=concurrency, seconds=seconds, processes=ours['processes'], ours=ours, wrk=wrk,
                agree=agree, verdict=text)


def _wrk_version():
    done = subprocess.run(['wrk', '--version'], capture_output=True, text=True, check=False)
    match = re.search(r'wrk (\S+)', done.stdout + done.stderr)
    return match.group(1) if match else ''
