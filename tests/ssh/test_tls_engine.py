# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A remote engine over TCP with TLS, configured by the standard environment only.

tls-engine.sh starts a second dockerd (the shared one is left alone) that takes only TLS with
client certificates on 127.0.0.1:18870. A module run with DOCKER_HOST, DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH set, and no docker_* option, must reach it; with another CA it must fail and
say so.
"""

import json
import os
import pwd
import shutil
import subprocess

import pytest

from conftest import ansible, failures

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STATE = os.path.join(ROOT, '.tmp', 'tls-engine')
PORT = 18870
CONTAINER = 'zdt-tls-sleeper'


def run_module(module, args, **env):
    """One module run on the controller with the given environment; returns its result."""
    environ = dict((k, v) for k, v in os.environ.items() if not k.startswith('DOCKER_'))
    environ.update(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', **env)
    proc = subprocess.run(['ansible', 'localhost', '-m', module, '-a', json.dumps(args)],
                          env=environ, capture_output=True, text=True, check=False)
    out = json.loads(proc.stdout[proc.stdout.index('{'):])
    return out['plays'][0]['tasks'][0]['hosts']['localhost']


@pytest.fixture(scope='module')
def engine():
    subprocess.run(['bash', os.path.join(HERE, 'tls-engine.sh'), 'start', STATE, str(PORT)], check=True)
    try:
        env = dict(os.environ, DOCKER_HOST='tcp://127.0.0.1:%d' % PORT, DOCKER_TLS_VERIFY='1',
                   DOCKER_CERT_PATH=os.path.join(STATE, 'client'))
        subprocess.run(['docker', 'run', '-d', '--name', CONTAINER, '--network', 'none', 'zdt-tls/sleep:1'],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        yield env
    finally:
        subprocess.run(['bash', os.path.join(HERE, 'tls-engine.sh'), 'stop', STATE], check=False)


TLS_OVER_SSH = dict(zdt_ssh_container=CONTAINER, zdt_ssh_docker_env=dict(
    DOCKER_HOST='tcp://127.0.0.1:%d' % PORT, DOCKER_TLS_VERIFY='1', DOCKER_TIMEOUT='10'))
CHECK = dict(checks=[dict(type='container', container=CONTAINER)], timeout=20, interval=0.2)


def test_the_environment_alone_reaches_a_tls_engine(engine):
    result = run_module('zerodowntime.deploy.wait_ready', CHECK, DOCKER_HOST='tcp://127.0.0.1:%d' % PORT,
                        DOCKER_TLS_VERIFY='1', DOCKER_CERT_PATH=os.path.join(STATE, 'client'), DOCKER_TIMEOUT='10')
    print('TLS engine from the environment: %s' % result.get('msg'))
    assert not result.get('failed'), result.get('msg')
    assert result['checks'][0]['state'] == 'running', result['checks']
    assert not result.get('warnings'), result['warnings']       # no plain-TCP warning: TLS was on


def test_another_ca_fails_and_says_so(engine, tmp_path):
    for name in ('cert.pem', 'key.pem'):
        os.symlink(os.path.join(STATE, 'client', name), str(tmp_path.joinpath(name)))
    os.symlink(os.path.join(STATE, 'wrong-ca', 'ca.pem'), str(tmp_path.joinpath('ca.pem')))
    result = run_module('zerodowntime.deploy.wait_ready', CHECK, DOCKER_HOST='tcp://127.0.0.1:%d' % PORT,
                        DOCKER_TLS_VERIFY='1', DOCKER_CERT_PATH=str(tmp_path), DOCKER_TIMEOUT='10')
    print('TLS engine, wrong CA: %s' % result.get('msg'))
    assert result.get('failed')
    msg = result['msg']
    assert msg.startswith('Cannot reach the Docker engine at tcp://127.0.0.1:%d: ' % PORT), msg
    assert 'CERTIFICATE_VERIFY_FAILED' in msg, msg
    assert ("The engine's certificate was not signed by the CA in use (docker_ca_path, or ca.pem in "
            "DOCKER_CERT_PATH) (option docker_host); the container checks need it. Nothing was checked or changed.") in msg


def test_without_the_tls_variables_the_engine_refuses_plain_http(engine):
    result = run_module('zerodowntime.deploy.wait_ready', CHECK, DOCKER_HOST='tcp://127.0.0.1:%d' % PORT,
                        DOCKER_TIMEOUT='10')
    print('TLS engine, no TLS variables: %s' % result.get('msg'))
    assert result.get('failed')
    assert result['msg'].startswith('Cannot reach the Docker engine at tcp://127.0.0.1:%d: ' % PORT)
    assert any('reached over TCP without TLS' in w for w in result.get('warnings', [])), result


def test_the_distro_sdk_over_ssh_reads_dot_docker_of_the_account(ssh_host, engine):
    """As zdt-deploy over SSH, /usr/bin/python3 with python3-docker 5.0.3; DOCKER_CERT_PATH unset."""
    account = pwd.getpwnam('zdt-deploy')
    dot_docker = os.path.join(account.pw_dir, '.docker')
    os.makedirs(dot_docker, mode=0o700, exist_ok=True)
    try:
        for name in ('ca.pem', 'cert.pem', 'key.pem'):
            shutil.copy(os.path.join(STATE, 'client', name), dot_docker)
        for path in [dot_docker] + [os.path.join(dot_docker, n) for n in os.listdir(dot_docker)]:
            os.chown(path, account.pw_uid, account.pw_gid)
        rc, out, dummy = ansible('engine-env.yml', '-e', json.dumps(TLS_OVER_SSH))
        assert rc == 0, failures(out)
        result = out['plays'][0]['tasks'][0]['hosts']['web1']
        print('TLS engine over SSH (python3-docker 5.0.3, ~/.docker): %s' % result['msg'])
        assert result['checks'][0]['state'] == 'running', result['checks']
        shutil.copy(os.path.join(STATE, 'wrong-ca', 'ca.pem'), dot_docker)
        rc, out, dummy = ansible('engine-env.yml', '-e', json.dumps(TLS_OVER_SSH))
        found = failures(out)
        print('TLS engine over SSH, another CA in ~/.docker: %s' % (found,))
        assert rc != 0 and 'CERTIFICATE_VERIFY_FAILED' in found[0][2], found
    finally:
        shutil.rmtree(dot_docker, ignore_errors=True)
