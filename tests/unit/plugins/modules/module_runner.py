# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a module's main() in a unit test and returns its JSON result, on every ansible-core the
collection supports (2.16 through the newest): how a test hands the module its arguments and
whether the result carries 'invocation' changed between them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19 and newer
except ImportError:  # ansible-core 2.16 to 2.18: the module reads its arguments from basic._ANSIBLE_ARGS
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

# ansible-core 2.21 adds 'invocation' (the arguments, no_log values masked) to a result only when
# the controller asks for it (INJECT_INVOCATION); older versions always add it.
INVOCATION_ON_REQUEST = 'inject_invocation' in PASS_VARS


def run_module(capsys, main, args, invocation=False):
    """main() with args as the task's arguments; invocation=True: the result carries 'invocation'
    on every version."""
    args = dict(args)
    if invocation and INVOCATION_ON_REQUEST:
        args['_ansible_inject_invocation'] = True
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            main()
    return json.loads(capsys.readouterr().out)
