# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed host of the SSH layer (host.sh: sshd on 127.0.0.1:18860, the accounts), shared by
test_ssh.py and test_tls_engine.py, and how both run Ansible against it."""

import json
import os
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STATE = os.path.join(ROOT, '.tmp', 'ssh')
PORT = 18860


@pytest.fixture(scope='session')
def ssh_host():
    """sshd and the accounts, for the whole run; sshd is stopped at the end (the accounts stay)."""
    start = time.time()
    subprocess.run(['bash', os.path.join(HERE, 'host.sh'), 'start', STATE, str(PORT)], check=True)
    try:
        yield STATE
    finally:
        subprocess.run(['bash', os.path.join(HERE, 'host.sh'), 'stop', STATE], check=False)
        print('make ssh wall time (tests/ssh, set-up and tear-down included): %.1f s' % (time.time() - start))


def ansible(*args, **env):
    """ansible-playbook with the JSON callback; returns (rc, parsed output, wall seconds)."""
    environ = dict(os.environ, ZDT_SSH_DIR=STATE, ZDT_SSH_PORT=str(PORT), ANSIBLE_HOST_KEY_CHECKING='False',
                   ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_FORCE_COLOR='0', **env)
    start = time.time()
    proc = subprocess.run(['ansible-playbook', '-i', os.path.join(HERE, 'inventory.yml')] + list(args),
                          cwd=HERE, env=environ, capture_output=True, text=True, check=False)
    try:
        out = json.loads(proc.stdout[proc.stdout.index('{'):])
    except ValueError:
        raise AssertionError('ansible-playbook printed no JSON (rc %s): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    return proc.returncode, out, time.time() - start


def failures(out):
    """(host, task name, message) of every failed, not ignored task result."""
    found = []
    for play in out['plays']:
        for task in play['tasks']:
            for host, result in task['hosts'].items():
                if result.get('unreachable') or (result.get('failed') and not result.get('_ansible_ignore_errors')):
                    found.append((host, task['task']['name'], result.get('msg', '')))
    return found
