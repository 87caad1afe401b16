# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything bad inputs are thrown at: a real HAProxy front (backend app with two live members,
backend solo with one), a service deployed by container_hotswap, a foreign container squatting a
service's name, misbehaving balancers (fakes.py), an untrusted TLS certificate, a taken port, nginx
configuration files - and the snapshot that 'nothing changed' compares."""

import os
import sys

from harness import convergence, fakes
from harness.direct import run_module
from harness.fronts import HaproxyFront

PREFIX = 'zdt-fault-bad-'
PORTS = dict(front=18750, blue=18751, green=18752, only=18753, service=18754,
             no_header=18755, truncated=18756, user_level=18757, silent=18758,
             auth=18759, other_page=18760, ignores_post=18761, tls=18762, taken=18763, closed=18764)
APP = convergence.APP_IMAGE % 'v1'
SERVICE = PREFIX + 'svc'
FOREIGN = PREFIX + 'foreign'

NGINX_CONFIG = '''upstream app {
    server 127.0.0.1:18751;
    server 127.0.0.1:18752;
}
'''


class BadInput(object):
    """One invalid input: ``call(env)`` gives (module, args[, environment changes]) - or (role,
    variables) in the roles' table; ``expect``: regular expressions the failure message must all
    match; ``defect``: a known defect this input shows (a strict xfail)."""

    def __init__(self, id, call, *expect, **kwargs):
        self.id = id
        self.call = call
        self.expect = expect
        self.defect = kwargs.pop('defect', None)

    def __repr__(self):
        return self.id


class BadInputEnv(object):
    def __init__(self, docker, workdir):
        self.docker = docker
        self.dir = str(workdir)
        self.ports = PORTS
        self.front = HaproxyFront(docker, PREFIX + 'haproxy', PORTS['front'],
                                  {'app': {'blue': PORTS['blue'], 'green': PORTS['green']},
                                   'solo': {'only': PORTS['only']}}, workdir)
        self.fakes = {}
        self.taken = None
        self.nginx_config = os.path.join(self.dir, 'app.conf')
        self.nginx_broken = os.path.join(self.dir, 'broken.conf')
        self.stale_stop_file = os.path.join(self.dir, 'stale.stop')
        self.tls = None
        self.python = sys.executable

    def start(self):
        self.front.start()
        for member in ('blue', 'green', 'only'):
            self.docker.containers.run(APP, name=PREFIX + member, detach=True, network_mode='host',
                                       environment={'APP_PORT': str(PORTS[member])})
        self.docker.containers.create(APP, name=FOREIGN)          # never started, no labels
        result = run_module('container_hotswap', self.service_args())
        assert not result.get('failed'), result['msg']
        self.tls = fakes.self_signed(self.dir)
        for mode in fakes.RUNTIME_ANSWERS:
            self.fakes[mode] = fakes.fake_runtime_api(PORTS[mode.replace('-', '_')], mode)
        for mode in ('auth', 'other-page', 'ignores-post'):
            self.fakes[mode] = fakes.fake_manager(PORTS[mode.replace('-', '_')], mode)
        self.fakes['tls'] = fakes.fake_manager(PORTS['tls'], 'ignores-post', tls_files=self.tls)
        self.taken = fakes.TakenPort(PORTS['taken'])
        with open(self.nginx_config, 'w') as handle:
            handle.write(NGINX_CONFIG)
        with open(self.nginx_broken, 'w') as handle:
            handle.write(NGINX_CONFIG[:-3])
        with open(self.stale_stop_file, 'w'):
            pass
        return self

    def close(self):
        for fake in self.fakes.values():
            fake.close()
        if self.taken is not None:
            self.taken.close()
        self.front.remove()
        for name, seen in convergence.listing(self.docker).items():
            if name.startswith(PREFIX):
                convergence.remove(self.docker, seen.id)

    # -- argument sets the tables start from
    def service_args(self, **changes):
        """container_hotswap of the deployed service, as it was deployed."""
        url = 'http://127.0.0.1:%d/' % PORTS['service']
        args = dict(name=SERVICE, image=APP, strategy='reuseport',
                    env={'APP_PORT': str(PORTS['service']), 'APP_REUSEPORT': '1'},
                    readiness={'checks': [{'type': 'http', 'url': url, 'response_headers': {'X-App-Version': 'v1'}}],
                               'timeout': 20, 'interval': 0.1})
        args.update(changes)
        return args

    def haproxy_args(self, **changes):
        """balancer_member on the real HAProxy; a change to None leaves the option out."""
        args = dict(balancer='haproxy', haproxy_socket=self.front.socket, backend='app', member='blue',
                    state='drained', drain_timeout=5)
        args.update(changes)
        return dict((k, v) for k, v in args.items() if v is not None)

    def fake_runtime_args(self, mode, **changes):
        return self.haproxy_args(haproxy_socket='tcp://127.0.0.1:%d' % PORTS[mode], request_timeout=2, **changes)

    def apache_args(self, port, scheme='http', **changes):
        args = dict(balancer='apache', apache_url='%s://127.0.0.1:%d/balancer-manager' % (scheme, port),
                    backend='app', member='http://127.0.0.1:18241', state='drained', drain_timeout=5,
                    request_timeout=3)
        args.update(changes)
        return args

    def url(self, name, scheme='http', path='/'):
        return '%s://127.0.0.1:%d%s' % (scheme, PORTS[name], path)

    # -- the truth
    def snapshot(self):
        with open(self.nginx_config) as handle:
            nginx = handle.read()
        return dict(containers=convergence.snapshot(self.docker, PREFIX), app=self.front.snapshot('app'),
                    solo=self.front.snapshot('solo'), nginx=nginx, stop_file=os.path.exists(self.stale_stop_file),
                    fakes=dict((name, fake.changes) for name, fake in self.fakes.items()))
