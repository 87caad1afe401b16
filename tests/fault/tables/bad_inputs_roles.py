# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Invalid inputs of the two roles: what their argument specs must refuse, and valid-looking
variables that the first module call must refuse before anything changes. Each:
(id, env -> (role, variables), regular expressions the message must match)."""

from harness.bad_input_env import SERVICE, BadInput
from tables import defects

BLUE_GREEN = 'zerodowntime.deploy.blue_green'
ROLLING = 'zerodowntime.deploy.rolling_restart'


def blue_green(env, **changes):
    port = env.ports['service']
    variables = dict(
        blue_green_service=SERVICE, blue_green_image='zerodowntime-test/app:v2', blue_green_strategy='reuseport',
        blue_green_container={'env': {'APP_PORT': str(port), 'APP_REUSEPORT': '1'}},
        blue_green_readiness={'checks': [{'type': 'http', 'url': 'http://127.0.0.1:%d/' % port,
                                          'response_headers': {'X-App-Version': 'v2'}}]})
    variables.update(changes)
    return BLUE_GREEN, dict((k, v) for k, v in variables.items() if v is not None)


def haproxy_balancer(env, **changes):
    balancer = dict(backend='app', members={'blue': 'blue', 'green': 'green'},
                    connection={'haproxy_socket': env.front.socket})
    balancer.update(changes)
    return balancer


def rolling(env, backend='app', member='blue', **changes):
    port = env.ports['service']
    variables = dict(
        rolling_restart_container=dict(name=SERVICE, image='zerodowntime-test/app:v2', strategy='reuseport',
                                       env={'APP_PORT': str(port), 'APP_REUSEPORT': '1'}),
        rolling_restart_balancers=[{'balancer': 'haproxy', 'backend': backend, 'member': member,
                                    'connection': {'haproxy_socket': env.front.socket}}])
    variables.update(changes)
    return ROLLING, dict((k, v) for k, v in variables.items() if v is not None)


ROLES = [
    BadInput('blue_green-strategy-not-a-choice', lambda env: blue_green(env, blue_green_strategy='blue-green'),
             r'blue_green_strategy', r'blue-green', r'reuseport'),
    BadInput('blue_green-image-missing', lambda env: blue_green(env, blue_green_image=None),
             r'blue_green_image', r'missing|required'),
    BadInput('blue_green-watch-not-a-number', lambda env: blue_green(env, blue_green_watch='soon'),
             r'blue_green_watch', r'float'),
    BadInput('blue_green-balancer-without-members', lambda env: blue_green(
        env, blue_green_strategy='haproxy', blue_green_balancers=[{'backend': 'app', 'connection': {}}]),
        r'members', r'missing|required'),
    BadInput('blue_green-balancer-kind-not-a-choice', lambda env: blue_green(
        env, blue_green_strategy='haproxy', blue_green_balancers=[haproxy_balancer(env, balancer='traefik')]),
        r'balancer', r'traefik'),
    BadInput('blue_green-image-not-there', lambda env: blue_green(env, blue_green_image='zerodowntime-test/app:no-such'),
             r'zerodowntime-test/app:no-such', r'Nothing was changed'),
    BadInput('rolling_restart-method-not-a-choice', lambda env: rolling(env, rolling_restart_method='reboot'),
             r'rolling_restart_method', r'reboot', r'container'),
    BadInput('rolling_restart-balancers-missing', lambda env: rolling(env, rolling_restart_balancers=None),
             r'rolling_restart_balancers', r'missing|required'),
    BadInput('rolling_restart-min-active-not-int', lambda env: rolling(env, rolling_restart_min_active='many'),
             r'rolling_restart_min_active', r'int'),
    BadInput('rolling_restart-unknown-backend', lambda env: rolling(env, backend='nope'),
             r"Backend 'nope' not found", r'Nothing was changed'),
    BadInput('rolling_restart-last-member', lambda env: rolling(env, backend='solo', member='only'),
             r"Refusing to take 'only' out of rotation in backend 'solo'", r'Nothing was changed'),
]


# What the operator reads: the failed task's message, and those of its failed loop items.
RESCUED = ("{{ ([ansible_failed_result.msg | default('')] + (ansible_failed_result.results | default([])"
           " | map(attribute='msg', default='') | list)) | join(' ') }}")


def playbook(env):
    """One play, one block per case: the role included with the case's variables, and a rescue
    that reports the failure as the task 'bad input <id>'. (JSON is YAML.)"""
    tasks = []
    for case in ROLES:
        role, variables = case.call(env)
        tasks.append({
            'name': 'case %s' % case.id,
            'block': [{'name': '%s: include' % case.id, 'ansible.builtin.include_role': {'name': role},
                       'vars': variables}],
            'rescue': [{'name': 'bad input %s' % case.id, 'ansible.builtin.debug': {'msg': RESCUED}}],
        })
    return [{'name': 'Bad role inputs', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]


def params():
    return [defects.param(case, case.id, case.defect) for case in ROLES]
