# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Who the module runs as, for messages whose fix depends on it (group membership, become)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd


def _effective_user():
    """(name or None, uid) of the effective user; no name when it has no passwd entry (common in
    containers and execution environments)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:
        return None, uid


def running_as():
    """'name (uid N)' of the effective user, or 'uid N' when it has no passwd entry."""
    name, uid = _effective_user()
    return '%s (uid %d)' % (name, uid) if name else 'uid %d' % uid


def running_as_name():
    """The effective user's name, or its uid when it has none (usermod takes either)."""
    name, uid = _effective_user()
    return name or str(uid)
