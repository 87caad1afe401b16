# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What docs/security.md claims about secrets, checked on the installed modules: every option
that carries a secret is no_log, and a secret given to a module never comes back in its output.
(TLS verification on by default is checked by the bad-input table: untrusted certificates.)"""

import re

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import ARGUMENT_SPEC as BALANCER
from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import DOCKER_CONNECTION_ARGS
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import argument_spec
from ansible_collections.zerodowntime.deploy.plugins.modules.traffic_probe import ARGUMENT_SPEC as PROBE
from harness.direct import run_module


SECRET_NAME = re.compile(r'password|secret|token|passphrase|api_key')
SPECS = {
    'balancer_member': BALANCER,
    'container_hotswap': argument_spec(),
    'traffic_probe': PROBE,
    'wait_ready': dict(_readiness.READINESS_ARGS, **DOCKER_CONNECTION_ARGS),
}
CLOSED = 'http://127.0.0.1:18797/'     # nothing listens there


def options(spec, prefix=''):
    for name, option in spec.items():
        yield prefix + name, option
        yield from options(option.get('options') or {}, prefix + name + '.')


@pytest.mark.parametrize('module', sorted(SPECS))
def test_every_secret_option_is_no_log(module):
    secret = [(name, option.get('no_log')) for name, option in options(SPECS[module])
              if SECRET_NAME.search(name.split('.')[-1])]
    assert all(no_log for name, no_log in secret), secret


def shown(result, secret):
    return secret in result['_raw'].replace('VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', '')


def test_passwords_never_come_back():
    secret = 'pw-%s' % 'c0ffee'
    results = [
        run_module('balancer_member', dict(balancer='apache', apache_url=CLOSED + 'balancer-manager', backend='app',
                                           member='x', state='drained', apache_username='u', apache_password=secret)),
        run_module('wait_ready', dict(timeout=1, checks=[{'type': 'http', 'url': CLOSED, 'url_username': 'u',
                                                          'url_password': secret}])),
    ]
    assert [r['failed'] for r in results] == [True, True]
    assert not [r['msg'] for r in results if shown(r, secret)]


def test_credentials_in_the_balancer_manager_url_never_come_back():
    secret = 'pw-in-url-%s' % 'f00d'
    result = run_module('balancer_member', dict(
        balancer='apache', apache_url='http://admin:%s@127.0.0.1:18797/balancer-manager' % secret, backend='app',
        member='x', state='drained'))
    assert result['failed'] and not shown(result, secret), result['msg']


def test_an_authorization_header_never_comes_back():
    secret = 'Bearer tok-%s' % 'beef'
    results = [
        run_module('traffic_probe', dict(urls=[CLOSED], duration=0.3, headers={'Authorization': secret})),
        run_module('wait_ready', dict(timeout=1, checks=[{'type': 'http', 'url': CLOSED,
                                                          'headers': {'Authorization': secret}}])),
    ]
    assert not [r['msg'] for r in results if shown(r, secret)]
