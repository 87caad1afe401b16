"""balancer_member measured against real balancers: the numbers of its closing note.

For each adapter (HAProxy runtime API, Apache balancer-manager, nginx in a container, Caddy admin API):

1. state change - wall time of one module run (a JSON args file, as Ansible runs it: Python start,
                  read, plan, apply, verify, wait) for `disabled` and for `enabled`, median of
                  --runs; and the balancer transaction alone (adapter.apply() + the read that
                  verifies it, in this process), median of --runs.
2. drain wait   - accuracy of the drain wait: --held requests of /slow?ms=--slow-ms are held on the
                  member in rotation, then one call cuts over (`members`: the other one enabled,
                  this one drained) and waits. Accuracy = time the module process returned minus
                  time the last held request finished (client side), median of --runs; a negative
                  value would mean it returned too early.
3. idempotency  - the four-step check (check mode, real, repeat, repeat in check mode): changed.

    .venv/bin/python bench/balancer_member_timing.py                 # everything, about 3 minutes
    .venv/bin/python bench/balancer_member_timing.py --adapters nginx --runs 5

Everything listens on 127.0.0.1 (host network), ports 18290-18299; containers are named
zdt-bm-bench-* and removed at the end. Writes bench/results/balancer_member_timing.json
(git-ignored) and prints a Markdown summary. Needs the test images (make images).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from zdtbench import collection  # noqa: E402  (needs the path above)

MODULE = 'ansible_collections.zerodowntime.deploy.plugins.modules.balancer_member'
PREFIX = 'zdt-bm-bench'
WORK = '/tmp/zdt-bm-bench'
APPS = {'blue': 18291, 'green': 18292}
HAPROXY_FRONT, APACHE_PORT, NGINX_FRONT, CADDY_FRONT = 18294, 18295, 18296, 18297


def log(msg):
    sys.stderr.write('[balancer-member-bench] %s\n' % msg)
    sys.stderr.flush()


def import_root():
    module = collection.module_util('_balancers._base')
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.dirname(module.__file__)))))))


def run_module(args, check_mode=False):
    """Run balancer_member once as Ansible would; (result, wall seconds, epoch time it returned)."""
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
    returned = time.time()
    wall = time.monotonic() - start
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError('module output is not JSON: %s %s' % (proc.stdout[-500:], proc.stderr[-500:]))
    return result, wall, returned


def must(result, what):
    if result.get('failed'):
        raise RuntimeError('%s failed: %s' % (what, result.get('msg')))
    return result


def docker(*argv, check=True):
    return subprocess.run(('docker',) + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check).stdout.strip()


def wait_http(url, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError('%s did not answer 200 within %ss' % (url, timeout))
        time.sleep(0.1)


# ---------------------------------------------------------------------------- setup

HAPROXY_CFG = '''global
    maxconn 1024
    stats socket /run/haproxy/admin.sock mode 666 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 1s
frontend web
    bind 127.0.0.1:%(front)d
    default_backend app
backend app
    balance roundrobin
    option httpchk GET /health
    default-server check inter 300ms fall 2 rise 2
    server blue 127.0.0.1:%(blue)d
    server green 127.0.0.1:%(green)d
'''

APACHE_SITE = '''Listen 127.0.0.1:%(port)d
<VirtualHost 127.0.0.1:%(port)d>
    <Proxy balancer://app>
        BalancerMember http://127.0.0.1:%(blue)d retry=1
        BalancerMember http://127.0.0.1:%(green)d retry=1
    </Proxy>
    <Location /balancer-manager>
        SetHandler balancer-manager
        Require local
    </Location>
    ProxyPass /balancer-manager !
    ProxyPass / balancer://app/
</VirtualHost>
'''

NGINX_CONF = '''upstream app {
    server 127.0.0.1:%(blue)d;
    server 127.0.0.1:%(green)d;
}
server {
    listen 127.0.0.1:%(front)d;
    location / {
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
'''


CADDY_JSON = '''{"admin": {"listen": "unix//run/caddy/admin.sock"},
 "apps": {"http": {"servers": {"front": {"listen": ["127.0.0.1:%(front)d"],
   "routes": [{"handle": [{"@id": "app", "handler": "reverse_proxy",
     "upstreams": [{"dial": "127.0.0.1:%(blue)d"}, {"dial": "127.0.0.1:%(green)d"}]}]}]}}}}}
'''


def start_balancer(kind, config, path, run_dir):
    """zerodowntime-test/<kind> with ``config`` at ``path`` and WORK/<run_dir> mounted (dir:target)."""
    local = os.path.join(WORK, os.path.basename(path))
    with open(local, 'w') as handle:
        handle.write(config)
    docker('run', '-d', '--name', '%s-%s' % (PREFIX, kind), '--network', 'host',
           '-v', '%s:%s:ro' % (local, path), '-v', '%s/%s' % (WORK, run_dir), 'zerodowntime-test/' + kind)


def setup(adapters):
    teardown(quiet=True)
    os.makedirs(os.path.join(WORK, 'run'))
    os.makedirs(os.path.join(WORK, 'nginx'))
    ports = dict(blue=APPS['blue'], green=APPS['green'])
    for name, port in APPS.items():
        docker('run', '-d', '--name', '%s-%s' % (PREFIX, name), '--network', 'host', '-e', 'APP_PORT=%d' % port,
               'zerodowntime-test/app:v1')
    configs = {}
    if 'haproxy' in adapters:
        start_balancer('haproxy', HAPROXY_CFG % dict(ports, front=HAPROXY_FRONT), '/etc/haproxy/haproxy.cfg',
                       'run:/run/haproxy')
        configs['haproxy'] = dict(
            args=dict(balancer='haproxy', haproxy_socket=os.path.join(WORK, 'run', 'admin.sock'), backend='app'),
            members=('blue', 'green'), front='http://127.0.0.1:%d' % HAPROXY_FRONT)
    if 'apache' in adapters:
        with open(os.path.join(WORK, 'apache.conf'), 'w') as handle:
            handle.write(APACHE_SITE % dict(ports, port=APACHE_PORT))
        docker('run', '-d', '--name', PREFIX + '-apache', '--network', 'host',
               '-v', '%s/apache.conf:/etc/apache2/sites-enabled/000-default.conf:ro' % WORK,
               'zerodowntime-test/apache')
        configs['apache'] = dict(
            args=dict(balancer='apache', apache_url='http://127.0.0.1:%d/balancer-manager' % APACHE_PORT, backend='app'),
            members=('http://127.0.0.1:%d' % APPS['blue'], 'http://127.0.0.1:%d' % APPS['green']),
            front='http://127.0.0.1:%d' % APACHE_PORT)
    if 'nginx' in adapters:
        with open(os.path.join(WORK, 'nginx', 'app.conf'), 'w') as handle:
            handle.write(NGINX_CONF % dict(ports, front=NGINX_FRONT))
        docker('run', '-d', '--name', PREFIX + '-nginx', '--network', 'host',
               '-v', '%s/nginx:/etc/nginx/conf.d' % WORK, 'zerodowntime-test/nginx')
        configs['nginx'] = dict(
            args=dict(balancer='nginx', nginx_container=PREFIX + '-nginx',
                      nginx_config='/etc/nginx/conf.d/app.conf', backend='app'),
            members=('127.0.0.1:%d' % APPS['blue'], '127.0.0.1:%d' % APPS['green']),
            front='http://127.0.0.1:%d' % NGINX_FRONT)
    if 'caddy' in adapters:
        os.makedirs(os.path.join(WORK, 'caddy'))
        start_balancer('caddy', CADDY_JSON % dict(ports, front=CADDY_FRONT), '/etc/caddy/caddy.json', 'caddy:/run/caddy')
        configs['caddy'] = dict(
            args=dict(balancer='caddy', caddy_admin='unix/' + os.path.join(WORK, 'caddy', 'admin.sock'), backend='app'),
            members=('127.0.0.1:%d' % APPS['blue'], '127.0.0.1:%d' % APPS['green']),
            front='http://127.0.0.1:%d' % CADDY_FRONT, weights=False)
    for port in APPS.values():
        wait_http('http://127.0.0.1:%d/health' % port)
    for name, conf in configs.items():
        wait_http(conf['front'] + '/health')
        # both members healthy in the balancer's eyes before anything is measured
        must(run_module(dict(conf['args'], members=[dict(name=m, state='enabled') for m in conf['members']],
                             healthy_timeout=30))[0], '%s: initial enable' % name)
    return configs


def teardown(quiet=False):
    names = docker('ps', '-a', '--format', '{{.Names}}', check=False).split()
    mine = [n for n in names if n.startswith(PREFIX + '-')]
    if mine:
        docker('rm', '-f', *mine, check=False)
    shutil.rmtree(WORK, ignore_errors=True)
    if not quiet:
        log('removed %d containers and %s' % (len(mine), WORK))


# ---------------------------------------------------------------------------- measurements

def summary(values):
    values = sorted(values)
    return dict(median=round(statistics.median(values), 4), min=round(values[0], 4), max=round(values[-1], 4),
                n=len(values), values=[round(v, 4) for v in values])


def state_change(name, conf, runs):
    """Module wall time for disabled / enabled; balancer transaction alone."""
    one, other = conf['members']
    disabled, enabled = [], []
    for dummy in range(runs):
        result, wall, dummy2 = run_module(dict(conf['args'], member=one, state='disabled'))
        must(result, '%s: disable' % name)
        disabled.append(wall)
        result, wall, dummy2 = run_module(dict(conf['args'], member=one, state='enabled', healthy_timeout=30))
        must(result, '%s: enable' % name)
        enabled.append(wall)
    # the transaction alone, in process: apply + the read that verifies it
    base = collection.module_util('_balancers._base')
    runner = collection.module_util('_balancers._runner')
    params = dict((key, spec.get('default')) for key, spec in runner.ARGUMENT_SPEC.items())
    params.update(conf['args'])
    params.update(member=one, state='enabled')
    module = _LocalModule(params)
    adapter = runner.build_adapter(params, module)
    transactions = []
    for index in range(runs * 2):
        state = base.DISABLED if index % 2 == 0 else base.ENABLED
        start = time.monotonic()
        adapter.apply('app', [base.Change(one, state)])
        if adapter.read('app').get(one).state != state:
            raise RuntimeError('%s: transaction did not take' % name)
        transactions.append(time.monotonic() - start)
    adapter.close()
    if adapter.read('app').get(one).state != base.ENABLED:
        must(run_module(dict(conf['args'], member=one, state='enabled', healthy_timeout=30))[0], name)
    return dict(module_disable=summary(disabled), module_enable=summary(enabled),
                transaction=summary(transactions))


class _LocalModule(object):
    """What the nginx adapter needs of AnsibleModule for nginx on this host (unused in a container)."""

    def __init__(self, params):
        self.params = params

    def run_command(self, argv):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def fail_json(self, **kwargs):
        raise RuntimeError(kwargs.get('msg'))


def hold(url, count, slow_ms):
    """Start ``count`` held requests; returns (threads, finish times list, statuses list)."""
    finished, statuses = [], []
    lock = threading.Lock()

    def one():
        status = None
        try:
            with urllib.request.urlopen('%s/slow?ms=%d' % (url, slow_ms), timeout=60) as response:
                response.read()
                status = response.status
        except OSError as exc:
            status = str(exc)
        with lock:
            finished.append(time.time())
            statuses.append(status)
    threads = [threading.Thread(target=one) for dummy in range(count)]
    for thread in threads:
        thread.start()
    return threads, finished, statuses


def drain_accuracy(name, conf, runs, held, slow_ms, poll_interval):
    one, other = conf['members']
    # start: only `one` in rotation
    must(run_module(dict(conf['args'], members=[dict(name=one, state='enabled'), dict(name=other, state='drained')],
                         force=True))[0], '%s: park' % name)
    active = one
    rows = []
    for index in range(runs):
        parked = other if active == one else one
        threads, finished, statuses = hold(conf['front'], held, slow_ms)
        time.sleep(0.4)                      # let them reach the member
        result, wall, returned = run_module(dict(conf['args'], poll_interval=poll_interval, drain_timeout=60,
                                                 members=[dict(name=parked, state='enabled'),
                                                          dict(name=active, state='drained')]))
        must(result, '%s: cutover %d' % (name, index))
        for thread in threads:
            thread.join()
        if statuses.count(200) != held:
            raise RuntimeError('%s: held requests failed: %s' % (name, statuses))
        last = max(finished)
        # The first poll of the drain wait comes right after the change: a wait shorter than 1.5
        # polls means the requests had ended before it began, so the run says nothing about it.
        waited = result['drain_seconds'] >= 1.5 * poll_interval
        rows.append(dict(accuracy=returned - last, drain_seconds=result['drain_seconds'], module_wall=wall,
                         active_start=result['active_start'][active], waited=waited))
        log('%s drain %d: returned %.3f s after the last request (drain_seconds %.3f)'
            % (name, index + 1, returned - last, result['drain_seconds']))
        active = parked
    measured = [r['accuracy'] for r in rows if r['waited']]
    empty = dict(median=None, min=None, max=None, n=0, values=[])
    return dict(accuracy=summary(measured) if measured else empty, runs=rows,
                returned_early=sum(1 for r in rows if r['accuracy'] < 0), poll_interval=poll_interval,
                ended_before_wait=sum(1 for r in rows if not r['waited']), held=held, slow_ms=slow_ms)


def idempotency(name, conf):
    one = conf['members'][0]
    must(run_module(dict(conf['args'], members=[dict(name=m, state='enabled') for m in conf['members']],
                         healthy_timeout=30))[0], '%s: both in rotation' % name)
    # a balancer without weights (Caddy) is checked on the state alone
    args = dict(conf['args'], member=one, state='drained', **({'weight': 3} if conf.get('weights', True) else {}))
    changed = []
    for check in (True, False, False, True):
        result, dummy, dummy2 = run_module(args, check_mode=check)
        changed.append(bool(must(result, '%s: four steps' % name)['changed']))
    must(run_module(dict(conf['args'], member=one, state='enabled', healthy_timeout=30,
                         **({'weight': 1} if conf.get('weights', True) else {})))[0], name)
    return dict(changed=changed, ok=changed == [True, True, False, False])


# ---------------------------------------------------------------------------- report

def markdown(results):
    lines = ['| adapter | state change: module run (disable / enable), median | balancer transaction, median '
             '| drain-wait accuracy, median (min..max) | runs measured / returned early | four steps (changed) |',
             '| --- | --- | --- | --- | --- | --- |']
    for name, res in results.items():
        sc, dr = res['state_change'], res['drain']
        acc = dr['accuracy']
        accuracy = 'n/a' if not acc['n'] else '%.3f s (%.3f..%.3f)' % (acc['median'], acc['min'], acc['max'])
        lines.append('| %s | %.2f s / %.2f s | %.1f ms | %s | %d of %d / %d | %s %s |' % (
            name, sc['module_disable']['median'], sc['module_enable']['median'], sc['transaction']['median'] * 1000,
            accuracy, acc['n'], len(dr['runs']), dr['returned_early'],
            ', '.join(str(c).lower() for c in res['idempotency']['changed']),
            'ok' if res['idempotency']['ok'] else 'WRONG'))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--adapters', default='haproxy,apache,nginx,caddy')
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--held', type=int, default=3, help='requests held in flight per drain')
    parser.add_argument('--slow-ms', type=int, default=4000,
                        help='long enough to outlast the change itself (nginx: edit, nginx -t, reload)')
    parser.add_argument('--poll-interval', type=float, default=0.2, help='the module default is 0.2')
    parser.add_argument('--output', default=os.path.join(BENCH_DIR, 'results', 'balancer_member_timing.json'))
    opts = parser.parse_args()
    adapters = [a for a in opts.adapters.split(',') if a]
    results = {}
    started = time.time()
    try:
        configs = setup(adapters)
        for name in adapters:
            log('%s: state change' % name)
            res = dict(state_change=state_change(name, configs[name], opts.runs))
            log('%s: drain wait' % name)
            res['drain'] = drain_accuracy(name, configs[name], opts.runs, opts.held, opts.slow_ms, opts.poll_interval)
            log('%s: four steps' % name)
            res['idempotency'] = idempotency(name, configs[name])
            results[name] = res
    finally:
        teardown()
    report = dict(results=results, seconds=round(time.time() - started, 1), runs=opts.runs,
                  machine=dict(cpus=os.cpu_count(), load=os.getloadavg()),
                  commit=subprocess.run(['git', '-C', BENCH_DIR, 'rev-parse', '--short', 'HEAD'],
                                        stdout=subprocess.PIPE, text=True, check=False).stdout.strip())
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, 'w') as handle:
        json.dump(report, handle, indent=2)
    print(markdown(results))
    print('\n(%s runs each, %s held requests of %d ms, poll_interval %s s; %s s in all; load average %s; '
          'JSON: %s)' % (opts.runs, opts.held, opts.slow_ms, opts.poll_interval, report['seconds'],
                         ', '.join('%.1f' % v for v in report['machine']['load']), opts.output))


if __name__ == '__main__':
    main()
