# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""net.ipv4.tcp_migrate_req for the reuseport strategy, on a fake /proc/sys."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils._account import running_as

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _sysctl as sc


@pytest.fixture
def proc_sys(tmp_path):
    path = tmp_path / 'net' / 'ipv4'
    path.mkdir(parents=True)
    (path / 'tcp_migrate_req').write_text('0\n')
    return tmp_path


def value(proc_sys):
    return (proc_sys / 'net' / 'ipv4' / 'tcp_migrate_req').read_text().strip()


def test_host_value_zero_is_set_to_one(proc_sys):
    result, warnings = sc.ensure_migrate_req('require', 'host', True, False, proc_sys=str(proc_sys))
    assert result['before'] == '0' and result['after'] == '1' and result['changed']
    assert value(proc_sys) == '1' and warnings == []


def test_check_mode_reports_without_writing(proc_sys):
    result = sc.ensure_migrate_req('require', 'host', True, True, proc_sys=str(proc_sys))[0]
    assert result['changed'] and value(proc_sys) == '0'


def test_already_one_is_no_change(proc_sys):
    (proc_sys / 'net' / 'ipv4' / 'tcp_migrate_req').write_text('1\n')
    result = sc.ensure_migrate_req('require', 'host', True, False, proc_sys=str(proc_sys))[0]
    assert not result['changed'] and result['msg'] == 'net.ipv4.tcp_migrate_req=1 already'


def test_kernel_without_it_fails_or_warns(tmp_path):
    with pytest.raises(sc.SysctlError) as err:
        sc.ensure_migrate_req('require', 'host', True, False, proc_sys=str(tmp_path))
    assert 'net.ipv4.tcp_migrate_req does not exist on this kernel' in str(err.value)
    assert str(err.value).endswith('Nothing was changed (tcp_migrate_req=require; use warn to go on anyway '
                                   'and accept resets at cutover).')
    result, warnings = sc.ensure_migrate_req('warn', 'host', True, False, proc_sys=str(tmp_path))
    assert len(warnings) == 1 and 'does not exist on this kernel' in warnings[0]
    assert not result['changed']


def test_remote_engine_cannot_be_checked(proc_sys):
    with pytest.raises(sc.SysctlError) as err:
        sc.ensure_migrate_req('require', 'host', False, False, proc_sys=str(proc_sys))
    assert 'the Docker engine is remote' in str(err.value)
    assert value(proc_sys) == '0'


def test_not_writable_fails_or_warns(proc_sys, monkeypatch):
    real_open = open

    def refuse_write(path, mode='r', *args, **kwargs):
        if 'w' in mode:
            raise PermissionError(13, 'Permission denied')
        return real_open(path, mode, *args, **kwargs)
    monkeypatch.setattr('builtins.open', refuse_write)
    with pytest.raises(sc.SysctlError) as err:
        sc.ensure_migrate_req('require', 'host', True, False, proc_sys=str(proc_sys))
    assert 'cannot set net.ipv4.tcp_migrate_req to 1 (it is 0)' in str(err.value)
    assert 'The module runs as %s, not root: give this task become: true' % running_as() in str(err.value)
    result, warnings = sc.ensure_migrate_req('warn', 'host', True, False, proc_sys=str(proc_sys))
    assert not result['changed'] and result['after'] == '0' and warnings


def test_container_namespace_is_read_from_its_sysctls():
    def inspect(name, value):
        return lambda ref: dict(HostConfig=dict(Sysctls={sc.MIGRATE_REQ: value} if value else None))
    result = sc.ensure_migrate_req('require', 'container:netns', True, False, inspect('netns', '1'))[0]
    assert result['before'] == '1' and not result['changed']
    with pytest.raises(sc.SysctlError) as err:
        sc.ensure_migrate_req('require', 'container:netns', True, False, inspect('netns', None))
    assert 'create netns with --sysctl net.ipv4.tcp_migrate_req=1' in str(err.value)
    warnings = sc.ensure_migrate_req('warn', 'container:netns', True, False, inspect('netns', '0'))[1]
    assert 'is 0 in the network namespace of container netns' in warnings[0]


def test_ignore_does_not_look(tmp_path):
    result, warnings = sc.ensure_migrate_req('ignore', 'host', False, False, proc_sys=str(tmp_path))
    assert result['msg'] == 'not checked (tcp_migrate_req=ignore)' and warnings == []
