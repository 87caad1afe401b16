# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defects this suite found in code other engineers own. Each is the reason of a strict xfail:
once the defect is fixed the test passes, the strict xfail fails, and the mark must go."""

import pytest


def xfail(reason):
    """Strict, and only for a broken promise (AssertionError): an error of the harness itself
    must not pass for the defect."""
    return pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)


def param(value, id, defect=None):
    """A test parameter; a known defect makes it a strict xfail."""
    return pytest.param(value, id=id, marks=[xfail(defect)] if defect else [])
