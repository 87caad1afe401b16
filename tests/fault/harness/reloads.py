# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A balancer reloaded or restarted in the middle of a deploy (test_balancer_reloads.py).

- Fronts of Apache (balancer-manager) and nginx (upstream file) beside the HAProxy one of
  fronts.py, each with an oracle that reads the members without the collection's adapters, and
  its own ``reload()`` (HAProxy SIGUSR2, ``apache2ctl -k graceful``, ``nginx -s reload``) and
  ``restart()`` (the container restarted: the balancer process goes away and comes back).
- The services of services.py behind those fronts (blue_green: HAProxy, Apache; rolling_restart:
  HAProxy, Apache, nginx).
- ``Trigger``: watches the oracle (and the engine) from a thread and fires the reload or restart
  once, at the phase of the deploy the case is about.
- ``AttributingLoad``: the background load, keeping the start and end of every failed request,
  so that a failure is put down to the balancer (it overlaps the balancer's own window: from the
  reload or restart until it answers again, plus a second) or to us (any other).
"""

import http.client
import json
import os
import socket
import threading
import time

import requests
from ansible.module_utils.six.moves.html_parser import HTMLParser

from harness import convergence
from harness.fronts import HaproxyFront
from harness.load import BackgroundLoad, FailureTally
from harness.services import HaproxyBlueGreen, RollingBackends

# A failure that overlaps [fired, answered again + GRACE] is the balancer's own.
GRACE = 1.0
# How long a restarted container may take to stop (then it is killed): a restart, not a drain.
RESTART_STOP_TIMEOUT = 2


# ----------------------------------------------------------------------------- fronts

class HaproxyReloadable(HaproxyFront):
    kind = 'haproxy'

    def reload(self):
        self.container.kill(signal='SIGUSR2')

    def restart(self):
        self.container.restart(timeout=RESTART_STOP_TIMEOUT)

    def answers(self):
        try:
            self.command('show info')
            return True
        except OSError:
            return False

    def connection(self):
        return {'haproxy_socket': self.socket}

    def member(self, name, port):
        return name

    def reset(self):
        for name, server in self.servers().items():
            self.command('set weight app/%s %d' % (name, server['initial_weight']))
            self.command('set server app/%s state ready' % name)


class _Rows(HTMLParser):
    """Rows of cells (text) of every table of a page."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows = []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == 'tr':
            self.rows.append([])
        elif tag in ('td', 'th') and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ('td', 'th') and self._cell is not None:
            self.rows[-1].append(''.join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


class _ContainerFront(object):
    """A front in a container of ours: reload by a command in it, restart of the container."""

    kind = None
    reload_command = None
    socket = None          # services.py's HAProxy variables name it; replaced by connection()

    def __init__(self, docker, name, front_port, members):
        self.docker = docker
        self.name = name
        self.front_port = front_port
        self.url = 'http://127.0.0.1:%d/' % front_port
        self.members = members
        self.container = None

    def reload(self):
        self.container.exec_run(self.reload_command)

    def restart(self):
        self.container.restart(timeout=RESTART_STOP_TIMEOUT)

    def remove(self):
        if self.container is not None:
            convergence.remove(self.docker, self.container.id)
            self.container = None


APACHE_SITE = '''Listen 127.0.0.1:{front}
<VirtualHost *:*>
    <Proxy balancer://app>
{members}
        ProxySet lbmethod=byrequests
        ProxySet maxattempts=0
    </Proxy>
    <Location /balancer-manager>
        SetHandler balancer-manager
        Require local
    </Location>
    ProxyPass /balancer-manager !
    ProxyPass / balancer://app/
    ProxyPassReverse / balancer://app/
</VirtualHost>
'''


class ApacheFront(_ContainerFront):
    """zerodowntime-test/apache with balancer://app of ``members`` ({name: port}); strict
    (maxattempts=0: a failed request is not sent to another member)."""

    kind = 'apache'
    reload_command = ['apache2ctl', '-k', 'graceful']

    def __init__(self, docker, name, front_port, members, workdir):
        super(ApacheFront, self).__init__(docker, name, front_port, members)
        self.manager = 'http://127.0.0.1:%d/balancer-manager' % front_port
        self.dir = str(workdir)

    def member(self, name, port):
        return 'http://127.0.0.1:%d' % port

    def start(self):
        lines = '\n'.join('        BalancerMember http://127.0.0.1:%d route=%s retry=1' % (port, name)
                          for name, port in sorted(self.members.items()))
        path = os.path.join(self.dir, 'site.conf')
        with open(path, 'w') as handle:
            handle.write(APACHE_SITE.format(front=self.front_port, members=lines))
        self.container = self.docker.containers.run(
            'zerodowntime-test/apache:latest', name=self.name, detach=True, network_mode='host',
            volumes={path: {'bind': '/etc/apache2/sites-enabled/000-default.conf', 'mode': 'ro'}})
        _wait(self.answers, 30, 'Apache front %s' % self.name, self.container)
        return self

    def answers(self):
        try:
            return requests.get(self.manager, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def connection(self):
        return {'apache_url': self.manager}

    def servers(self, backend='app'):
        """{name: dict(state, weight, initial_weight, up)} from the balancer-manager page."""
        parser = _Rows()
        parser.feed(requests.get(self.manager, timeout=5).text)
        by_url = dict((self.member(name, port), name) for name, port in self.members.items())
        found = {}
        header = None
        for row in parser.rows:
            if 'Worker URL' in row:
                header = row
                continue
            if header is None or len(row) < len(header) or row[0] not in by_url:
                continue
            cells = dict(zip(header, row))
            flags = cells['Status'].split()
            state = 'disabled' if 'Dis' in flags or 'Stop' in flags else 'drained' if 'Drn' in flags else 'enabled'
            found[by_url[row[0]]] = dict(state=state, weight=float(cells['Factor']), initial_weight=1.0,
                                         up='Err' not in flags)
        return found

    def reset(self):
        """Every member as configured: a graceful restart forgets the balancer-manager's changes."""
        self.reload()
        time.sleep(1.0)
        _wait(self.answers, 30, 'Apache front %s' % self.name, self.container)


NGINX_SITE = '''upstream app {{
{members}
    keepalive 8;
}}
server {{
    listen 127.0.0.1:{front};
    location / {{
        proxy_pass http://app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_next_upstream off;
    }}
}}
'''


class NginxFront(_ContainerFront):
    """zerodowntime-test/nginx with upstream app of ``members``; strict (proxy_next_upstream off)."""

    kind = 'nginx'
    config = '/etc/nginx/conf.d/app.conf'
    reload_command = ['nginx', '-s', 'reload']

    def __init__(self, docker, name, front_port, members, workdir):
        super(NginxFront, self).__init__(docker, name, front_port, members)
        self.dir = os.path.join(str(workdir), 'conf.d')

    def member(self, name, port):
        return '127.0.0.1:%d' % port

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.write()
        self.container = self.docker.containers.run(
            'zerodowntime-test/nginx:latest', name=self.name, detach=True, network_mode='host',
            volumes={self.dir: {'bind': '/etc/nginx/conf.d', 'mode': 'rw'}})
        _wait(self.answers, 30, 'nginx front %s' % self.name, self.container)
        return self

    def write(self):
        lines = '\n'.join('    server 127.0.0.1:%d;' % port for name, port in sorted(self.members.items()))
        with open(os.path.join(self.dir, 'app.conf'), 'w') as handle:
            handle.write(NGINX_SITE.format(front=self.front_port, members=lines))

    def answers(self):
        try:
            requests.get(self.url + 'health', timeout=2)
            return True
        except requests.RequestException:
            return False

    def connection(self):
        return {'nginx_config': self.config, 'nginx_container': self.name}

    def servers(self, backend='app'):
        with open(os.path.join(self.dir, 'app.conf')) as handle:
            text = handle.read()
        found = {}
        for name, port in self.members.items():
            line = [l for l in text.splitlines() if l.strip().startswith('server %s' % self.member(name, port))][0]
            found[name] = dict(state='disabled' if ' down' in line else 'enabled', weight=1, initial_weight=1,
                               up=True)
        return found

    def reset(self):
        self.write()
        self.reload()


# The test image's own configuration (tests/images/caddy/caddy.json) is the template: its
# reverse_proxy handler @id 'app' gets the members, its server the front's port.
CADDY_IMAGE_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                  'images', 'caddy', 'caddy.json')
# Caddy's own checks of the members, like the HAProxy front's (check inter 500ms): a member a
# reload puts back after the deploy ended, whose container is gone, is taken out by Caddy itself.
CADDY_HEALTH_CHECKS = {'active': {'uri': '/health', 'interval': '500ms', 'timeout': '2s'}}


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        http.client.HTTPConnection.__init__(self, 'localhost', timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


class CaddyFront(_ContainerFront):
    """zerodowntime-test/caddy with the handler @id 'app' of ``members``, its admin API on a unix
    socket in a host directory; strict (no lb_try_duration: one try per request). The oracle
    reads Caddy's running configuration (GET /config/): a member in the handler is enabled, one
    in the handler 'zdt-drained:app' / 'zdt-disabled:app' (where the collection parks it, in
    Caddy's own configuration) drained / disabled."""

    kind = 'caddy'
    config = '/etc/caddy/caddy.json'
    # What config management does: load the configuration file again (POST /load of it).
    reload_command = ['caddy', 'reload', '--config', config]

    def __init__(self, docker, name, front_port, members, workdir):
        super(CaddyFront, self).__init__(docker, name, front_port, members)
        self.dir = str(workdir)
        self.run_dir = os.path.join(self.dir, 'caddy-run')
        self.socket = os.path.join(self.run_dir, 'admin.sock')

    def member(self, name, port):
        return '127.0.0.1:%d' % port

    def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        with open(CADDY_IMAGE_CONFIG) as handle:
            config = json.load(handle)
        server = config['apps']['http']['servers']['web']
        server['listen'] = ['127.0.0.1:%d' % self.front_port]
        handler = server['routes'][0]['handle'][0]
        handler['upstreams'] = [{'dial': self.member(name, port)} for name, port in sorted(self.members.items())]
        handler['health_checks'] = CADDY_HEALTH_CHECKS
        path = os.path.join(self.dir, 'caddy.json')
        with open(path, 'w') as handle:
            json.dump(config, handle, indent=2)
        self.container = self.docker.containers.run(
            'zerodowntime-test/caddy:latest', name=self.name, detach=True, network_mode='host',
            volumes={path: {'bind': self.config, 'mode': 'ro'}, self.run_dir: {'bind': '/run/caddy', 'mode': 'rw'}})
        _wait(self.answers, 30, 'Caddy front %s' % self.name, self.container)
        return self

    def reload(self):
        code, output = self.container.exec_run(self.reload_command)
        if code != 0:
            raise AssertionError('caddy reload in %s failed (%s): %s' % (self.name, code, output[-500:]))

    def admin(self, path):
        conn = _UnixHTTPConnection(self.socket)
        try:
            conn.request('GET', path, headers={'Host': ''})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise OSError('GET %s: HTTP %s %r' % (path, resp.status, body[:200]))
            return json.loads(body.decode())
        finally:
            conn.close()

    def answers(self):
        try:
            self.admin('/config/')
            requests.get(self.url + 'health', timeout=2)
            return True
        except (OSError, ValueError, http.client.HTTPException, requests.RequestException):
            return False

    def connection(self):
        return {'caddy_admin': 'unix/' + self.socket}

    def servers(self, backend='app'):
        """{name: dict(state, weight, initial_weight, up)} from the running configuration; up:
        the member answers its /health (Caddy 2.6 reports no health of its own per upstream)."""
        places = {backend: 'enabled', 'zdt-drained:' + backend: 'drained', 'zdt-disabled:' + backend: 'disabled'}
        found = {}
        by_dial = dict((self.member(name, port), name) for name, port in self.members.items())
        for handler in _handlers(self.admin('/config/')):
            state = places.get(handler.get('@id'))
            if state is None:
                continue
            for upstream in handler.get('upstreams') or []:
                name = by_dial.get(upstream.get('dial'))
                if name is not None:
                    found[name] = dict(state=state, weight=1, initial_weight=1, up=_answers_health(upstream['dial']))
        return found

    def reset(self):
        """The configuration file again: a reload forgets the admin API's changes."""
        self.reload()
        _wait(self.answers, 30, 'Caddy front %s' % self.name, self.container)


def _handlers(node):
    """Every reverse_proxy handler of a Caddy configuration."""
    if isinstance(node, dict):
        if node.get('handler') == 'reverse_proxy':
            yield node
        for value in node.values():
            yield from _handlers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _handlers(value)


def _answers_health(dial):
    try:
        return requests.get('http://%s/health' % dial, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait(predicate, timeout, what, container):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError('%s did not answer: %s' % (what, container.logs()[-2000:]))


FRONTS = {'haproxy': HaproxyReloadable, 'apache': ApacheFront, 'nginx': NginxFront, 'caddy': CaddyFront}


def make_front(kind, docker, name, port, members, workdir):
    if kind == 'haproxy':
        return HaproxyReloadable(docker, name, port, {'app': members}, workdir)
    return FRONTS[kind](docker, name, port, members, workdir)


# ----------------------------------------------------------------------------- services

class BlueGreenBehind(HaproxyBlueGreen):
    """blue_green behind the front of ``kind`` (haproxy or apache)."""

    def __init__(self, kind, docker, name, workdir, front, slot_ports):
        self.kind = kind
        super(BlueGreenBehind, self).__init__(docker, name, workdir, front, slot_ports)

    def make_front(self, front, members, workdir, variant):
        return make_front(self.kind, self.docker, front[0], front[1], members, workdir)

    def variables(self, version):
        variables = HaproxyBlueGreen.variables(self, version)
        variables['blue_green_strategy'] = self.front.kind
        variables['blue_green_balancers'] = [{
            'balancer': self.front.kind, 'backend': 'app', 'connection': self.front.connection(),
            'members': dict((slot, self.front.member(slot, port)) for slot, port in self.slot_ports.items())}]
        return variables

    def reset_balancer(self):
        self.front.reset()


class RollingBehind(RollingBackends):
    """rolling_restart of three backends behind the front of ``kind``."""

    def __init__(self, kind, docker, name, workdir, front, backend_ports):
        self.kind = kind
        super(RollingBehind, self).__init__(docker, name, workdir, front, backend_ports)

    def make_front(self, front, members, workdir, variant):
        return make_front(self.kind, self.docker, front[0], front[1], members, workdir)

    def variables(self, version):
        variables = RollingBackends.variables(self, version)
        variables['rolling_restart_balancers'] = [{
            'balancer': self.front.kind, 'backend': 'app', 'connection': self.front.connection(),
            'member': self.front.member('{{ inventory_hostname }}', 0).replace(':0', ':{{ app_port }}')}]
        if self.front.kind != 'haproxy':
            variables.pop('rolling_restart_ramp')      # weights: HAProxy's ramp is the one measured
        return variables

    def reset_balancer(self):
        self.front.reset()


# ----------------------------------------------------------------------------- the trigger

class Trigger(object):
    """Fires ``action`` ('reload' or 'restart') on ``front`` once ``condition(seen)`` holds,
    ``delay`` seconds later; ``seen``: the oracle's servers() ({} while it does not answer).
    ``fired``/``answered``: time.monotonic() of the action and of the front answering again."""

    def __init__(self, front, action, condition, delay=0.0, timeout=200.0):
        self.front = front
        self.action = action
        self.condition = condition
        self.delay = delay
        self.timeout = timeout
        self.fired = None
        self.answered = None
        self.seen_at_fire = None
        self.error = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name='zdt-fault-trigger')
        self.thread.daemon = True

    def start(self):
        self.thread.start()
        return self

    def _watch(self):
        deadline = time.monotonic() + self.timeout
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    seen = self.front.servers()
                except Exception:  # a front restarting (or a file being rewritten) - look again
                    seen = {}
                if seen and self.condition(seen):
                    time.sleep(self.delay)
                    self.seen_at_fire = seen
                    self.fired = time.monotonic()
                    getattr(self.front, self.action)()
                    while not self.front.answers() and time.monotonic() < deadline:
                        time.sleep(0.05)
                    self.answered = time.monotonic()
                    return
                time.sleep(0.05)
        except Exception as exc:  # reported by the test
            self.error = repr(exc)

    def stop(self):
        self._stop.set()
        self.thread.join(30)

    def window(self):
        """(from, to) of the balancer's own outage, None when it did not fire."""
        if self.fired is None:
            return None
        return self.fired, (self.answered or self.fired) + GRACE


class AttributingTally(FailureTally):
    """FailureTally that keeps (start, end, what) of every failed request."""

    def __init__(self):
        FailureTally.__init__(self)
        self.failures = []

    def count(self, result):
        FailureTally.count(self, result)
        if result.outcome != 'ok':
            self.failures.append((result.start, result.start + (result.latency or 0.0),
                                  '%s %s %s' % (result.outcome, result.status or '', result.error or '')))


class AttributingLoad(BackgroundLoad):
    def __init__(self, url, **kwargs):
        BackgroundLoad.__init__(self, url, **kwargs)
        self.tally = AttributingTally()
        self.load.on_result = self.tally.add

    def split(self, window, *others):
        """(ours, the balancer's): failed requests (of this load and ``others``) outside and
        inside ``window``."""
        ours, theirs = [], []
        for start, end, what in self.tally.failures + [f for other in others for f in other.tally.failures]:
            inside = window is not None and end >= window[0] and start <= window[1]
            (theirs if inside else ours).append(what)
        return ours, theirs


# What the blue/green and rolling phases wait for, on the oracle's servers().
def candidate_enabled(active):
    other = 'green' if active == 'blue' else 'blue'
    return lambda seen: seen[other]['state'] == 'enabled'


def old_out(active):
    return lambda seen: seen[active]['state'] != 'enabled'


def any_out(seen):
    return any(s['state'] != 'enabled' for s in seen.values())


class OutFor(object):
    """A member has been out of rotation for ``seconds`` and still is (rolling: its container is
    being replaced - the drain is over, the enable has not come)."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.since = {}

    def __call__(self, seen):
        now = time.monotonic()
        for name, server in seen.items():
            if server['state'] == 'enabled':
                self.since.pop(name, None)
            else:
                self.since.setdefault(name, now)
        return any(now - since >= self.seconds for since in self.since.values())


class BackInRotation(object):
    """A member that was out of rotation is enabled again (rolling: the enable step)."""

    def __init__(self):
        self.out = set()

    def __call__(self, seen):
        back = [name for name in self.out if seen[name]['state'] == 'enabled']
        self.out.update(name for name, s in seen.items() if s['state'] != 'enabled')
        return bool(back)
