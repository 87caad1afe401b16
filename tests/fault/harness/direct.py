# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module of the installed collection the way Ansible's own test-module does: the module
file with an arguments file, its JSON result on stdout. A bad input needs no playbook around it,
and at ~1 s a run, dozens of them fit in the suite's time."""

import json
import os
import subprocess
import sys
import tempfile

TIMEOUT = 120


def collection_root():
    root = os.environ['ANSIBLE_COLLECTIONS_PATH'].split(os.pathsep)[0]
    return root, os.path.join(root, 'ansible_collections', 'zerodowntime', 'deploy')


def run_module(name, args, environment=None):
    """The module's result (a dict); a module that printed no JSON gives failed + its stderr.
    ``environment``: variables to set for the module (None: unset)."""
    root, collection = collection_root()
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    try:
        env = dict(os.environ, PYTHONPATH=root)
        for key, value in (environment or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        proc = subprocess.run([sys.executable, os.path.join(collection, 'plugins', 'modules', name + '.py'),
                               handle.name], capture_output=True, text=True, timeout=TIMEOUT, env=env,
                              check=False)
    finally:
        os.remove(handle.name)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        return dict(failed=True, msg='no JSON result (rc %d): %s %s'
                    % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    result['_raw'] = proc.stdout + proc.stderr
    return result
