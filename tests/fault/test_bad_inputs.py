# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Garbage in: every module and both roles refuse invalid input with a message that names the
object or option and the cause, and nothing changes - containers, balancer members, fake
balancers' change counters, files. Secrets given with an input never show in the output.
The tables: tables/bad_inputs_modules.py, tables/bad_inputs_roles.py."""

import json
import os
import re
import sys

import pytest

from harness.bad_input_env import BadInputEnv
from harness.direct import run_module
from harness.playbook import PlaybookRun
from tables import bad_inputs_modules, bad_inputs_roles


@pytest.fixture(scope='session')
def env(engine, tmp_path_factory):
    bad = BadInputEnv(engine, tmp_path_factory.mktemp('bad'))
    try:
        yield bad.start()
    finally:
        bad.close()


def secrets_in(args):
    """Values of every *password* option, at any depth."""
    found = []
    if isinstance(args, dict):
        for key, value in args.items():
            if 'password' in key and isinstance(value, str):
                found.append(value)
            else:
                found += secrets_in(value)
    elif isinstance(args, list):
        for value in args:
            found += secrets_in(value)
    return found


def assert_clear_refusal(message, case):
    assert message, '%s was accepted' % case.id
    missing = [pattern for pattern in case.expect if not re.search(pattern, message)]
    assert not missing, '%s: the message %r does not match %s' % (case.id, message, missing)


@pytest.mark.parametrize('case', bad_inputs_modules.params())
def test_module_refuses_bad_input_and_changes_nothing(env, case):
    call = case.call(env)
    module, args, environment = call if len(call) == 3 else call + (None,)
    before = env.snapshot()
    result = run_module(module, args, environment)
    after = env.snapshot()
    assert result.get('failed'), '%s was accepted: %s' % (case.id, result)
    assert_clear_refusal(result['msg'], case)
    assert not result.get('changed'), '%s reported a change' % case.id
    assert after == before, '%s changed something: %s -> %s' % (case.id, before, after)
    for secret in secrets_in(args):
        assert secret not in result['_raw'].replace('VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', ''), (
            '%s: a password shows in the output' % case.id)


@pytest.fixture(scope='session')
def role_run(env, tmp_path_factory):
    """All role cases in one playbook run (one ansible-playbook start instead of eleven)."""
    workdir = tmp_path_factory.mktemp('bad-roles')
    path = os.path.join(str(workdir), 'bad_roles.yml')
    with open(path, 'w') as handle:
        json.dump(bad_inputs_roles.playbook(env), handle, indent=1)
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                 'ansible_python_interpreter': sys.executable}}}}
    before = env.snapshot()
    run = PlaybookRun(workdir, 'roles', path, inventory, {})
    run.run(300)
    return run, before, env.snapshot()


def case_events(run, case):
    """Trace events from the case's include to the next case's."""
    events = run.events()
    includes = [i for i, e in enumerate(events) if e['event'] == 'task_start' and e['task'].endswith(': include')]
    start = next(i for i in includes if events[i]['task'] == '%s: include' % case.id)
    end = next((i for i in includes if i > start), len(events))
    return events[start:end]


@pytest.mark.parametrize('case', bad_inputs_roles.params())
def test_role_refuses_bad_input_and_changes_nothing(role_run, case):
    run, before, after = role_run
    events = case_events(run, case)
    reported = [e['msg'] for e in events if e['event'] == 'ok' and e['task'] == 'bad input %s' % case.id]
    assert_clear_refusal(reported[0] if reported else None, case)
    # check mode tasks report what they would change; they change nothing
    changed = [e['task'] for e in events if e['event'] == 'ok' and e['changed'] and not e['check_mode']]
    assert not changed, '%s: tasks reported a change: %s' % (case.id, changed)


def test_role_bad_inputs_left_everything_as_it_was(role_run):
    run, before, after = role_run
    assert after == before
