# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""container_hotswap end to end on the fake engine: the four-step idempotency check, check mode
makes no changing call, bad input fails before any engine call, failure messages and results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap_run, _readiness
from ansible_collections.zerodowntime.deploy.plugins.modules import container_hotswap
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.modules.module_runner import run_module

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'module_utils', 'hotswap'))
from fake_engine import NEVER_READY, FakeAPI, FakeClient, fake_wait_ready  # noqa: E402  pylint: disable=wrong-import-position

BASE = dict(name='web', image='app:v2', network_mode='host',
            slots=dict(blue=dict(env=dict(APP_PORT=18301)), green=dict(env=dict(APP_PORT=18302))),
            readiness=dict(checks=[dict(type='http', url='http://127.0.0.1:${APP_PORT}/health')]))


@pytest.fixture
def api(monkeypatch):
    engine = FakeAPI(images={'app:v1': 'sha256:v1', 'app:v2': 'sha256:v2', 'app:never': NEVER_READY},
                     networks=('bridge', 'host', 'none', 'front'))
    client = FakeClient(engine)
    monkeypatch.setattr(_hotswap_run, 'module_docker_client', lambda module: client)
    monkeypatch.setattr(_readiness, 'wait_until_ready', fake_wait_ready(engine))
    return engine


def run(capsys, check_mode=False, diff=False, **overrides):
    args = dict(BASE)
    args.update(overrides)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    return run_module(capsys, container_hotswap.main, args)


def names(api):
    return sorted(info['Name'].lstrip('/') for info in api.store.values())


def test_four_step_idempotency(api, capsys):
    first = run(capsys, check_mode=True, diff=True)
    assert first['changed'] is True
    assert first['plan'] == ['create web-candidate in slot blue (image app:v2)', 'start web-candidate',
                             'wait until web-candidate (slot blue) is ready', 'rename web-candidate to web']
    assert first['active']['slot'] == 'blue' and first['active']['id'] is None
    assert first['diff']['before'] == {'web.image': None, 'web.image_id': None, 'web.slot': None, 'web.config': None}
    assert first['diff']['after']['web.config']['env'] == {'APP_PORT': '(hidden, changed)'}   # values never shown
    assert first['lock'] is None
    assert api.mutations() == []

    real = run(capsys)
    assert real['changed'] is True and real['active']['name'] == 'web' and real['active']['id']
    assert names(api) == ['web']                      # the lock is gone again
    assert set(real['timings']) == {'pull', 'lock', 'create', 'start', 'ready', 'warmup', 'switch', 'drain',
                                    'cutover', 'retire', 'total'}

    mutations = len(api.mutations())
    again = run(capsys)
    assert again['changed'] is False and again['plan'] == []
    # only the lock was created and removed
    assert [c[0] for c in api.mutations()[mutations:]] == ['create_container', 'remove_container']

    mutations = len(api.mutations())
    check_again = run(capsys, check_mode=True, diff=True)
    assert check_again['changed'] is False and check_again['diff'] == dict(before={}, after={})
    assert len(api.mutations()) == mutations


def test_swap_to_a_new_version_in_check_mode_touches_nothing(api, capsys):
    run(capsys, image='app:v1')
    mutations = len(api.mutations())
    result = run(capsys, check_mode=True, diff=True, keep_previous=True)
    assert result['changed'] is True
    assert result['plan'][-3:] == ['rename web to web-previous', 'rename web-candidate to web',
                                   'stop web-previous (SIGTERM, up to 10s, then kill) and keep it for rollback']
    assert result['diff']['before']['web.image'] == 'app:v1' and result['diff']['after']['web.image'] == 'app:v2'
    assert result['diff']['after']['web-previous.image'] == 'app:v1'
    assert len(api.mutations()) == mutations
    assert not [c for c in api.calls if c[0] == 'info']      # no lock in check mode


def test_swap_back_and_forth_alternates_the_slots(api, capsys):
    slots = []
    for image in ('app:v1', 'app:v2', 'app:v1'):
        slots.append(run(capsys, image=image)['active']['slot'])
    assert slots == ['blue', 'green', 'blue']
    assert names(api) == ['web']


def test_never_ready_fails_with_the_reason_and_the_old_one_keeps_running(api, capsys):
    run(capsys, image='app:v1')
    active_id = api.by_name('web')['Id']
    result = run(capsys, image='app:never')
    assert result['failed'] is True and result['changed'] is False
    assert result['msg'].startswith('Service web: ready web-candidate failed: Not ready after 60s: status 503. '
                                    'Then: web-candidate was removed; the active container web (slot blue, '
                                    'image app:v1, running) was left untouched.')
    assert result['candidate_logs'] == ['app: started /web-candidate', 'app: exiting']
    assert result['active']['id'] == active_id and result['candidate'] is None
    assert names(api) == ['web']


@pytest.mark.parametrize('overrides, message', [
    (dict(stop_signal='SIGNOPE'), "Service web: invalid options: stop_signal: 'SIGNOPE' is not a signal name"),
    (dict(volumes=['relative:x:y:z']), 'Service web: invalid options: volumes[0]'),
    (dict(name='bad name'), "Service bad name: invalid options: name: 'bad name' is not a valid container name"),
    (dict(readiness=dict(checks=[dict(type='http', url='http://127.0.0.1:${NOPE}/')])),
     'Service web: invalid options: readiness.checks[0].url: unknown placeholder ${NOPE}'),
    (dict(readiness=dict(checks=[dict(type='http', url='ftp://x/')])),
     'Service web: invalid options: readiness.checks[0].url'),
    (dict(strategy='reuseport', network_mode='bridge'),
     "Service web: invalid options: strategy=reuseport: both slots must share one network namespace"),
    # host is the default network of reuseport: published ports are refused as with network_mode=host
    (dict(strategy='reuseport', network_mode=None, slots=dict(blue=dict(published_ports=['18766:8080']))),
     'Service web: invalid options: slots.blue.published_ports[0]: ports cannot be published with '
     'network_mode=host'),
    (dict(env={'APP_PORT': {'nested': 1}}),
     'Service web: invalid options: env.APP_PORT: got a mapping; must be a string or a number'),
])
def test_bad_input_fails_before_any_engine_call(api, capsys, overrides, message):
    result = run(capsys, **overrides)
    assert result['failed'] is True
    assert result['msg'].startswith(message), result['msg']
    assert result['msg'].endswith('Nothing was changed.')
    assert api.calls == []


@pytest.mark.parametrize('overrides, message', [
    (dict(image='app:missing'), 'Service web: image app:missing is not present on the engine and pulling it '
                                'failed: pull access denied for app, repository does not exist. Nothing was changed.'),
    (dict(image='app:missing', pull='never'), 'Service web: image app:missing is not present on the engine and '
                                              'pull=never. Nothing was changed.'),
    (dict(network_mode=None, networks=[dict(name='nonet')]),
     'Service web: network nonet does not exist on the engine. Nothing was changed.'),
    (dict(network_mode='container:nobody'), 'Service web: network_mode=container:nobody: container nobody does '
                                            'not exist. Nothing was changed.'),
])
def test_engine_side_input_errors_change_nothing(api, capsys, overrides, message):
    run(capsys, image='app:v1')
    mutations = len(api.mutations())
    result = run(capsys, **overrides)
    assert result['msg'] == message
    assert [c[0] for c in api.mutations()[mutations:]] in ([], ['create_container', 'remove_container'],
                                                           ['pull'])


def test_promote_without_a_candidate_fails_with_the_reason(api, capsys):
    run(capsys, image='app:v1')
    result = run(capsys, state='promoted')
    assert result['failed'] is True
    assert result['msg'].startswith('Nothing staged to promote for service web: there is no web-candidate '
                                    'container, and the active one (web) runs image app:v1')


def test_phases_stage_promote_rollback(api, capsys):
    run(capsys, image='app:v1')
    staged = run(capsys, state='staged')
    assert staged['changed'] is True and staged['candidate']['slot'] == 'green'
    assert run(capsys, state='staged')['changed'] is False
    promoted = run(capsys, state='promoted', keep_previous=True)
    assert promoted['active']['image'] == 'app:v2' and promoted['previous']['status'] == 'exited'
    assert run(capsys, state='promoted', keep_previous=True)['changed'] is False
    rolled = run(capsys, state='rolled_back', image=None)
    assert rolled['active']['image'] == 'app:v1' and rolled['active']['slot'] == 'blue'
    assert rolled['candidate'] is None and rolled['previous'] is None
    again = run(capsys, state='rolled_back', image=None)
    assert again['changed'] is False
    assert [w['event']['msg'] if isinstance(w, dict) else w for w in again['warnings']] == [
        'Nothing to roll back for service web: there is no web-candidate and no web-previous container.']
    gone = run(capsys, state='absent', image=None)
    assert gone['changed'] is True and names(api) == []
    assert run(capsys, state='absent', image=None)['changed'] is False


def test_lock_held_by_another_run_fails_naming_it(api, capsys):
    api.system_time = '2024-05-01T12:00:05Z'
    api.add('web-hotswap-lock', status='created', labels={
        'zerodowntime.lock': 'web', 'zerodowntime.lock.ttl': '1800',
        'zerodowntime.lock.holder': 'ops@deploy1 pid 42'})
    result = run(capsys, lock_timeout=0)
    assert result['msg'].startswith('Timed out after 0s waiting for the deploy lock of service web: container '
                                    'web-hotswap-lock is held by ops@deploy1 pid 42 since 5s')
    assert api.mutations() == [c for c in api.calls if c[0] == 'create_container']   # only the lock attempt


def test_reuseport_checks_the_sysctl_before_anything(api, capsys, monkeypatch):
    seen = []

    def fake(mode, network_mode, engine_local, check_mode, inspect_container=None):
        seen.append((mode, network_mode, engine_local, check_mode))
        return dict(name='net.ipv4.tcp_migrate_req', where='host', before='0', after='1', changed=True, msg='x'), []
    monkeypatch.setattr(_hotswap_run, 'ensure_migrate_req', fake)
    result = run(capsys, check_mode=True, strategy='reuseport', network_mode=None, env=dict(APP_REUSEPORT='1'))
    assert seen == [('require', 'host', True, True)]
    assert result['sysctl']['changed'] is True and result['changed'] is True
    assert api.mutations() == []


# ------------------------------------------------------------------ with balancers (fake balancer)

BALANCERS = [dict(balancer='haproxy', backend='app', members=dict(blue='b', green='g'),
                  connection=dict(haproxy_socket='/run/haproxy/admin.sock', poll_interval=0.01))]


@pytest.fixture
def balancer(monkeypatch):
    from ansible_collections.zerodowntime.deploy.plugins.module_utils import _switch
    from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import Member
    from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
        FakeAdapter)
    adapter = FakeAdapter([Member('b', 'disabled', weight=100, health='down'),
                           Member('g', 'disabled', weight=100, health='down')], health={'b': ['up'], 'g': ['up']})

    def build(params, module, clock=None, sleep=None, docker=None):
        adapter.docker = docker
        return adapter
    monkeypatch.setattr(_switch, 'build_adapter', build)
    return adapter


def test_check_mode_with_balancers_reports_the_switch_and_touches_nothing(api, balancer, capsys):
    api.images.pop('app:v2')
    api.pullable['app:v2'] = 'sha256:v2'
    result = run(capsys, check_mode=True, diff=True, balancers=BALANCERS)
    assert result['changed'] is True
    assert result['plan'] == [
        'pull image app:v2 (pull=missing)',
        'create web-candidate in slot blue (image app:v2)', 'start web-candidate',
        'wait until web-candidate (slot blue) is ready',
        "haproxy backend 'app': enable b and wait until the balancer reports it up (up to 60s)",
        "haproxy backend 'app': drain g and wait for 0 in flight (up to 300s, then fail and put everything back)",
        'rename web-candidate to web']
    assert result['diff']['before']["haproxy backend 'app' member 'b'"] == {'state': 'disabled', 'weight': 100}
    assert result['diff']['after']["haproxy backend 'app' member 'b'"] == {'state': 'enabled', 'weight': 100}
    assert result['balancers'][0]['after']['g']['state'] == 'drained'
    assert api.mutations() == [] and balancer.applies() == []     # no pull, no change anywhere


def test_one_run_with_balancers_then_idempotent(api, balancer, capsys):
    first = run(capsys, balancers=BALANCERS)
    assert first['changed'] is True and first['active']['slot'] == 'blue'
    assert balancer.docker.api is api     # the adapters get the module's engine client, no second one
    # read from the balancer at the end (not the plan): the health its checks report now
    assert [(b['after']['b']['state'], b['after']['b']['health']) for b in first['balancers']] == [('enabled', 'up')]
    assert first['reasserted'] == [] and first['long_lived'] == dict(open_at_switch=0, open_at_deadline=0, closed=0)
    again = run(capsys, balancers=BALANCERS)
    assert again['changed'] is False and len(balancer.applies()) == 2
    checked = run(capsys, check_mode=True, balancers=BALANCERS)
    assert checked['changed'] is False
    assert checked['plan'] == ["haproxy backend 'app': keep b in rotation and g parked (drained)"]


def test_invalid_balancers_fail_before_any_engine_call(api, capsys):
    result = run(capsys, balancers=[dict(BALANCERS[0], connection=dict(socket='/x'))])
    assert result['failed'] and result['msg'].startswith(
        "container_hotswap: service web: balancers[0] (haproxy backend 'app'): connection: unknown option(s) socket")
    assert api.calls == []


def test_an_apache_password_in_a_connection_is_never_shown(api, balancer, capsys):
    from ansible_collections.zerodowntime.deploy.tests.unit.plugins.modules.module_runner import run_module as run_raw
    entry = dict(balancer='apache', backend='app', members=dict(blue='b', green='g'),
                 connection=dict(apache_url='http://127.0.0.1:8/balancer-manager', apache_username='admin',
                                 apache_password='s3cr3t-pw', poll_interval=0.01))
    args = dict(BASE, balancers=[entry], _ansible_check_mode=True)
    result = run_raw(capsys, container_hotswap.main, args, invocation=True)
    assert 's3cr3t-pw' not in repr(result)
    assert result['invocation']['module_args']['balancers'][0]['connection']['apache_username'] == 'admin'
