# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defects this suite found in code other engineers own. Each is the reason of a strict xfail:
once the defect is fixed the test passes, the strict xfail fails, and the mark must go."""

import pytest

ENABLE_KEEPS_PART_OF_THE_WEIGHT = (
    'rolling_restart killed during the weight ramp leaves the member at that part of its weight for '
    'good: balancer_member state=enabled with a ramp ramps only a member that enters rotation '
    '(plugins/module_utils/_balancers/_base.py make_plan: entering = not enabled yet), and without '
    'weight= an enabled member keeps its current weight, so the re-run finds b1 enabled and changes '
    'nothing; nor does the module return the configured weight (Member.as_dict has no '
    'config_weight), so the role cannot ask for it. A ramp asked for should resume from the current '
    'weight up to the configured one')


def xfail(reason):
    """Strict, and only for a broken promise (AssertionError): an error of the harness itself
    must not pass for the defect."""
    return pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)


def param(value, id, defect=None):
    """A test parameter; a known defect makes it a strict xfail."""
    return pytest.param(value, id=id, marks=[xfail(defect)] if defect else [])
