# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""net.ipv4.tcp_migrate_req for the reuseport strategy.

When a listening socket that shares its port (SO_REUSEPORT) closes, the connections still in
its accept queue are reset, unless ``net.ipv4.tcp_migrate_req=1`` (Linux >= 5.14) hands them to
another listener of the same port. The setting belongs to a network namespace:

- ``network_mode: host``: the host's namespace. The module reads and writes
  /proc/sys/net/ipv4/tcp_migrate_req itself, so it must run on the Docker host (the engine is
  reached over a local unix socket); for a remote engine it cannot know the value.
- ``network_mode: container:<name>``: that container's namespace. A running container's
  namespace cannot be changed from outside through the engine, so the value is read from its
  ``sysctls`` (``docker run --sysctl net.ipv4.tcp_migrate_req=1``) and never set.

``mode``: ``require`` fails when the value is not (and cannot be made) 1, ``warn`` warns and
goes on, ``ignore`` does not look.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.zerodowntime.deploy.plugins.module_utils._account import running_as

MIGRATE_REQ = 'net.ipv4.tcp_migrate_req'
MODES = ('require', 'warn', 'ignore')


class SysctlError(Exception):
    """tcp_migrate_req is required and is not 1; nothing was changed."""


def _problem(mode, msg, warnings, result):
    if mode == 'require':
        raise SysctlError('%s Nothing was changed (tcp_migrate_req=require; use warn to go on '
                          'anyway and accept resets at cutover).' % msg)
    warnings.append(msg)
    result['msg'] = msg
    return result


def ensure_migrate_req(mode, network_mode, engine_local, check_mode, inspect_container=None,
                       proc_sys='/proc/sys'):
    """Make sure tcp_migrate_req is 1 where the slots listen. Returns (result, warnings);
    ``result`` has name, where, before, after, changed, msg. Raises SysctlError (mode require)."""
    warnings = []
    result = dict(name=MIGRATE_REQ, where=network_mode, before=None, after=None, changed=False, msg=None)
    if mode == 'ignore':
        result['msg'] = 'not checked (tcp_migrate_req=ignore)'
        return result, warnings

    if network_mode.startswith('container:'):
        holder = network_mode.split(':', 1)[1]
        try:
            info = inspect_container(holder)
        except Exception as exc:
            raise SysctlError('network_mode=%s: cannot inspect container %s: %s. Nothing was changed.'
                              % (network_mode, holder, exc))
        value = ((info.get('HostConfig') or {}).get('Sysctls') or {}).get(MIGRATE_REQ)
        result['before'] = result['after'] = value
        if value == '1':
            result['msg'] = '%s=1 in the network namespace of container %s' % (MIGRATE_REQ, holder)
            return result, warnings
        msg = ('%s is %s in the network namespace of container %s (network_mode=%s): the old '
               'listener\'s queued connections will be reset at cutover. The module cannot change '
               'a running container\'s namespace; create %s with --sysctl %s=1.'
               % (MIGRATE_REQ, 'not set (0)' if value is None else value, holder, network_mode, holder,
                  MIGRATE_REQ))
        return _problem(mode, msg, warnings, result), warnings

    path = os.path.join(proc_sys, *MIGRATE_REQ.split('.'))
    if not engine_local:
        msg = ('%s cannot be checked: the Docker engine is remote, and with network_mode=host the '
               'setting belongs to that host; set it there (ansible.posix.sysctl) or run this '
               'module on the Docker host.' % MIGRATE_REQ)
        return _problem(mode, msg, warnings, result), warnings
    if not os.path.exists(path):
        msg = ('%s does not exist on this kernel (%s; Linux >= 5.14 has it): the old listener\'s '
               'queued connections will be reset at cutover.' % (MIGRATE_REQ, os.uname()[2]))
        return _problem(mode, msg, warnings, result), warnings
    try:
        with open(path) as handle:
            before = handle.read().strip()
    except (IOError, OSError) as exc:
        msg = 'cannot read %s: %s' % (path, exc)
        return _problem(mode, msg, warnings, result), warnings
    result['before'] = before
    if before == '1':
        result.update(after='1', msg='%s=1 already' % MIGRATE_REQ)
        return result, warnings
    result.update(after='1', changed=True, msg='%s set from %s to 1' % (MIGRATE_REQ, before))
    if check_mode:
        return result, warnings
    try:
        with open(path, 'w') as handle:
            handle.write('1\n')
    except (IOError, OSError) as exc:
        result.update(after=before, changed=False)
        msg = ('cannot set %s to 1 (it is %s): %s. The module runs as %s, not root: give this task '
               'become: true, or set it as root before the deploy (a task with become: true running '
               'sysctl -w %s=1, or ansible.posix.sysctl); the deploy itself needs no root.'
               % (MIGRATE_REQ, before, exc, running_as(), MIGRATE_REQ))
        return _problem(mode, msg, warnings, result), warnings
    return result, warnings
