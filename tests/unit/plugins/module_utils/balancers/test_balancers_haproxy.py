# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import threading

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNCONFIRMED, UNKNOWN, UP,
    ApplyError, BalancerConnectionError, BalancerError, BalancerInputError, BalancerResponseError, Change,
    NotFoundError,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers import _haproxy
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._haproxy import (
    HaproxyAdapter, RuntimeApi, parse_address, parse_servers_state, parse_show_stat, split_outputs,
)

from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import read_fixture


class FakeApi(object):
    """Answers each request with the next recorded raw answer (split like the real one)."""

    address = '/run/haproxy/admin.sock'

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def request(self, commands):
        self.requests.append(list(commands))
        answer = self.answers.pop(0)
        if commands[-1] == 'show info' and answer.count('\n\n') < len(commands):
            answer += INFO            # fixtures captured before read() asked for 'show info'
        return split_outputs(answer, len(commands), self.address, commands)


INFO = 'Name: HAProxy\nVersion: 2.6.12-1+deb12u3\nPid: 8\nUptime_sec: 5\n\n'


def adapter(*fixtures):
    return HaproxyAdapter(FakeApi(*[read_fixture('haproxy/%s' % f) if f.endswith('.txt') else f for f in fixtures]))


# ---------------------------------------------------------------- address

@pytest.mark.parametrize('value, expected', [
    ('/run/haproxy/admin.sock', ('unix', '/run/haproxy/admin.sock')),
    ('unix:/tmp/a.sock', ('unix', '/tmp/a.sock')),
    ('unix:///tmp/a.sock', ('unix', '/tmp/a.sock')),
    ('127.0.0.1:9999', ('tcp', ('127.0.0.1', 9999))),
    ('tcp://lb.example.com:9999', ('tcp', ('lb.example.com', 9999))),
    ('ipv4@127.0.0.1:18211', ('tcp', ('127.0.0.1', 18211))),
    ('[::1]:9999', ('tcp', ('::1', 9999))),
])
def test_parse_address(value, expected):
    assert parse_address(value) == expected


@pytest.mark.parametrize('value', ['', 'admin.sock', '127.0.0.1', '127.0.0.1:0', 'host:99999', 'tcp://:80'])
def test_parse_address_rejects(value):
    with pytest.raises(BalancerInputError, match='haproxy_socket'):
        parse_address(value)


# ---------------------------------------------------------------- CLI framing

def test_split_outputs_of_a_real_partial_failure():
    text = read_fixture('haproxy/apply_partial_failure.txt')
    assert split_outputs(text, 3) == ['', 'No such server.', '']


def test_split_outputs_of_a_real_read():
    stat, state = split_outputs(read_fixture('haproxy/read_all_up.txt'), 2)
    assert stat.startswith('# pxname,svname,')
    assert state.startswith('1\n# be_id be_name')


def test_split_outputs_reports_a_truncated_answer():
    text = read_fixture('haproxy/read_all_up.txt')
    cut = text[:text.index('3 app 2 green')]
    with pytest.raises(BalancerResponseError, match=r"ended its answer to 'show servers state' early \(1 of 2"):
        split_outputs(cut, 2, 'sock', ['show stat', 'show servers state'])


_line = st.text(alphabet=st.characters(blacklist_characters='\n\r', blacklist_categories=('Cs',)), min_size=1)


@settings(deadline=None)
@given(st.lists(st.lists(_line, max_size=4), min_size=1, max_size=5))
def test_split_outputs_round_trip(outputs):
    texts = ['\n'.join(lines) for lines in outputs]
    wire = ''.join((t + '\n\n') if t else '\n' for t in texts)
    assert split_outputs(wire, len(texts)) == texts


# ---------------------------------------------------------------- parsers on real output

def test_read_all_up():
    found = adapter('read_all_up.txt').read('app')
    members = dict((m.name, m) for m in found.members)
    assert sorted(members) == ['blue', 'dead', 'green', 'spare']
    blue = members['blue']
    assert (blue.state, blue.weight, blue.health, blue.serving, blue.active, blue.status) == \
        (ENABLED, 100, UP, True, 0, 'UP')
    assert blue.config_weight == 100
    dead = members['dead']
    assert (dead.state, dead.health, dead.serving, dead.serves_when_enabled) == (ENABLED, DOWN, False, False)


def test_read_draining_with_requests_in_flight():
    members = dict((m.name, m) for m in adapter('read_draining_busy.txt').read('app').members)
    assert (members['green'].state, members['green'].active, members['green'].serving) == (DRAINED, 2, False)
    assert members['green'].health == UP and members['green'].status == 'DRAIN'
    assert (members['blue'].state, members['blue'].active) == (ENABLED, 2)
    spare = members['spare']
    assert (spare.state, spare.health, spare.status, spare.serves_when_enabled) == (DISABLED, UNKNOWN, 'MAINT', True)


def test_server_leaving_maintenance_is_unconfirmed_until_a_check_passed():
    text = read_fixture('haproxy/apply_ready_then_read.txt')
    dummy, stat, state = split_outputs(text, 3)
    api = FakeApi(stat + '\n\n' + state + '\n\n')
    spare = HaproxyAdapter(api).read('app').get('spare')
    assert (spare.state, spare.status, spare.health, spare.serving) == (ENABLED, 'UP 1/2', UNCONFIRMED, True)


@pytest.mark.parametrize('admin, state', [
    ('0', ENABLED), ('1', DISABLED), ('5', DISABLED), ('2', DISABLED), ('32', DISABLED),
    ('8', DRAINED), ('16', DRAINED), ('12', DRAINED), ('4', ENABLED), ('9', DISABLED), ('64', ENABLED),
])
def test_admin_state_bits(admin, state):
    """CMAINT (4, 'disabled' in the configuration) stays set after the server left maintenance."""
    text = _mutate('read_all_up.txt', '3 app 1 blue 127.0.0.1 2 0 100', '3 app 1 blue 127.0.0.1 2 %s 100' % admin)
    assert HaproxyAdapter(FakeApi(text)).read('app').get('blue').state == state


def test_backend_without_checks_is_up():
    web1 = adapter('read_all_up.txt').read('static').get('web1')
    assert (web1.health, web1.status, web1.serving) == (UP, 'no check', True)


def test_unknown_backend_lists_the_backends():
    with pytest.raises(NotFoundError) as info:
        adapter('read_all_up.txt').read('nope')
    assert str(info.value) == ("Backend 'nope' not found in the HAProxy runtime API at /run/haproxy/admin.sock. "
                               "Backends there: app, static. Nothing was changed.")


def test_read_asks_once_for_both_views():
    fake = adapter('read_all_up.txt')
    fake.read('app')
    assert fake.api.requests == [['show stat', 'show servers state', 'show info']]


# ---------------------------------------------------------------- mutated / garbage output

def _mutate(fixture, old, new, count=1):
    text = read_fixture('haproxy/%s' % fixture)
    assert old in text
    return text.replace(old, new, count)


@pytest.mark.parametrize('text, message', [
    (_mutate('read_all_up.txt', ',scur,', ',sessions_now,'), r"'show stat' output .*column\(s\) scur missing"),
    (_mutate('read_all_up.txt', '# pxname', 'pxname'), r"no '# pxname,...' header"),
    (_mutate('read_all_up.txt', 'srv_admin_state', 'srv_admin'), r"column\(s\) srv_admin_state missing"),
    (_mutate('read_all_up.txt', '\n1\n# be_id', '\n2\n# be_id'), r'expected format version 1'),
    (_mutate('read_all_up.txt', 'app,blue,0,0,0,', 'app,blue,0,0,x,'), r"expected a number for scur of server 'app/blue'"),
    (_mutate('read_all_up.txt', '3 app 1 blue 127.0.0.1 2 0 100 100', '3 app 1 blue 127.0.0.1 2 0'),
     r"'show servers state' output .*a row has"),
    ('<html>oops</html>\n\n1\n\n', r"Unexpected 'show stat' output"),
])
def test_garbage_is_a_clear_error(text, message):
    with pytest.raises(BalancerResponseError, match=message):
        HaproxyAdapter(FakeApi(text)).read('app')


def test_server_in_one_view_only_is_an_error():
    text = _mutate('read_all_up.txt', 'app,spare,', 'app,other,')
    with pytest.raises(BalancerResponseError, match="lists server 'app/spare' in 'show servers state' but not"):
        HaproxyAdapter(FakeApi(text)).read('app')


def test_read_on_a_socket_without_admin_level():
    with pytest.raises(BalancerConnectionError, match="refused 'show stat': Permission denied .*level admin"):
        HaproxyAdapter(FakeApi('Permission denied\n\n\n')).read('app')


class WireApi(FakeApi):
    """Answers exactly the recorded bytes, even when they hold fewer outputs than asked."""

    def request(self, commands):
        self.requests.append(list(commands))
        return split_outputs(self.answers.pop(0), len(commands), self.address, commands)


@pytest.mark.parametrize('answer, error, message', [
    # A refusal answered for fewer commands than asked: the refusal is the cause, not the cut.
    ('Permission denied\n\n\n', BalancerConnectionError, "refused 'show stat': Permission denied .*level admin"),
    ('\nPermission denied\n\n', BalancerConnectionError, "refused 'show servers state': Permission denied"),
    # Another table format, answered for two commands of three: the missing header is the cause.
    ('pxname,svname,qcur\napp,blue,0\n\n1\n# be_id be_name\n\n', BalancerResponseError,
     "Unexpected 'show stat' output .*no '# pxname"),
    # Well-formed outputs, cut: the cut is the cause.
    ('# pxname,svname,qcur,scur,status\napp,blue,0,0,UP\n', BalancerResponseError,
     "ended its answer to 'show stat' early"),
])
def test_a_short_answer_names_its_first_cause(answer, error, message):
    with pytest.raises(error, match=message):
        HaproxyAdapter(WireApi(answer)).read('app')


@settings(deadline=None)
@given(st.text(max_size=400))
def test_parsers_fail_only_with_response_errors(text):
    for parser in (parse_show_stat, parse_servers_state):
        try:
            parser(text)
        except BalancerResponseError:
            pass


# ---------------------------------------------------------------- apply

def test_commands_of_a_cutover_in_one_request():
    fake = adapter('\n\n\n')
    fake.apply('app', [Change('green', ENABLED, 10), Change('blue', DRAINED)])
    assert fake.api.requests == [['set weight app/green 10', 'set server app/green state ready',
                                  'set server app/blue state drain']]


def test_apply_reports_what_was_refused_and_what_was_applied():
    fake = adapter('apply_partial_failure.txt')
    with pytest.raises(ApplyError) as info:
        fake.apply('app', [Change('nope', DRAINED), Change('blue', DRAINED, 50)])
    assert info.value.partial
    assert "refused 'set server app/nope state drain' (No such server). It applied the other commands of " \
        "the same request: 'set weight app/blue 50', 'set server app/blue state drain'." in str(info.value)


def test_apply_on_operator_socket():
    fake = adapter('operator_level_set.txt')
    with pytest.raises(ApplyError) as info:
        fake.apply('app', [Change('blue', DISABLED)])
    assert not info.value.partial
    assert str(info.value).endswith("'set server app/blue state maint' (Permission denied). Nothing was changed.")


# ---------------------------------------------------------------- the real socket client

class ReplayServer(object):
    """A unix or TCP listener that records one request line and answers with canned bytes."""

    def __init__(self, answer, family, address):
        self.answer = answer
        self.received = []
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        conn, dummy = self.sock.accept()
        data = b''
        while not data.endswith(b'\n'):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        self.received.append(data)
        if self.answer is not None:
            conn.sendall(self.answer)
            conn.close()
        else:
            self.hold = conn     # never answer

    def close(self):
        self.sock.close()


def test_runtime_api_over_unix_socket(tmp_path):
    path = str(tmp_path / 'admin.sock')
    server = ReplayServer((read_fixture('haproxy/read_all_up.txt') + INFO).encode('utf-8'), socket.AF_UNIX, path)
    try:
        found = HaproxyAdapter(RuntimeApi(path, 5)).read('app')
    finally:
        server.close()
    assert server.received == [b'show stat;show servers state;show info\n']
    assert found.get('blue').state == ENABLED
    assert found.generation == 'worker pid 8'


def test_runtime_api_over_tcp():
    server = ReplayServer(b'\n\n', socket.AF_INET, ('127.0.0.1', 0))
    port = server.sock.getsockname()[1]
    try:
        HaproxyAdapter(RuntimeApi('tcp://127.0.0.1:%d' % port, 5)).apply('app', [Change('blue', DRAINED)])
    finally:
        server.close()
    assert server.received == [b'set server app/blue state drain\n']


def test_runtime_api_timeout(tmp_path):
    path = str(tmp_path / 'admin.sock')
    server = ReplayServer(None, socket.AF_UNIX, path)
    try:
        with pytest.raises(BalancerConnectionError, match=r"did not answer 'show stat;show servers state' within 0.2s"):
            RuntimeApi(path, 0.2).request(['show stat', 'show servers state'])
    finally:
        server.close()


def test_runtime_api_missing_socket_and_refused_port(tmp_path):
    with pytest.raises(BalancerConnectionError, match='the socket file does not exist'):
        RuntimeApi(str(tmp_path / 'none.sock'), 1).request(['show stat'])
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(BalancerConnectionError, match=r'connection refused \(nothing listens there\). Nothing was changed.'):
        RuntimeApi('127.0.0.1:%d' % port, 1).request(['show stat'])


def test_runtime_api_caps_the_answer(monkeypatch, tmp_path):
    monkeypatch.setattr(_haproxy, 'MAX_RESPONSE', 10)
    path = str(tmp_path / 'admin.sock')
    server = ReplayServer(b'x' * 100, socket.AF_UNIX, path)
    try:
        with pytest.raises(BalancerError, match='sent more than 10 bytes'):
            RuntimeApi(path, 5).request(['show stat'])
    finally:
        server.close()


@pytest.mark.skipif(os.geteuid() == 0, reason='root ignores file permissions')
def test_runtime_api_permission_denied(tmp_path):  # pragma: no cover - CI runs as root
    path = str(tmp_path / 'admin.sock')
    server = ReplayServer(b'\n', socket.AF_UNIX, path)
    os.chmod(path, 0)
    try:
        with pytest.raises(BalancerConnectionError, match='permission denied'):
            RuntimeApi(path, 1).request(['show stat'])
    finally:
        server.close()


# ---------------------------------------------------------------- release of idle connections

SERVERS_CONN = (
    '# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb '
    'safe_nb idle_lim idle_cur idle_per_thr[2]\n'
    'app/blue 3/1 127.0.0.1 18241 - 5000 2 9 9 0 3 -1 3 3 0\n'
    'app/green 3/2 127.0.0.1 18242 - 5000 0 9 9 %d %d -1 %d %d %d\n'
    'other/blue 4/1 127.0.0.1 18243 - 5000 0 1 1 0 7 -1 7 7 0\n\n')


def conn(unsafe, safe):
    return SERVERS_CONN % (unsafe, safe, unsafe + safe, unsafe, safe)


def test_parse_servers_conn_sums_what_the_server_still_holds():
    assert _haproxy.parse_servers_conn(conn(1, 4), 'app') == {'green': 5, 'blue': 5}
    without_idle_cur = conn(1, 4).replace(' idle_cur ', ' idle_xx ')
    assert _haproxy.parse_servers_conn(without_idle_cur, 'app') == {'green': 5, 'blue': 5}
    with pytest.raises(BalancerResponseError, match="no '# bkname/svname"):
        _haproxy.parse_servers_conn('Unknown command\n', 'app')
    with pytest.raises(BalancerResponseError, match='lacks bkname/svname, used_cur or idle_cur'):
        _haproxy.parse_servers_conn('# bkname/svname used_cur\napp/blue 0\n', 'app')


def test_release_sends_a_drained_member_to_maint_until_its_idle_connections_are_gone_then_drain():
    drained_green = read_fixture('haproxy/read_draining_busy.txt')
    ticks = []
    api = FakeApi(drained_green, conn(0, 3), '\n', conn(0, 1), conn(0, 0), '\n')
    adapter = HaproxyAdapter(api, clock=lambda: len(ticks) * 0.02, sleep=ticks.append)
    done = adapter.release('app', ['blue', 'green'])
    assert api.requests == [
        ['show stat', 'show servers state', 'show info'], ['show servers conn app'],
        ['set server app/green state maint'], ['show servers conn app'], ['show servers conn app'],
        ['set server app/green state drain']]
    assert done == 'green: 3 connection(s) before, 0 after maintenance'
    assert ticks == [0.02]


def test_release_changes_nothing_without_idle_connections_or_drained_members():
    api = FakeApi(read_fixture('haproxy/read_draining_busy.txt'), conn(0, 0))
    assert HaproxyAdapter(api).release('app', ['green']) is None
    assert api.requests == [['show stat', 'show servers state', 'show info'], ['show servers conn app']]
    api = FakeApi(read_fixture('haproxy/read_draining_busy.txt'))
    assert HaproxyAdapter(api).release('app', ['spare', 'blue']) is None, 'maint, enabled: not drained'
    assert api.requests == [['show stat', 'show servers state', 'show info']]


def test_release_is_bounded_and_always_puts_the_member_back_to_drain():
    api = FakeApi(read_fixture('haproxy/read_draining_busy.txt'), conn(0, 3), '\n',
                  *([conn(0, 3)] * 11 + ['\n']))
    ticks = []
    adapter = HaproxyAdapter(api, clock=lambda: len(ticks) * 0.1, sleep=ticks.append)
    assert adapter.release('app', ['green']) == 'green: 3 connection(s) before, 3 after maintenance'
    assert api.requests[-1] == ['set server app/green state drain'] and len(ticks) == 10
    api = FakeApi(read_fixture('haproxy/read_draining_busy.txt'), conn(0, 3), '\n', conn(0, 0),
                  'No such server.\n\n')
    with pytest.raises(ApplyError, match=r"left it in maintenance \(disabled\) instead of drain"):
        HaproxyAdapter(api).release('app', ['green'])


# ---------------------------------------------------------------- reloads, restarts, state file

def _info(pid, uptime):
    return 'Name: HAProxy\nPid: %s\nUptime: 0d 0h00m%02ds\nUptime_sec: %s\n\n' % (pid, uptime, uptime)


def test_generation_is_the_worker_pid_and_a_restart_with_the_same_pid_is_told_by_its_uptime():
    fixture = read_fixture('haproxy/read_all_up.txt')
    fake = adapter(*[fixture + _info(pid, up) for pid, up in [(8, 5), (8, 9), (12, 1), (12, 30), (12, 2)]])
    seen = [fake.read('app').generation for dummy in range(5)]
    assert seen == ['worker pid 8', 'worker pid 8', 'worker pid 12', 'worker pid 12', 'worker pid 12 (restart 1)']


def test_no_pid_in_show_info_means_no_generation():
    fake = adapter(read_fixture('haproxy/read_all_up.txt') + 'Name: HAProxy\n\n')
    assert fake.read('app').generation is None


# `show startup-logs` of HAProxy 2.6.12 (zerodowntime-test/haproxy), captured by hand.
LOGS_MISSING = """[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u3
[NOTICE]   (1) : path to executable is /usr/sbin/haproxy
[WARNING]  (1) : config : config: Can't open global server state file '/run/haproxy/state': No such file or directory
"""
LOGS_APPLIED = """[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u3
[NOTICE]   (1) : path to executable is /usr/sbin/haproxy
[WARNING]  (1) : config : Server app/b is DOWN, changed from server-state after a reload. 0 active and 0 backup servers left.
[WARNING]  (1) : config : Server app/b remains in forced drain mode.
"""
LOGS_PLAIN = """[NOTICE]   (1) : haproxy version is 2.6.12-1+deb12u3
[NOTICE]   (1) : path to executable is /usr/sbin/haproxy
"""


@pytest.mark.parametrize('logs, expected', [(LOGS_MISSING, 'missing'), (LOGS_APPLIED, 'applied'),
                                            (LOGS_PLAIN, 'not seen'), ('Unknown command.\n', 'unknown')])
def test_state_file_from_the_startup_logs(logs, expected):
    fake = adapter(logs + '\n')
    assert fake.state_file() == expected
    assert fake.api.requests == [['show startup-logs']]
