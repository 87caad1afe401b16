# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import socket
import threading

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNKNOWN,
    ApplyError, BalancerConnectionError, BalancerInputError, BalancerResponseError, Change, NotFoundError,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._caddy import (
    AdminApi, AdminError, CaddyAdapter, locate, moved, park_id, parse_admin_address, parse_generation,
    parse_upstreams,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import ARGUMENT_SPEC, Run, RunFailure
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeClock, read_fixture,
)

ADDRESS = 'unix//run/caddy/admin.sock'
HANDLE = '/config/apps/http/servers/web/routes/2/handle'


def fixture_json(name):
    return json.loads(read_fixture('caddy/' + name))


class FakeApi(object):
    """AdminApi stand-in answering from captured fixtures; records every call."""

    address = ADDRESS

    def __init__(self, config, upstreams, errors=None, metrics='metrics_initial.txt'):
        self.config = copy.deepcopy(config)
        self.upstreams = upstreams
        self.errors = errors or {}
        self.metrics = read_fixture('caddy/' + metrics)
        self.calls = []

    def text(self, path, step=None):
        assert path == '/metrics', path
        self.calls.append(('GET', path, None))
        if ('GET', path) in self.errors:
            status, error = self.errors[('GET', path)]
            raise AdminError(status, error, ADDRESS, step or path)
        return self.metrics

    def request(self, method, path, body=None, step=None):
        self.calls.append((method, path, copy.deepcopy(body)))
        if (method, path) in self.errors:
            status, name = self.errors[(method, path)]
            raise AdminError(status, json.loads(read_fixture('caddy/' + name))['error'], ADDRESS,
                             step or path)
        if method == 'GET' and path == '/config/':
            return copy.deepcopy(self.config)
        if method == 'GET' and path == '/reverse_proxy/upstreams':
            return copy.deepcopy(self.upstreams)
        if method == 'PATCH':
            node = self.config
            for part in path[len('/config/'):].split('/')[:-1]:
                node = node[int(part)] if isinstance(node, list) else node[part]
            last = path.rsplit('/', 1)[1]
            node[last] = copy.deepcopy(body)
            return None
        raise AssertionError('unexpected call %s %s' % (method, path))

    def close(self):
        pass


def adapter(config='config_initial.json', upstreams='upstreams_initial.json', **kwargs):
    return CaddyAdapter(FakeApi(fixture_json(config), fixture_json(upstreams), **kwargs))


def states(backend):
    return dict((m.name, (m.state, m.active, m.health, m.serving)) for m in backend.members)


# ------------------------------------------------------------------------ addresses

@pytest.mark.parametrize('value, expected', [
    ('unix//run/caddy/admin.sock', ('http://localhost', '/run/caddy/admin.sock')),
    ('unix:/run/caddy/admin.sock', ('http://localhost', '/run/caddy/admin.sock')),
    ('unix:///run/caddy/admin.sock', ('http://localhost', '/run/caddy/admin.sock')),
    ('/run/caddy/admin.sock', ('http://localhost', '/run/caddy/admin.sock')),
    ('http://127.0.0.1:2019/', ('http://127.0.0.1:2019', None)),
    ('https://caddy.example.com:2021', ('https://caddy.example.com:2021', None)),
])
def test_parse_admin_address(value, expected):
    assert parse_admin_address(value) == expected


@pytest.mark.parametrize('value', ['', 'localhost:2019', 'admin.sock', 'tcp://127.0.0.1:2019'])
def test_parse_admin_address_rejects(value):
    with pytest.raises(BalancerInputError, match='neither a unix socket .* Nothing was changed'):
        parse_admin_address(value)


# ------------------------------------------------------------------------ reading

def test_read_all_enabled_from_the_real_initial_config():
    backend = adapter().read('app')
    assert states(backend) == {
        '127.0.0.1:18241': (ENABLED, 0, UNKNOWN, True),
        '127.0.0.1:18242': (ENABLED, 0, UNKNOWN, True),
        '127.0.0.1:18249': (ENABLED, 0, UNKNOWN, True),
    }
    assert all(m.weight is None for m in backend.members)


def test_read_busy_member_and_passive_fails_of_a_dead_one():
    backend = adapter(upstreams='upstreams_busy.json').read('app')
    busy = dict((m.name, m.active) for m in backend.members)
    assert sum(busy.values()) == 6 - busy['127.0.0.1:18249']   # six slow requests, none on the dead one
    dead = backend.require('127.0.0.1:18249')
    assert (dead.health, dead.serving) == (DOWN, False)
    assert '1 recent fails' in dead.status


def test_read_parked_member_keeps_its_in_flight_count():
    backend = adapter('config_parked.json', 'upstreams_parked_busy.json').read('app')
    parked = backend.require('127.0.0.1:18242')
    assert (parked.state, parked.serving) == (DRAINED, False)
    assert parked.active > 0
    assert parked.status.startswith('parked in zdt-drained:app')
    assert backend.require('127.0.0.1:18241').state == ENABLED


def test_removed_upstream_loses_its_count_which_is_why_members_are_parked():
    before = parse_upstreams(fixture_json('upstreams_parked_busy.json'), 'caddy')
    after = parse_upstreams(fixture_json('upstreams_after_removal.json'), 'caddy')
    assert before['127.0.0.1:18242'][0] > 0
    assert '127.0.0.1:18242' not in after       # requests still in flight, count gone


def test_backend_by_config_path():
    api = adapter()
    path = 'apps/http/servers/web/routes/2/handle/0'
    assert api.read(path).names() == api.read('/config/' + path).names() == api.read('app').names()
    other = api.read('apps/http/servers/web/routes/1/handle/0')
    assert other.names() == ['127.0.0.1:18243']


def test_unknown_id_lists_the_reverse_proxy_handlers():
    with pytest.raises(NotFoundError) as err:
        adapter().read('nope')
    assert str(err.value) == (
        "@id 'nope' not found in the configuration of the Caddy admin API at %s. reverse_proxy "
        "handlers there: apps/http/servers/web/routes/1/handle/0, @id 'app'. Nothing was changed." % ADDRESS)


def test_unknown_path_and_a_path_to_another_handler():
    with pytest.raises(NotFoundError, match="config path 'apps/http/servers/web/routes/9/handle/0' not found"):
        adapter().read('apps/http/servers/web/routes/9/handle/0')
    with pytest.raises(BalancerInputError, match="is not a reverse_proxy handler .*'static_response'"):
        adapter().read('apps/http/servers/web/routes/0/handle/0')


def test_empty_config_is_not_found():
    with pytest.raises(NotFoundError, match='has no configuration loaded'):
        locate(None, 'app', 'caddy')


def test_weighted_round_robin_handler_is_refused():
    config = fixture_json('config_initial.json')
    handler = config['apps']['http']['servers']['web']['routes'][2]['handle'][0]
    handler['load_balancing'] = {'selection_policy': {'policy': 'weighted_round_robin', 'weights': [3, 1, 1]}}
    with pytest.raises(BalancerInputError, match="'weighted_round_robin', whose weights are matched to upstreams"):
        locate(config, 'app', 'caddy')


def test_member_both_in_handler_and_parked_is_a_clear_error():
    config = fixture_json('config_parked.json')
    config['apps']['http']['servers']['web']['routes'][2]['handle'][0]['upstreams'].append({'dial': '127.0.0.1:18242'})
    with pytest.raises(BalancerResponseError, match="'127.0.0.1:18242' of backend 'app' is both enabled and drained"):
        CaddyAdapter(FakeApi(config, fixture_json('upstreams_initial.json'))).read('app')


@pytest.mark.parametrize('data, message', [
    ({'error': 'x'}, 'expected a list'),
    ([{'num_requests': 1}], 'unexpected entry'),
    ([{'address': 'a', 'num_requests': 'many'}], "expected a number for num_requests of upstream 'a'"),
])
def test_upstreams_garbage_is_a_clear_error(data, message):
    with pytest.raises(BalancerResponseError, match=message):
        parse_upstreams(data, 'caddy')


# ------------------------------------------------------------------------ changing

def located(config='config_initial.json'):
    return locate(fixture_json(config), 'app', 'caddy')


def test_drain_parks_the_member_after_the_handler_with_its_health_checks():
    handle = moved(located(), [Change('127.0.0.1:18242', DRAINED)])
    assert [h.get('@id') for h in handle] == ['app', 'zdt-drained:app']
    assert handle[0]['upstreams'] == [{'dial': '127.0.0.1:18241'}, {'dial': '127.0.0.1:18249'}]
    assert handle[1]['upstreams'] == [{'dial': '127.0.0.1:18242'}]
    assert handle[1]['handler'] == 'reverse_proxy'
    assert handle[1]['health_checks'] == handle[0]['health_checks']


def test_disable_parks_without_health_checks_after_the_drained_handler():
    handle = moved(located('config_parked.json'), [Change('127.0.0.1:18241', DISABLED)])
    assert [h.get('@id') for h in handle] == ['app', 'zdt-drained:app', 'zdt-disabled:app']
    assert 'health_checks' not in handle[2]
    assert handle[2]['upstreams'] == [{'dial': '127.0.0.1:18241'}]


def test_cutover_is_one_list_and_an_emptied_parking_handler_goes_away():
    handle = moved(located('config_parked.json'),
                   [Change('127.0.0.1:18242', ENABLED), Change('127.0.0.1:18241', DRAINED)])
    assert [h.get('@id') for h in handle] == ['app', 'zdt-drained:app']
    assert [u['dial'] for u in handle[0]['upstreams']] == ['127.0.0.1:18249', '127.0.0.1:18242']
    assert [u['dial'] for u in handle[1]['upstreams']] == ['127.0.0.1:18241']
    back = moved(located('config_parked.json'), [Change('127.0.0.1:18242', ENABLED)])
    assert [h.get('@id') for h in back] == ['app']


def test_moved_leaves_the_read_config_alone_and_keeps_upstream_fields():
    where = located()
    where.handler['upstreams'][1]['max_requests'] = 5
    before = copy.deepcopy(where.handle)
    handle = moved(where, [Change('127.0.0.1:18242', DRAINED)])
    assert where.handle == before
    assert handle[1]['upstreams'] == [{'dial': '127.0.0.1:18242', 'max_requests': 5}]


def test_apply_is_one_read_and_one_patch_of_the_handle_list():
    caddy = adapter()
    caddy.apply('app', [Change('127.0.0.1:18249', ENABLED), Change('127.0.0.1:18242', DRAINED)])
    assert [c[:2] for c in caddy.api.calls] == [('GET', '/config/'), ('PATCH', HANDLE)]
    assert caddy.read('app').require('127.0.0.1:18242').state == DRAINED


def test_apply_refused_by_caddy_says_nothing_changed():
    caddy = adapter(errors={('PATCH', HANDLE): (400, 'patch_refused.json')})
    with pytest.raises(ApplyError) as err:
        caddy.apply('app', [Change('127.0.0.1:18242', DRAINED)])
    assert 'answered HTTP 400 during changing apps/http/servers/web/routes/2/handle: ' in str(err.value)
    assert 'bogus' in str(err.value)
    assert str(err.value).endswith('Caddy keeps its previous configuration when a change fails to load. '
                                   'Nothing was changed.')


def test_active_asks_only_the_upstreams_endpoint():
    caddy = adapter('config_parked.json', 'upstreams_parked_busy.json')
    counts = caddy.active('app', ['127.0.0.1:18242'])
    assert counts['127.0.0.1:18242'] > 0
    assert caddy.api.calls == [('GET', '/reverse_proxy/upstreams', None)]


# ------------------------------------------------------------------------ runs

def params(**kwargs):
    values = dict((k, v.get('default')) for k, v in ARGUMENT_SPEC.items())
    values.update(balancer='caddy', caddy_admin=ADDRESS, backend='app')
    values.update(kwargs)
    return values


def test_check_mode_makes_no_change():
    caddy = adapter()
    result = Run(caddy, params(member='127.0.0.1:18242', state='drained'), check_mode=True, diff=True).run()
    assert result['changed'] is True
    assert result['diff']['after'] == {'127.0.0.1:18242': {'state': 'drained', 'weight': None}}
    assert all(method == 'GET' for method, path, body in caddy.api.calls)


def test_drain_waits_for_the_parked_count_to_reach_zero():
    clock = FakeClock()
    caddy = adapter()
    busy = fixture_json('upstreams_parked_busy.json')
    idle = fixture_json('upstreams_initial.json')
    answers = [busy, busy, busy, idle]     # the read that verifies the change, then 3 polls
    real = caddy.api.request

    def request(method, path, body=None, step=None):
        if path == '/reverse_proxy/upstreams' and method == 'GET' and any(c[0] == 'PATCH' for c in caddy.api.calls):
            caddy.api.calls.append((method, path, None))
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return real(method, path, body, step)
    caddy.api.request = request
    result = Run(caddy, params(member='127.0.0.1:18242', state='drained'), clock=clock, sleep=clock.sleep).run()
    assert result['changed'] is True
    assert result['after']['127.0.0.1:18242']['state'] == DRAINED
    assert result['active_end'] == {'127.0.0.1:18242': 0}
    assert result['drain_seconds'] == pytest.approx(0.4)


def test_rerun_is_not_changed_and_sends_nothing():
    caddy = adapter('config_parked.json')
    result = Run(caddy, params(member='127.0.0.1:18242', state='drained')).run()
    assert result['changed'] is False
    assert not [c for c in caddy.api.calls if c[0] != 'GET']


@pytest.mark.parametrize('extra, message', [
    (dict(member='127.0.0.1:18242', state='enabled', weight=5),
     "cannot take a weight for '127.0.0.1:18242': Caddy 2.6 has no per-upstream weight"),
    (dict(member='127.0.0.1:18242', state='enabled', ramp=dict(steps=[50, 100], pause=1)),
     'cannot take a ramp .*weighted_round_robin came with Caddy 2.7'),
])
def test_weights_and_ramps_are_refused(extra, message):
    from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import RunFailure
    caddy = adapter('config_parked.json')
    with pytest.raises(RunFailure, match=message + r'.*Nothing was changed\.'):
        Run(caddy, params(**extra)).run()
    assert not [c for c in caddy.api.calls if c[0] != 'GET']


def test_guard_refuses_the_last_member():
    from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._runner import RunFailure
    caddy = adapter('config_parked.json')
    members = [dict(name='127.0.0.1:18241', state='drained', weight=None),
               dict(name='127.0.0.1:18249', state='disabled', weight=None)]
    with pytest.raises(RunFailure, match='Refusing to take .*fewer than min_active=1'):
        Run(caddy, params(members=members)).run()
    assert not [c for c in caddy.api.calls if c[0] != 'GET']


# ------------------------------------------------------------------------ admin API errors

@pytest.mark.parametrize('status, name, message', [
    (403, 'host_not_allowed.json', 'host not allowed: localhost. Caddy checks the Host header against admin.origins'),
    (403, 'origin_missing.json', "access from origin ''. admin.enforce_origin is on: give caddy_origin"),
    (403, 'origin_not_allowed.json', "evil.example'. admin.enforce_origin is on"),
    (404, 'unknown_id.json', "unknown object ID 'nope'."),
])
def test_admin_errors_from_real_answers(status, name, message):
    error = AdminError(status, json.loads(read_fixture('caddy/' + name))['error'], ADDRESS, 'reading')
    assert str(error).startswith('The Caddy admin API at %s answered HTTP %s during reading: ' % (ADDRESS, status))
    assert message in str(error)


class _AdminServer(object):
    """A tiny admin endpoint on a unix socket that answers like Caddy and records the requests."""

    def __init__(self, path, answer=b'[]', status=b'200 OK'):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        self.requests = []
        self.answer = answer
        self.status = status
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, dummy = self.sock.accept()
            except OSError:
                return
            data = b''
            while b'\r\n\r\n' not in data:
                data += conn.recv(4096)
            self.requests.append(data.decode('latin-1'))
            conn.sendall(b'HTTP/1.1 ' + self.status + b'\r\nContent-Type: application/json\r\nContent-Length: '
                         + str(len(self.answer)).encode() + b'\r\nConnection: close\r\n\r\n' + self.answer)
            conn.close()


def test_admin_api_over_unix_socket_sends_empty_host_and_the_origin(tmp_path):
    path = str(tmp_path / 'admin.sock')
    server = _AdminServer(path, answer=read_fixture('caddy/upstreams_initial.json').encode())
    api = AdminApi('unix/' + path, 2, origin='http://127.0.0.1:2019')
    try:
        assert api.request('GET', '/reverse_proxy/upstreams') == fixture_json('upstreams_initial.json')
    finally:
        api.close()
        server.sock.close()
    head = server.requests[0].split('\r\n')
    assert head[0] == 'GET /reverse_proxy/upstreams HTTP/1.1'
    assert 'Host: ' in head and 'Origin: http://127.0.0.1:2019' in head


def test_admin_api_error_answer_is_caddys_text(tmp_path):
    path = str(tmp_path / 'admin.sock')
    server = _AdminServer(path, answer=read_fixture('caddy/unknown_id.json').encode(), status=b'404 Not Found')
    api = AdminApi(path, 2)
    try:
        with pytest.raises(AdminError, match="answered HTTP 404 during GET /id/nope: unknown object ID 'nope'"):
            api.request('GET', '/id/nope')
    finally:
        api.close()
        server.sock.close()


def test_admin_api_unreachable(tmp_path):
    missing = AdminApi(str(tmp_path / 'none.sock'), 1)
    with pytest.raises(BalancerConnectionError,
                       match=r'Cannot reach the Caddy admin API at .*none.sock during reading the configuration: '
                             r'FileNotFoundError'):
        CaddyAdapter(missing).read('app')
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    port = listener.getsockname()[1]
    listener.close()
    refused = AdminApi('http://127.0.0.1:%d' % port, 1)
    with pytest.raises(BalancerConnectionError, match=r'ConnectionRefusedError.*\(refused\)'):
        refused.request('GET', '/config/')


def test_admin_api_bad_tls_files_are_input_errors(tmp_path):
    with pytest.raises(BalancerInputError, match='cannot load the CA bundle'):
        AdminApi('https://127.0.0.1:2021', 1, ca_path=str(tmp_path / 'none.pem'))


def test_park_id_is_per_backend_and_state():
    assert park_id('app', DRAINED) == 'zdt-drained:app'
    assert park_id('apps/x/0', DISABLED) == 'zdt-disabled:apps/x/0'
    assert os.path.basename(HANDLE) == 'handle'


def test_parking_handlers_follow_the_handlers_id_whichever_way_it_was_named():
    by_path = adapter('config_parked.json').read('apps/http/servers/web/routes/2/handle/0')
    assert by_path.require('127.0.0.1:18242').state == DRAINED
    config = fixture_json('config_initial.json')
    del config['apps']['http']['servers']['web']['routes'][2]['handle'][0]['@id']
    where = locate(config, '/config/apps/http/servers/web/routes/2/handle/0', 'caddy')
    handle = moved(where, [Change('127.0.0.1:18242', DRAINED)])
    assert handle[1]['@id'] == 'zdt-drained:apps/http/servers/web/routes/2/handle/0'


# ------------------------------------------------------------------------ reloads and restarts

def test_generation_from_the_real_metrics_of_caddy():
    assert parse_generation(read_fixture('caddy/metrics_initial.txt')) == \
        'process started 1796249569.98, 0 config load(s)'
    # after one PATCH of /config/ (not a load), two `caddy reload` (one of an unchanged file) and
    # one POST /load
    assert parse_generation(read_fixture('caddy/metrics_after_loads.txt')) == \
        'process started 1796249569.98, 3 config load(s)'


@pytest.mark.parametrize('text', ['', 'go_goroutines 12\n', 'process_start_time_seconds soon\n'])
def test_generation_unknown_without_a_start_time(text):
    assert parse_generation(text) is None


def test_read_carries_the_generation_and_metrics_refused_means_unknown():
    assert adapter().read('app').generation == 'process started 1796249569.98, 0 config load(s)'
    refused = adapter(errors={('GET', '/metrics'): (404, 'page not found')})
    assert refused.read('app').generation is None
    assert len(refused.read('app').members) == 3


def test_reload_from_the_file_during_a_drain_is_seen_and_reasserted():
    """`caddy reload` of the configuration file while a member drains: the parking handler is
    gone and the member is back in the handler. The run notes the reload (one more config load),
    parks the member again, and the drain completes."""
    clock = FakeClock()
    caddy = adapter()
    initial = fixture_json('config_initial.json')
    busy = fixture_json('upstreams_parked_busy.json')
    polls = {'n': 0}
    real = caddy.api.request

    def request(method, path, body=None, step=None):
        if method == 'GET' and path == '/reverse_proxy/upstreams' and any(c[0] == 'PATCH' for c in caddy.api.calls):
            polls['n'] += 1
            if polls['n'] == 2:            # the reload lands between two polls of the drain
                caddy.api.config = copy.deepcopy(initial)
                caddy.api.metrics = read_fixture('caddy/metrics_after_loads.txt')
            caddy.api.calls.append((method, path, None))
            return busy if polls['n'] < 4 else fixture_json('upstreams_initial.json')
        return real(method, path, body, step)
    caddy.api.request = request
    result = Run(caddy, params(member='127.0.0.1:18242', state='drained'), clock=clock, sleep=clock.sleep).run()
    assert result['after']['127.0.0.1:18242']['state'] == DRAINED
    assert [r['member'] for r in result['reasserted']] == ['127.0.0.1:18242']
    assert result['reasserted'][0]['found']['state'] == ENABLED
    assert result['restarts'][0]['before'] == 'process started 1796249569.98, 0 config load(s)'
    assert result['restarts'][0]['after'] == 'process started 1796249569.98, 3 config load(s)'
    assert len([c for c in caddy.api.calls if c[0] == 'PATCH']) == 2


def test_keeps_losing_the_state_names_caddy_and_the_reload():
    """Each change undone by a reload from the file one poll later: after max_reassertions the
    run fails naming Caddy, the member, what it found, and what makes Caddy keep the state."""
    caddy = adapter(upstreams='upstreams_parked_busy.json')
    initial = fixture_json('config_initial.json')
    real = caddy.api.request
    reads = {'since_patch': 0}

    def request(method, path, body=None, step=None):
        if method == 'PATCH':
            reads['since_patch'] = 0
        elif method == 'GET' and path == '/config/':
            reads['since_patch'] += 1
            if reads['since_patch'] == 2:
                caddy.api.config = copy.deepcopy(initial)
                caddy.api.metrics = read_fixture('caddy/metrics_after_loads.txt')
        return real(method, path, body, step)
    caddy.api.request = request
    clock = FakeClock()
    with pytest.raises(RunFailure) as err:
        Run(caddy, params(member='127.0.0.1:18242', state='drained', max_reassertions=1),
            clock=clock, sleep=clock.sleep).run()
    msg = err.value.msg
    assert msg.startswith("backend 'app' of the Caddy admin API at unix//run/caddy/admin.sock lost the state "
                          "this run holds again during drain, after 1 re-assertion(s) (max_reassertions=1): "
                          "found '127.0.0.1:18242' enabled")
    assert "Caddy replaces the members' state with its configuration file's on every 'caddy reload'" in msg
    assert len(err.value.result['reasserted']) == 1
