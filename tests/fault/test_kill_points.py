# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""blue_green (HAProxy; shared port without and with a watch window) and rolling_restart
(three backends behind HAProxy), SIGKILLed at every phase boundary and inside the phases that
hurt most, under load: zero failed requests, and the same deploy run again converges - one
active container of the new version, every balancer member in its place, nothing left behind,
the killed run's lock taken over at once. The table: tables/kill_points.py."""

import pytest

from harness.scenario import assert_survives
from tables import kill_points

TAG = 'kp'
PORT_BASE = 18700


@pytest.mark.parametrize('where', kill_points.params('haproxy', 'reuseport', 'watched', 'rolling'))
def test_killed_deploy_keeps_serving_and_the_rerun_converges(services, where):
    kind, point = where
    assert_survives(services(kind), point)
