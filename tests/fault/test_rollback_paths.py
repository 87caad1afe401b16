# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""blue_green's rollback paths under load: the old version keeps serving, the balancer is as it
was, no request fails (beyond what reuseport documents), and the message names the step and the
cause. The table: tables/rollbacks.py."""

import pytest

from harness.rollback import assert_rolls_back
from tables import rollbacks

TAG = 'rb'
PORT_BASE = 18720


@pytest.mark.parametrize('case', rollbacks.params())
def test_failed_deploy_rolls_back_without_a_failed_request(services, case):
    assert_rolls_back(services(case.kind), case)
