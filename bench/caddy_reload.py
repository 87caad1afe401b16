"""What one Caddy configuration change does to the connections open through it, measured.

Caddy 2.6 has no runtime state per upstream: balancer_member moves an upstream between the
user's reverse_proxy handler and a parking handler, one PATCH of the admin API per change, and
every change is a full reload of Caddy's configuration. This script makes changes with the
collection's own Caddy adapter (exactly the change balancer_member sends: a member drained, then
enabled again) and looks at the connections open through Caddy at that moment:

1. idle keep-alive - --idle client connections, each after one answered request, idle at the
                     change: how many Caddy closes (directly, and through an nginx edge that
                     connects to Caddy per request);
2. in flight       - --inflight requests of /slow?ms=--slow-ms in flight at the change: how many
                     are answered 200 with the whole body;
3. upgraded        - --upgraded upgraded (101 Switching Protocols, as a websocket) connections
                     through Caddy to an echo server: how many are still open and echo after it;
4. under load      - bench/loadgen.py clients for --load-seconds while a change is made every
                     --every seconds: failed requests with keep-alive directly against Caddy,
                     without keep-alive directly, and keep-alive through the edge.

    .venv/bin/python bench/caddy_reload.py            # about 1.5 minutes
    .venv/bin/python bench/caddy_reload.py --load-seconds 20 --every 0.5 -c 16

Everything listens on 127.0.0.1 (host network), ports 18770-18779; containers are named
zdt-caddy-reload-* and removed at the end. Writes bench/results/caddy_reload.json (git-ignored)
and prints a Markdown summary. Needs the test images (make images). Runs under the Docker lock.
"""

import argparse
import json
import os
import select
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)

from zdtbench import collection, loadgen, machine, stats  # noqa: E402  (needs the path above)

PREFIX = 'zdt-caddy-reload'
WORK = '/tmp/zdt-caddy-reload'
EDGE, BLUE, GREEN, ECHO, CADDY = 18770, 18771, 18772, 18773, 18774
MEMBER = '127.0.0.1:%d' % GREEN

CADDY_JSON = {
    'admin': {'listen': 'unix//run/caddy/admin.sock'},
    'apps': {'http': {'servers': {'front': {'listen': ['127.0.0.1:%d' % CADDY], 'routes': [
        {'match': [{'path': ['/ws*']}],
         'handle': [{'@id': 'echo', 'handler': 'reverse_proxy', 'upstreams': [{'dial': '127.0.0.1:%d' % ECHO}]}]},
        {'handle': [{'@id': 'app', 'handler': 'reverse_proxy',
                     'upstreams': [{'dial': '127.0.0.1:%d' % BLUE}, {'dial': MEMBER}]}]},
    ]}}}},
}
EDGE_CONF = '''server {
    listen 127.0.0.1:%d;
    access_log off;
    location / {
        proxy_pass http://127.0.0.1:%d;
        proxy_next_upstream off;
    }
}
''' % (EDGE, CADDY)


def log(msg):
    sys.stderr.write('[caddy-reload] %s\n' % msg)
    sys.stderr.flush()


def docker(*argv, check=True):
    return subprocess.run(('docker',) + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check).stdout.strip()


class Echo(socketserver.BaseRequestHandler):
    """Answers any request with 101 Switching Protocols, then echoes every byte (a websocket's
    life as a proxy sees it: an upgraded connection that carries data both ways)."""

    def handle(self):
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        self.request.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
        while True:
            try:
                chunk = self.request.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            self.request.sendall(chunk)


class EchoServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def adapter():
    runner = collection.module_util('_balancers._runner')
    params = dict((key, spec.get('default')) for key, spec in runner.ARGUMENT_SPEC.items())
    params.update(balancer='caddy', caddy_admin='unix/%s/caddy/admin.sock' % WORK, backend='app')
    return runner.build_adapter(params, None)


def change(caddy, count=1):
    """``count`` configuration changes, each one flipping the member between enabled and drained
    (an unchanged configuration would be no change at all: Caddy skips it), checked by reading
    the state back."""
    base = collection.module_util('_balancers._base')
    for dummy in range(count):
        wanted = base.DRAINED if caddy.read('app').get(MEMBER).state == base.ENABLED else base.ENABLED
        caddy.apply('app', [base.Change(MEMBER, wanted)])
        if caddy.read('app').get(MEMBER).state != wanted:
            raise RuntimeError('the change to %s did not take' % wanted)


def setup():
    teardown(quiet=True)
    os.makedirs(os.path.join(WORK, 'caddy'))
    os.makedirs(os.path.join(WORK, 'edge'))
    with open(os.path.join(WORK, 'caddy.json'), 'w') as handle:
        json.dump(CADDY_JSON, handle)
    with open(os.path.join(WORK, 'edge', 'edge.conf'), 'w') as handle:
        handle.write(EDGE_CONF)
    for name, port in (('blue', BLUE), ('green', GREEN)):
        docker('run', '-d', '--name', '%s-%s' % (PREFIX, name), '--network', 'host', '-e', 'APP_PORT=%d' % port,
               'zerodowntime-test/app:v1')
    docker('run', '-d', '--name', PREFIX + '-caddy', '--network', 'host',
           '-v', '%s/caddy.json:/etc/caddy/caddy.json:ro' % WORK, '-v', '%s/caddy:/run/caddy' % WORK,
           'zerodowntime-test/caddy')
    docker('run', '-d', '--name', PREFIX + '-edge', '--network', 'host',
           '-v', '%s/edge:/etc/nginx/conf.d' % WORK, 'zerodowntime-test/nginx')
    for port in (BLUE, GREEN, CADDY, EDGE):
        wait_ok(port)


def teardown(quiet=False):
    names = [n for n in docker('ps', '-a', '--format', '{{.Names}}', check=False).split() if n.startswith(PREFIX + '-')]
    if names:
        docker('rm', '-f', *names, check=False)
    shutil.rmtree(WORK, ignore_errors=True)
    if not quiet:
        log('removed %d containers and %s' % (len(names), WORK))


def request(sock, path='/'):
    """One keep-alive GET on ``sock``; the status, or None when the connection failed."""
    sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % path).encode())
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b'\r\n\r\n', 1)
    length = int([line.split(b':')[1] for line in head.split(b'\r\n') if line.lower().startswith(b'content-length')][0])
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        body += chunk
    return int(head.split(b' ')[1])


def wait_ok(port, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=2) as sock:
                if request(sock, '/health') == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError('127.0.0.1:%d does not answer 200 on /health' % port)
        time.sleep(0.1)


def closed(sock):
    """True when the peer closed (or reset) the connection."""
    readable = select.select([sock], [], [], 0)[0]
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b''
    except OSError:
        return True


def idle(caddy, port, count, changes):
    closed_per_change = []
    for dummy in range(changes):
        socks = [socket.create_connection(('127.0.0.1', port), timeout=5) for dummy2 in range(count)]
        if any(request(sock) != 200 for sock in socks):
            raise RuntimeError('idle: a first request failed')
        change(caddy)
        time.sleep(0.5)
        closed_per_change.append(sum(1 for sock in socks if closed(sock)))
        for sock in socks:
            sock.close()
        change(caddy)                        # back
    return dict(connections=count, changes=changes, closed=closed_per_change)


def inflight(caddy, count, slow_ms, changes):
    answered = []
    for dummy in range(changes):
        statuses = []

        def one():
            try:
                with socket.create_connection(('127.0.0.1', CADDY), timeout=slow_ms / 1000.0 + 10) as sock:
                    statuses.append(request(sock, '/slow?ms=%d' % slow_ms))
            except OSError as exc:
                statuses.append(repr(exc))
        threads = [threading.Thread(target=one) for dummy2 in range(count)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        change(caddy, 2)                     # two reloads while they run
        for thread in threads:
            thread.join()
        answered.append(statuses.count(200))
    return dict(requests=count, slow_ms=slow_ms, changes=changes * 2, answered=answered)


def upgraded(caddy, count, changes):
    open_after = []
    for dummy in range(changes):
        socks = []
        for dummy2 in range(count):
            sock = socket.create_connection(('127.0.0.1', CADDY), timeout=3)
            sock.sendall(b'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                         b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
            head = b''
            while b'\r\n\r\n' not in head:
                head += sock.recv(4096)
            if b' 101 ' not in head.split(b'\r\n')[0]:
                raise RuntimeError('upgraded: not upgraded: %r' % head[:100])
            socks.append(sock)
        change(caddy)
        time.sleep(0.5)
        alive = 0
        for sock in socks:
            try:
                if not closed(sock):
                    sock.sendall(b'ping')
                    alive += 1 if sock.recv(4) == b'ping' else 0
            except OSError:
                pass
            sock.close()
        open_after.append(alive)
        change(caddy)
    return dict(connections=count, changes=changes, open_after=open_after)


def under_load(caddy, port, keepalive, concurrency, seconds, every):
    generator = loadgen.LoadGenerator('http://127.0.0.1:%d/' % port, concurrency, keepalive,
                                      max_seconds=seconds + 60, timeout=5.0)
    made = 0
    with generator:
        time.sleep(1.0)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            change(caddy)
            made += 1
            time.sleep(every)
        if made % 2:
            change(caddy)
            made += 1
        time.sleep(1.0)
        samples = generator.stop()
    result = stats.counts(samples)
    return dict(port=port, keepalive=keepalive, concurrency=concurrency, changes=made, requests=result['requests'],
                failed=result['failed'], errors=dict((k, v) for k, v in result['errors'].items() if v))


def markdown(res):
    lines = ['| what was open at a Caddy configuration change | result |', '| --- | --- |']
    for label, key in (('idle keep-alive connections, directly', 'idle_direct'),
                       ('idle keep-alive connections to the nginx edge', 'idle_edge')):
        r = res[key]
        lines.append('| %s (%d, %d changes) | closed: %s |' % (
            label, r['connections'], r['changes'], ', '.join(map(str, r['closed']))))
    r = res['inflight']
    lines.append('| requests in flight (%d of %d ms, %d changes) | answered 200: %s |' % (
        r['requests'], r['slow_ms'], r['changes'], ', '.join(map(str, r['answered']))))
    r = res['upgraded']
    lines.append('| upgraded (websocket) connections (%d, %d changes) | still open and echoing: %s |' % (
        r['connections'], r['changes'], ', '.join(map(str, r['open_after']))))
    for r in res['load']:
        lines.append('| load c=%d %s%s, %d changes | %d failed of %d %s |' % (
            r['concurrency'], 'keep-alive' if r['keepalive'] else 'close',
            ' through the edge' if r['port'] == EDGE else ' directly', r['changes'], r['failed'],
            r['requests'], r['errors'] or ''))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--idle', type=int, default=20)
    parser.add_argument('--inflight', type=int, default=10)
    parser.add_argument('--slow-ms', type=int, default=3000)
    parser.add_argument('--upgraded', type=int, default=5)
    parser.add_argument('--changes', type=int, default=5, help='changes per connection experiment')
    parser.add_argument('-c', '--concurrency', type=int, default=16)
    parser.add_argument('--load-seconds', type=float, default=10.0)
    parser.add_argument('--every', type=float, default=0.5, help='seconds between changes under load')
    parser.add_argument('--output', default=os.path.join(BENCH_DIR, 'results', 'caddy_reload.json'))
    opts = parser.parse_args()
    echo = EchoServer(('127.0.0.1', ECHO), Echo)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    started = time.time()
    try:
        setup()
        caddy = adapter()
        res = {}
        log('idle keep-alive connections')
        res['idle_direct'] = idle(caddy, CADDY, opts.idle, opts.changes)
        res['idle_edge'] = idle(caddy, EDGE, opts.idle, opts.changes)
        log('requests in flight')
        res['inflight'] = inflight(caddy, opts.inflight, opts.slow_ms, opts.changes)
        log('upgraded connections')
        res['upgraded'] = upgraded(caddy, opts.upgraded, opts.changes)
        res['load'] = []
        for port, keepalive in ((CADDY, True), (CADDY, False), (EDGE, True)):
            log('load: port %d keep-alive %s' % (port, keepalive))
            res['load'].append(under_load(caddy, port, keepalive, opts.concurrency, opts.load_seconds, opts.every))
    finally:
        echo.shutdown()
        teardown()
    caddy_version = docker('run', '--rm', 'zerodowntime-test/caddy', 'caddy', 'version', check=False)
    load = os.getloadavg()
    os.makedirs(os.path.dirname(opts.output), exist_ok=True)
    with open(opts.output, 'w') as handle:
        json.dump(dict(results=res, options=vars(opts), seconds=round(time.time() - started, 1), caddy=caddy_version,
                       load_average=load, commit=machine.commit()), handle, indent=2)
    print(markdown(res))
    print('\n(Caddy %s; %.0f s in all; load average %s; JSON: %s)' % (
        caddy_version, time.time() - started, ', '.join('%.1f' % v for v in load), opts.output))


if __name__ == '__main__':
    main()
