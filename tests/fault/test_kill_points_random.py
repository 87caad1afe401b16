# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Random kill points (slow; make fault SLOW=1, ZDT_FAULT_SEED=<n> for another draw): a seeded
choice of service, task and moment inside it, judged like the deterministic ones. A failure that
is one of the known defects (tables/defects.py) is reported as xfail with it; any other failure
is a new finding."""

import pytest

from harness.scenario import assert_survives
from tables import random_points

TAG = 'rk'
PORT_BASE = 18710
pytestmark = pytest.mark.slow


@pytest.mark.parametrize('where', random_points.draw())
def test_randomly_killed_deploy_keeps_serving_and_the_rerun_converges(services, where):
    kind, point = where
    assert_survives(services(kind), point, known=True)
