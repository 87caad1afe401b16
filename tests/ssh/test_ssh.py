# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker host reached over SSH, as users run it (make ssh; root on a Debian 12 machine).

host.sh starts an sshd on 127.0.0.1 and the accounts; every inventory host (web1, lb1, b1-b3) is
that sshd. Modules run as zdt-deploy (group docker) with /usr/bin/python3 and Debian's
python3-docker / python3-requests; become only for net.ipv4.tcp_migrate_req. The tests run in
file order: the first version, the deploy under load, then the bad inputs (nothing may change).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import docker
import pytest

from conftest import PORT, STATE, ansible, failures

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fault', 'harness'))
import judges  # noqa: E402  (standard library only: the fault harness's second judges)

HERE = os.path.dirname(os.path.abspath(__file__))
HAPROXY = 'zdt-ssh-haproxy'
HAPROXY_API = ('127.0.0.1', 18879)
URLS = ('http://127.0.0.1:18862/', 'http://127.0.0.1:18871/')
MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req'
NOSDK_PYTHON = '/opt/zdt-nosdk-python/bin/python3'
# The deploy (one swap and three restarts) takes about 30 s; less load than this means it
# did not run across the deploy.
MIN_PROBE_REQUESTS = 1000
MIN_WRK_REQUESTS = 1000


def haproxy_state():
    """Each server's administrative state and weight, from HAProxy's runtime API."""
    with socket.create_connection(HAPROXY_API, timeout=5) as sock:
        sock.sendall(b'show servers state app\n')
        data = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    rows = [line.split() for line in data.decode().splitlines() if line and not line.startswith('#')][1:]
    # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight ...
    return dict((row[3], (row[6], row[7])) for row in rows if len(row) > 7)


def read_migrate_req():
    with open(MIGRATE_REQ) as handle:
        return handle.read().strip()


def write_migrate_req(value):
    with open(MIGRATE_REQ, 'w') as handle:
        handle.write('%s\n' % value)


class Wrk(object):
    """wrk (keep-alive) against one URL until stopped; the independent client beside our probe.
    Its pacing and the reading of its summary are the fault harness's second judge's (judges.py)."""

    def __init__(self, url):
        self.url = url
        self.script = os.path.join(STATE, 'wrk-pace.lua')
        with open(self.script, 'w') as handle:
            handle.write(judges.LUA)
        self.proc = subprocess.Popen(['wrk', '-t1', '-c4', '-d600s', '--timeout', '5s', '-s', self.script, url],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        text = self.proc.communicate(timeout=30)[0]
        return dict(judges.parse_wrk(text), url=self.url, output=text)


@pytest.fixture(scope='module')
def engine():
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope='module')
def stack(ssh_host, engine):
    """sshd, HAProxy and the first version everywhere; everything started here is removed after."""
    start = time.time()
    original_migrate_req = read_migrate_req()
    try:
        remove_containers(engine)
        engine.containers.run('zerodowntime-test/haproxy:latest', name=HAPROXY, detach=True, network_mode='host',
                              command=['haproxy', '-W', '-db', '-f', '/etc/haproxy/ssh.cfg'],
                              volumes={os.path.join(HERE, 'haproxy.cfg'): {'bind': '/etc/haproxy/ssh.cfg', 'mode': 'ro'}})
        write_migrate_req(0)               # so that the become step really runs
        rc, out, seconds = ansible('prepare.yml', '-e', 'zdt_ssh_version=v1')
        assert rc == 0, failures(out)
        print('prepare: %.1f s' % seconds)
        yield dict(start=start)
    finally:
        remove_containers(engine)
        write_migrate_req(original_migrate_req)
        print('SSH layer (deploys and bad inputs) wall time, without the sshd set-up: %.1f s' % (time.time() - start))


def remove_containers(engine):
    for container in engine.containers.list(all=True):
        if container.name.startswith('zdt-ssh-') or container.name.startswith('zerodowntime-lock-zdt-ssh-'):
            container.remove(force=True)


def snapshot(engine):
    """What a failed run must leave as it was: the containers, HAProxy's servers, the sysctl."""
    containers = sorted((c.name, c.id, c.attrs['State']['Status'], c.attrs['State']['StartedAt'])
                        for c in engine.containers.list(all=True) if 'zdt-ssh' in c.name)
    return dict(containers=containers, haproxy=haproxy_state(), migrate_req=read_migrate_req())


def test_deploy_over_ssh_under_load(stack, engine):
    stop = os.path.join(STATE, 'load.stop')
    if os.path.exists(stop):
        os.remove(stop)
    write_migrate_req(0)                   # the deploy's become step sets it again
    wrks = [Wrk(url) for url in URLS]
    try:
        rc, out, seconds = ansible('deploy.yml', '-e', 'zdt_ssh_version=v2')
    finally:
        wrk = [w.stop() for w in wrks]
    with open(os.path.join(STATE, 'deploy-result.json')) as handle:
        result = json.load(handle)
    load = result['load']
    print('deploy over SSH: %.1f s; probe: %s requests, %s failed (%s); wrk: %s' % (
        seconds, load.get('requests'), load.get('failed_requests'), load.get('msg'),
        ', '.join('%s %s' % (w['url'], judges.describe(w)) for w in wrk)))
    assert rc == 0, failures(out)
    assert result['sysctl'].get('changed') is True, 'the become step did not run: %s' % result['sysctl']
    assert load['finished'] and load['stopped_by'] == 'stop_file', load.get('msg')
    assert load['failed_requests'] == 0, load.get('msg')
    assert load['requests'] >= MIN_PROBE_REQUESTS, load.get('msg')
    assert set(load['versions']) == {'v1', 'v2'}, load['versions']
    assert load['versions']['v2']['last'] >= load['versions']['v1']['last'], load['versions']
    for w in wrk:
        assert w['requests'] is not None and w['failed'] == 0, w['output']
        assert w['requests'] >= MIN_WRK_REQUESTS, w['output']
    # every container serves v2 now: web's active slot and b1-b3
    names = dict((c.name, c) for c in engine.containers.list() if c.name.startswith('zdt-ssh-'))
    images = set(c.attrs['Config']['Image'] for n, c in names.items() if n != HAPROXY)
    assert images == {'zerodowntime-test/app:v2'}, images
    assert all(weight == '100' and admin == '0' for admin, weight in haproxy_state().values()), haproxy_state()


def bad_run(engine, expected, *args):
    """Run, expect one failure whose message contains ``expected``, and nothing changed."""
    before = snapshot(engine)
    rc, out, dummy = ansible(*args)
    found = failures(out)
    after = snapshot(engine)
    assert rc != 0 and found, out
    host, task, msg = found[0]
    print('%s | %s: %s' % (host, task, msg))
    assert expected in msg, found
    assert after == before
    return msg


BLUE_GREEN_V3 = ('zerodowntime.deploy.blue_green', '-e', 'blue_green_hosts=docker_hosts', '-e', 'zdt_ssh_version=v3')
ROLLING_V3 = ('zerodowntime.deploy.rolling_restart', '-e', 'zdt_ssh_version=v3')


@pytest.mark.parametrize('playbook', [BLUE_GREEN_V3, ROLLING_V3], ids=['blue_green', 'rolling_restart'])
def test_no_docker_sdk_on_the_host(stack, engine, playbook):
    msg = bad_run(engine, 'Failed to import the required Python library (docker (the Docker SDK for Python',
                  *(playbook + ('-e', 'ansible_python_interpreter=%s' % NOSDK_PYTHON)))
    assert NOSDK_PYTHON in msg and 'apt-get install python3-docker' in msg and msg.endswith('Nothing was changed.')


@pytest.mark.parametrize('playbook', [BLUE_GREEN_V3, ROLLING_V3], ids=['blue_green', 'rolling_restart'])
def test_user_not_in_the_docker_group(stack, engine, playbook):
    msg = bad_run(engine, 'Cannot reach the Docker engine at unix:///var/run/docker.sock: ',
                  *(playbook + ('-e', 'ansible_user=zdt-nodocker')))
    assert 'Permission denied' in msg
    assert ('The module runs as zdt-nodocker (uid ' in msg and 'add the user to that group (usermod -aG docker '
            'zdt-nodocker' in msg and 'or run the task with become: true' in msg), msg
    assert msg.endswith('Nothing was changed.')


def test_no_sudo_for_the_sysctl(stack, engine):
    write_migrate_req(0)
    msg = bad_run(engine, 'sudo', 'sysctl.yml', 'zerodowntime.deploy.blue_green', '-e', 'blue_green_hosts=docker_hosts',
                  '-e', 'zdt_ssh_version=v3', '-e', 'ansible_user=zdt-nosudo')
    assert 'password' in msg, msg


def test_sysctl_without_become(stack, engine):
    write_migrate_req(0)
    msg = bad_run(engine, 'cannot set net.ipv4.tcp_migrate_req to 1 (it is 0)', *BLUE_GREEN_V3)
    assert 'zdt-deploy' in msg and 'become: true' in msg and 'Nothing was changed' in msg, msg


def test_ssh_url_without_paramiko(stack, engine):
    """DOCKER_HOST=ssh://: both SDK versions import paramiko for it; Debian's python3-docker does
    not pull it in. The message must say so (and nothing changes)."""
    extra = dict(zdt_ssh_container='zdt-ssh-b1',
                 zdt_ssh_docker_env=dict(DOCKER_HOST='ssh://zdt-deploy@127.0.0.1:%d' % PORT))
    msg = bad_run(engine, 'Cannot reach the Docker engine at ssh://zdt-deploy@127.0.0.1:%d: ' % PORT,
                  'engine-env.yml', '-e', json.dumps(extra))
    assert 'apt-get install python3-paramiko, or pip install paramiko' in msg, msg
