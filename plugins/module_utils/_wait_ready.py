# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""The wait_ready module: its argument spec and rules, and ``run_module()``.

The module reads: validate every option, connect to the engine only when a check needs it, wait
(``_readiness.wait_until_ready``), then warm up (``_readiness.run_warmup``). It changes nothing,
in check mode or not, so check mode runs the same wait.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import (
    DOCKER_CONNECTION_ARGS, DOCKER_CONNECTION_REQUIRED_TOGETHER, DockerConnectionError,
    docker_client, plaintext_tcp_warning, require_docker_sdk)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._readiness import (
    READINESS_ARGS, ReadinessInputError, check_input, needs_docker, run_warmup, wait_until_ready)

ARGUMENT_SPEC = dict(READINESS_ARGS)
ARGUMENT_SPEC.update(DOCKER_CONNECTION_ARGS)

ARGUMENT_RULES = dict(
    required_one_of=[('checks', 'warmup')],
    required_together=DOCKER_CONNECTION_REQUIRED_TOGETHER,
)


def run_module(module):
    """Entry point of plugins/modules/wait_ready.py."""
    p = module.params
    out = dict(changed=False, elapsed=0.0, attempts=0, checks=[])
    try:
        check_input(p['checks'], p['timeout'], p['interval'], p['success_threshold'],
                    p['initial_delay'], p['warmup'])
        docker = None
        if needs_docker(p['checks']):
            require_docker_sdk(module)
            if plaintext_tcp_warning(p):
                module.warn(plaintext_tcp_warning(p))
            try:
                docker = docker_client(p)
            except DockerConnectionError as exc:
                module.fail_json(msg='%s (option docker_host); the container checks need it. '
                                 'Nothing was checked or changed.' % exc, **out)
        ready = wait_until_ready(p['checks'], p['timeout'], p['interval'], p['success_threshold'],
                                 p['initial_delay'], docker=docker)
        out.update(elapsed=ready.elapsed, attempts=ready.attempts, checks=ready.checks)
        if not ready.ok:
            module.fail_json(msg='%s Nothing was changed.' % ready.msg, **out)
        msg = ready.msg
        if p['warmup']:
            out['warmup'] = run_warmup(p['warmup'])
            msg = '%s %s' % (msg, out['warmup']['msg'])
            if out['warmup']['failed'] and p['warmup']['fail_on_error']:
                module.fail_json(msg='%s (warmup.fail_on_error is true). Nothing was changed.' % msg,
                                 **out)
    except ReadinessInputError as exc:
        module.fail_json(msg='Invalid input: %s. Nothing was checked or changed.' % exc, **out)
    module.exit_json(msg=msg, **out)
