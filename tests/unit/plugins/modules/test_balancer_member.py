# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers import _runner
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._apache import ApacheAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DRAINED, ENABLED, UP, Change, Member,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._haproxy import HaproxyAdapter
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._nginx import LocalHost, NginxAdapter
from ansible_collections.zerodowntime.deploy.plugins.modules import balancer_member
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.modules.module_runner import run_module
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeAdapter,
)

HAPROXY = dict(balancer='haproxy', haproxy_socket='/run/haproxy/admin.sock', backend='app')


def run(capsys, args, invocation=False):
    return run_module(capsys, balancer_member.main, args, invocation)


@pytest.fixture
def fake(monkeypatch):
    adapter = FakeAdapter([Member('a', ENABLED, weight=1, health=UP, serving=True),
                           Member('b', ENABLED, weight=1, health=UP, serving=True)])
    built = []

    def build(params, module, clock=None, sleep=None):
        built.append(params)
        return adapter
    monkeypatch.setattr(_runner, 'build_adapter', build)
    adapter.built = built
    return adapter


@pytest.mark.parametrize('args, message', [
    (dict(HAPROXY, member='a'), "missing parameter(s) required by 'member': state"),
    (dict(HAPROXY, state='drained'), 'one of the following is required: member, members'),
    (dict(HAPROXY, member='a', state='drained', members=[dict(name='b', state='enabled')]),
     'parameters are mutually exclusive: member|members'),
    (dict(HAPROXY, members=[dict(name='b', state='enabled')], weight=3), 'parameters are mutually exclusive: weight|members'),
    (dict(balancer='haproxy', backend='app', member='a', state='drained'),
     'balancer is haproxy but all of the following are missing: haproxy_socket'),
    (dict(balancer='apache', backend='app', member='a', state='drained'),
     'balancer is apache but all of the following are missing: apache_url'),
    (dict(balancer='nginx', backend='app', member='a', state='drained'),
     'balancer is nginx but all of the following are missing: nginx_config'),
    (dict(HAPROXY, member='a', state='up'), 'value of state must be one of: enabled, drained, disabled'),
    (dict(HAPROXY, members=[dict(name='b')]), 'missing required arguments: state found in members'),
])
def test_argument_rules(capsys, fake, args, message):
    out = run(capsys, args)
    assert out['failed'] is True and message in out['msg']
    assert fake.calls == []


def test_check_mode_reads_but_never_applies(capsys, fake):
    out = run(capsys, dict(HAPROXY, member='a', state='drained', _ansible_check_mode=True, _ansible_diff=True))
    assert out['changed'] is True
    assert fake.applies() == []
    assert set(c[0] for c in fake.calls) == set(['read', 'active', 'close'])
    assert out['diff']['after'] == {'a': {'state': DRAINED, 'weight': 1}}


def test_real_run_applies_once_and_closes(capsys, fake):
    out = run(capsys, dict(HAPROXY, member='a', state='drained'))
    assert out['changed'] is True and fake.applies() == [[Change('a', DRAINED)]]
    assert fake.calls[-1] == ('close',)
    assert 'diff' not in out


def test_failure_keeps_the_result_fields(capsys, fake):
    fake.members['b'].health = 'down'
    out = run(capsys, dict(HAPROXY, member='a', state='disabled'))
    assert out['failed'] is True and out['changed'] is False
    assert 'Refusing to take' in out['msg'] and out['backend'] == 'app'


def test_adapters_are_built_from_their_own_options(monkeypatch):
    base = dict((name, spec.get('default')) for name, spec in _runner.ARGUMENT_SPEC.items())
    haproxy = _runner.build_adapter(dict(base, balancer='haproxy', haproxy_socket='tcp://127.0.0.1:18211'), None)
    assert isinstance(haproxy, HaproxyAdapter) and haproxy.api.target == ('127.0.0.1', 18211)
    apache = _runner.build_adapter(dict(base, balancer='apache', apache_url='https://lb/balancer-manager',
                                        apache_username='u', apache_password='p'), None)
    assert isinstance(apache, ApacheAdapter) and apache.client.session.auth == ('u', 'p')
    assert apache.client.session.verify is True
    nginx = _runner.build_adapter(dict(base, balancer='nginx', nginx_config='/etc/nginx/conf.d/app.conf'), 'module')
    assert isinstance(nginx, NginxAdapter) and isinstance(nginx.host, LocalHost)
    assert (nginx.binary, nginx.pid_file, nginx.interval) == ('nginx', '/run/nginx.pid', 0.2)


def test_password_is_no_log():
    assert _runner.ARGUMENT_SPEC['apache_password']['no_log'] is True
