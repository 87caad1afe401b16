# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import os
import subprocess
import tarfile

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, ENABLED, UNKNOWN,
    ApplyError, BalancerConnectionError, BalancerResponseError, Change, NotFoundError,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers import _nginx
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._nginx import (
    PROC_SCRIPT, ContainerHost, Generation, LocalHost, NginxAdapter, edit_upstream, parse, parse_processes, tokenize,
    upstream_servers,
)
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeClock, read_fixture,
)

CONFIG = '''# upstreams of the demo
upstream app {
    zone app 64k;
    server 127.0.0.1:18241;                 # blue
    server 127.0.0.1:18242 weight=5 max_fails=0;
    server  127.0.0.1:18243   down;
    server unix:/run/app.sock backup;
    keepalive 16;
}
upstream other { server 10.0.0.1:80; }
server {
    listen 127.0.0.1:18254;
    location / { proxy_pass http://app; set $x "a;b{c} # not a comment"; }
}
'''

STEADY = read_fixture('nginx/procs_steady.txt')               # master 1, workers 10 11
DRAINING = read_fixture('nginx/procs_old_generation_draining.txt')  # 11 shutting down, new 32 33
DRAINED = '\n'.join(line for line in DRAINING.splitlines() if not line.startswith('11 '))


# ---------------------------------------------------------------- configuration text

def test_tokenize_skips_comments_and_keeps_quoted_text():
    words = [t.value for t in tokenize(CONFIG) if t.kind == 'word']
    assert '#' not in ''.join(w for w in words if not w.startswith('a;b'))
    assert 'a;b{c} # not a comment' in words
    assert tokenize('set $a ${b}c;')[2].value == '${b}c'


@pytest.mark.parametrize('text, message', [
    ('upstream app { server a;', r'unexpected end of file'),
    ('upstream app { server a; }}', r"unexpected '}' at line 1"),
    ('{ server a; }', r"'\{' without a directive"),
    ('upstream app {\n server "a;\n}', r'unterminated quote starting at line 2'),
    ('upstream app { server a }', r"unexpected '}'"),
])
def test_parse_errors(text, message):
    with pytest.raises(BalancerResponseError, match=message):
        parse(text, 'app.conf')


def test_upstream_servers():
    lines = upstream_servers(CONFIG, 'app', 'app.conf')
    members = [line.member() for line in lines]
    assert [(m.name, m.state, m.weight, m.serving) for m in members] == [
        ('127.0.0.1:18241', ENABLED, 1, True),
        ('127.0.0.1:18242', ENABLED, 5, True),
        ('127.0.0.1:18243', DISABLED, 1, False),
        ('unix:/run/app.sock', ENABLED, 1, False),        # backup: not serving
    ]
    assert all(m.health == UNKNOWN and m.active is None for m in members)


def test_upstream_inside_http_block_is_found():
    text = 'events {}\nhttp {\n  upstream app { server a:1; }\n}\n'
    assert [line.address for line in upstream_servers(text, 'app', 'nginx.conf')] == ['a:1']


def test_missing_upstream_lists_the_upstreams():
    with pytest.raises(NotFoundError) as info:
        upstream_servers(CONFIG, 'web', 'nginx (app.conf in this host)')
    assert str(info.value) == ("Upstream 'web' not found in nginx (app.conf in this host). "
                               "Upstreams there: app, other. Nothing was changed.")


@pytest.mark.parametrize('text, message', [
    ('upstream app { server a:1; server a:1 down; }', r'lists server a:1 more than once'),
    ('upstream app { server a:1 weight=0; }', r"invalid 'weight=0'"),
    ('upstream app { server a:1 weight=x; }', r"invalid 'weight=x'"),
    ('upstream app { server; }', r'server directive without an address'),
])
def test_bad_upstreams(text, message):
    with pytest.raises(BalancerResponseError, match=message):
        upstream_servers(text, 'app', 'app.conf')


@pytest.mark.parametrize('changes, expected_lines', [
    ([Change('127.0.0.1:18241', DISABLED)],
     ['    server 127.0.0.1:18241 down;                 # blue']),
    ([Change('127.0.0.1:18243', ENABLED)],
     ['    server  127.0.0.1:18243;']),
    ([Change('127.0.0.1:18242', weight=2)],
     ['    server 127.0.0.1:18242 weight=2 max_fails=0;']),
    ([Change('127.0.0.1:18241', DISABLED, 3)],
     ['    server 127.0.0.1:18241 weight=3 down;                 # blue']),
    ([Change('127.0.0.1:18243', ENABLED, 4), Change('127.0.0.1:18242', DISABLED)],
     ['    server 127.0.0.1:18242 weight=5 max_fails=0 down;', '    server  127.0.0.1:18243 weight=4;']),
])
def test_edit_upstream_touches_only_the_changed_tokens(changes, expected_lines):
    new = edit_upstream(CONFIG, 'app', changes)
    changed = [line for line in new.splitlines() if line not in CONFIG.splitlines()]
    assert changed == expected_lines
    assert len(new.splitlines()) == len(CONFIG.splitlines())


def test_edit_is_idempotent_and_leaves_other_upstreams():
    once = edit_upstream(CONFIG, 'app', [Change('10.0.0.1:80', DISABLED)] * 0 + [Change('127.0.0.1:18241', DISABLED)])
    assert edit_upstream(once, 'app', [Change('127.0.0.1:18241', DISABLED)]) == once
    assert 'upstream other { server 10.0.0.1:80; }' in once


_address = st.sampled_from(['127.0.0.1:18241', '127.0.0.1:18242', '127.0.0.1:18243', 'unix:/run/app.sock'])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_address, st.sampled_from([None, ENABLED, DISABLED]),
                          st.one_of(st.none(), st.integers(min_value=1, max_value=99))),
                max_size=4, unique_by=lambda t: t[0]))
def test_edit_then_parse_gives_the_target(changes):
    text = edit_upstream(CONFIG, 'app', [Change(a, s, w) for a, s, w in changes])
    members = dict((line.address, line.member()) for line in upstream_servers(text, 'app', 'x'))
    before = dict((line.address, line.member()) for line in upstream_servers(CONFIG, 'app', 'x'))
    touched = dict((a, (s, w)) for a, s, w in changes)
    for address, member in members.items():
        state, weight = touched.get(address, (None, None))
        assert member.state == (state or before[address].state)
        assert member.weight == (weight or before[address].weight)
    # everything outside the upstream block is byte for byte the same
    assert text[text.index('upstream other'):] == CONFIG[CONFIG.index('upstream other'):]
    assert text[:text.index('upstream app')] == CONFIG[:CONFIG.index('upstream app')]


# ---------------------------------------------------------------- processes (real listings)

def test_parse_real_process_listings():
    steady = Generation(parse_processes(STEADY), 1)
    assert steady.current == set([10, 11]) and steady.shutting_down == set()
    draining = Generation(parse_processes(DRAINING), 1)
    assert draining.current == set([32, 33]) and draining.shutting_down == set([11])
    assert all(p.pid != 1 or p.cmdline.startswith('nginx: master process') for p in parse_processes(STEADY))


def test_garbage_process_lines_are_skipped():
    text = 'garbage\n12 (nginx S 1\tx\nabc (nginx) S 1 1\tnginx: worker process\n' + STEADY
    assert len(parse_processes(text)) == len(parse_processes(STEADY))


def test_workers_of_another_master_are_not_ours():
    other = STEADY.replace(' (nginx) S 1 ', ' (nginx) S 99 ')
    assert Generation(parse_processes(other), 1).current == set()


# ---------------------------------------------------------------- adapter with a fake host

class FakeHost(object):
    def __init__(self, text=CONFIG, listings=(STEADY,), test_rc=0, test_err='', reload_rc=0):
        self.files = {'/etc/nginx/conf.d/app.conf': text, '/run/nginx.pid': '1\n'}
        self.listings = list(listings)
        self.test_rc = test_rc
        self.test_err = test_err
        self.reload_rc = reload_rc
        self.calls = []
        self.writes = []

    def describe(self):
        return "container 'edge'"

    def run(self, argv):
        self.calls.append(list(argv))
        if argv[:2] == ['sh', '-c']:
            assert argv[2] == PROC_SCRIPT
            listing = self.listings[0] if len(self.listings) == 1 else self.listings.pop(0)
            return 0, listing, ''
        if argv[-1] == '-t':
            return self.test_rc, '', self.test_err
        if argv[-2:] == ['-s', 'reload']:
            return self.reload_rc, '', '' if self.reload_rc == 0 else 'nginx: [error] kill failed'
        raise AssertionError(argv)

    def read(self, path):
        return self.files[path]

    def write(self, path, text):
        self.writes.append(text)
        self.files[path] = text

    def commands(self):
        return [c for c in self.calls if c[0] == 'nginx']


def adapter(host, **kwargs):
    clock = FakeClock()
    return NginxAdapter(host, '/etc/nginx/conf.d/app.conf', clock=clock, sleep=clock.sleep, **kwargs), clock


def test_apply_edits_tests_reloads_and_waits_for_the_new_generation():
    host = FakeHost(listings=[STEADY, STEADY, DRAINING])
    nginx, clock = adapter(host, main_config='/etc/nginx/nginx.conf')
    nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.commands() == [['nginx', '-c', '/etc/nginx/nginx.conf', '-t'],
                               ['nginx', '-c', '/etc/nginx/nginx.conf', '-s', 'reload']]
    assert 'server 127.0.0.1:18241 down;' in host.files['/etc/nginx/conf.d/app.conf']
    assert clock.sleeps == [0.2]          # one listing still showed the old workers
    assert nginx.old_generation == set([10, 11])
    host.listings = [DRAINING]
    assert nginx.active('app', ['127.0.0.1:18241', '127.0.0.1:18242']) == {'127.0.0.1:18241': 1, '127.0.0.1:18242': None}
    host.listings = [DRAINED]
    assert nginx.active('app', ['127.0.0.1:18241']) == {'127.0.0.1:18241': 0}


def test_failed_validation_restores_the_file_and_never_reloads():
    err = read_fixture('nginx/nginx_t_failure.txt')
    host = FakeHost(test_rc=1, test_err=err)
    nginx, clock = adapter(host)
    with pytest.raises(ApplyError) as info:
        nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.files['/etc/nginx/conf.d/app.conf'] == CONFIG
    assert host.writes[-1] == CONFIG and len(host.writes) == 2
    assert ['nginx', '-s', 'reload'] not in host.commands()
    msg = str(info.value)
    assert "nginx -t rejected the configuration with the change of upstream 'app' (127.0.0.1:18241 down)" in msg
    assert 'unknown directive "bogus_directive"' in msg
    assert 'the running configuration is untouched' in msg
    assert not info.value.partial


def test_failed_reload_signal_restores_the_file():
    host = FakeHost(reload_rc=1)
    nginx, clock = adapter(host)
    with pytest.raises(ApplyError, match='nginx -s reload failed .*kill failed.*written back'):
        nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.files['/etc/nginx/conf.d/app.conf'] == CONFIG


def test_reload_that_never_takes_effect_times_out_and_restores():
    host = FakeHost(listings=[STEADY])
    nginx, clock = adapter(host, reload_timeout=5)
    with pytest.raises(ApplyError, match=r'did not start a new worker generation within 5s .*10, 11'):
        nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.files['/etc/nginx/conf.d/app.conf'] == CONFIG
    assert sum(clock.sleeps) == pytest.approx(5)


def test_missing_master_pid_changes_nothing():
    host = FakeHost()
    host.files['/run/nginx.pid'] = ''
    nginx, clock = adapter(host)
    with pytest.raises(BalancerConnectionError, match=r'Cannot read the nginx master pid from /run/nginx.pid'):
        nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.writes == []


def test_process_listing_without_the_master_is_read_again_then_an_error():
    host = FakeHost(listings=['', 'garbage\n', STEADY])
    nginx, clock = adapter(host)
    assert nginx.generation(1).current == set([10, 11])
    host.listings = ['']
    message = r'Cannot list the nginx processes .*\(3 attempts\): the nginx master \(pid 1\) is not in it'
    with pytest.raises(BalancerConnectionError, match=message):
        nginx.generation(1)


def test_write_that_does_not_stick_is_restored():
    class Lossy(FakeHost):
        def write(self, path, text):
            FakeHost.write(self, path, text if text == CONFIG else text[:10])
    host = Lossy()
    nginx, clock = adapter(host)
    with pytest.raises(ApplyError, match='did not stick'):
        nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert host.files['/etc/nginx/conf.d/app.conf'] == CONFIG
    assert host.commands() == []


def test_pids_of_the_replaced_generation_reused_after_a_restart_are_not_counted():
    host = FakeHost(listings=[STEADY, STEADY, DRAINING])
    nginx, clock = adapter(host)
    nginx.apply('app', [Change('127.0.0.1:18241', DISABLED)])
    assert nginx.old_generation == set([10, 11])
    host.listings = [STEADY]          # restarted: pids 10 and 11 are the new master's workers
    assert nginx.active('app', ['127.0.0.1:18241']) == {'127.0.0.1:18241': 0}


def test_active_without_a_reload_counts_workers_shutting_down():
    host = FakeHost(text=CONFIG, listings=[DRAINING])
    nginx, clock = adapter(host)
    assert nginx.active('app', ['127.0.0.1:18243']) == {'127.0.0.1:18243': 1}


def test_active_of_members_in_rotation_needs_no_process_listing():
    host = FakeHost()
    nginx, clock = adapter(host)
    counts = nginx.active('app', ['127.0.0.1:18241', '127.0.0.1:18242'])
    assert counts == {'127.0.0.1:18241': None, '127.0.0.1:18242': None}
    assert host.calls == []


def test_drained_folds_into_disabled():
    nginx, clock = adapter(FakeHost())
    assert nginx.effective_state('drained') == DISABLED
    assert nginx.effective_state('enabled') == ENABLED


# ---------------------------------------------------------------- nginx on this host (real /proc, real files)

class LocalModule(object):
    def run_command(self, argv):
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')


def test_process_script_on_this_host_sees_this_process():
    rc, out, err = LocalHost(LocalModule()).run(['sh', '-c', PROC_SCRIPT])
    assert rc == 0
    procs = dict((p.pid, p) for p in parse_processes(out))
    me = procs[os.getpid()]
    assert me.ppid == os.getppid()
    assert 'python' in me.cmdline or 'pytest' in me.cmdline


def test_local_write_is_in_place(tmp_path):
    path = tmp_path / 'app.conf'
    path.write_text(CONFIG)
    inode = os.stat(str(path)).st_ino
    host = LocalHost(LocalModule())
    host.write(str(path), 'upstream app { server a:1 down; }\n')
    assert host.read(str(path)) == 'upstream app { server a:1 down; }\n'
    assert os.stat(str(path)).st_ino == inode
    with pytest.raises(BalancerConnectionError, match=r'Cannot read .*none.conf on this host: No such file'):
        host.read(str(tmp_path / 'none.conf'))


# ---------------------------------------------------------------- container host

class FakeContainer(object):
    status = 'running'

    def __init__(self, results=None, files=None):
        self.calls = []
        self.results = results or {}
        self.files = files or {}

    def exec_run(self, argv, demux=False):
        self.calls.append(argv)
        return self.results.get(argv[0], (0, (b'', b'')))

    def get_archive(self, path):
        if path not in self.files:
            raise FakeApiError('Could not find the file %s in container edge' % path)
        data = self.files[path]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            info = tarfile.TarInfo(path.rsplit('/', 1)[-1])
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        raw = buf.getvalue()
        return iter([raw[:100], raw[100:]]), {'name': info.name, 'size': len(data)}


class FakeApiError(Exception):
    def __init__(self, explanation):
        Exception.__init__(self, '404 Client Error: ' + explanation)
        self.explanation = explanation


class FakeContainers(object):
    def __init__(self, container):
        self.container = container

    def get(self, name):
        if self.container is None:
            raise Exception('404 Client Error: No such container: %s' % name)
        return self.container


class FakeDocker(object):
    def __init__(self, container):
        self.containers = FakeContainers(container)


def test_container_write_in_place_in_chunks(monkeypatch):
    monkeypatch.setattr(_nginx, 'WRITE_CHUNK', 8)
    container = FakeContainer()
    ContainerHost(FakeDocker(container), 'edge').write('/etc/nginx/conf.d/app.conf', 'server a:1;\n')
    chunks = [call[4] for call in container.calls]
    assert [call[2].split()[-2] for call in container.calls] == ['>'] + ['>>'] * (len(chunks) - 1)
    assert base64.b64decode(''.join(chunks)) == b'server a:1;\n'
    assert all(call[5] == '/etc/nginx/conf.d/app.conf' for call in container.calls)


def test_container_errors():
    with pytest.raises(BalancerConnectionError, match="Cannot use container 'edge'.*No such container"):
        ContainerHost(FakeDocker(None), 'edge')
    stopped = FakeContainer()
    stopped.status = 'exited'
    with pytest.raises(BalancerConnectionError, match="Container 'edge' is exited, not running"):
        ContainerHost(FakeDocker(stopped), 'edge')
    with pytest.raises(BalancerConnectionError, match="Cannot read /x in container 'edge': Could not find the file /x"):
        ContainerHost(FakeDocker(FakeContainer()), 'edge').read('/x')


def test_from_params_uses_the_client_it_is_given(monkeypatch):
    from ansible_collections.zerodowntime.deploy.plugins.module_utils import _docker

    def no_second_client(module):
        raise AssertionError('a second engine client was opened')
    monkeypatch.setattr(_docker, 'module_docker_client', no_second_client)
    container = FakeContainer()
    adapter = _nginx.NginxAdapter.from_params(
        dict(nginx_container='edge', nginx_config='/etc/nginx/conf.d/app.conf', nginx_binary='nginx',
             nginx_pid_file='/run/nginx.pid', poll_interval=0.2), docker=FakeDocker(container))
    assert adapter.host.container is container and adapter.describe() == (
        "nginx (/etc/nginx/conf.d/app.conf in container 'edge')")


def test_container_read_through_the_archive_api():
    container = FakeContainer(files={'/etc/nginx/conf.d/app.conf': CONFIG.encode('utf-8') * 3})
    assert ContainerHost(FakeDocker(container), 'edge').read('/etc/nginx/conf.d/app.conf') == CONFIG * 3
    assert container.calls == []
