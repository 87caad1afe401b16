# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""container_hotswap with balancers (_switch.py): the switch inside the run, the re-check before
capacity is removed, every rollback branch, rolling member mode - fake engine, fake balancer,
fake clock (nothing really waits)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _switch
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UP, ApplyError, BalancerConnectionError, Change, Member)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import build_spec
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import HotswapError, Runner
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    FakeAdapter, FakeClock)

from fake_engine import CRASHES, NEVER_READY, FakeClient, fake_wait_ready
from hotswap_helpers import NEW_ID, SERVICE, desired, engine_with, params, state_of

A, C, P = hs.ACTIVE, hs.CANDIDATE, hs.PREVIOUS
RUN, EXITED = 'running', 'exited'
HAPROXY = dict(balancer='haproxy', backend='app', members=dict(blue='b', green='g'),
               connection=dict(haproxy_socket='/run/haproxy/admin.sock', poll_interval=0.5))
ROLLING = dict(balancer='haproxy', backend='app', member='m',
               connection=dict(haproxy_socket='/run/haproxy/admin.sock', poll_interval=0.5))


def blue_green(blue=ENABLED, green=DRAINED, blue_health=UP, green_health=DOWN, weight=100):
    return [Member('b', blue, weight=weight, health=blue_health, serving=blue == ENABLED and blue_health != DOWN),
            Member('g', green, weight=weight, health=green_health, serving=green == ENABLED and green_health != DOWN)]


def one_member(state=ENABLED, others=True):
    members = [Member('m', state, weight=100, health=UP, serving=state == ENABLED)]
    if others:
        members.append(Member('other', ENABLED, weight=100, health=UP, serving=True))
    return members


class Deploy(object):
    """One run of the runner with the balancer hooks on the fakes."""

    def __init__(self, found, adapters, entries=None, phase=hs.PRESENT, want=None, keep=False, wait=None,
                 **options):
        self.clock = FakeClock()
        entries = entries if entries is not None else [HAPROXY] * len(adapters)
        self.params = params(balancers=entries, state=phase, **options)
        spec = build_spec(self.params)
        self.want = want or desired(spec)
        self.api = engine_with(found, self.want)
        self.api.images['app:never'] = NEVER_READY
        self.api.images['app:crash'] = CRASHES
        self.before = state_of(self.api)
        self.plan = hs.plan_phase(self.before, self.want if phase not in (hs.ROLLED_BACK,) else None, phase,
                                  keep_previous=keep)
        self.warnings = []
        validated = _switch.validate(self.params, SERVICE)
        self.switch = _switch.build(validated, None, self.params, False, clock=self.clock,
                                    sleep=self.clock.sleep, adapters=adapters)
        self.switch.warn = self.warnings.append
        self.switch.read_before()
        client = FakeClient(self.api)
        self.runner = Runner(DockerEngine(client, clock=self.clock), SERVICE, spec, self.want, self.params['readiness'],
                             docker=client, wait_ready=wait or fake_wait_ready(self.api), clock=self.clock,
                             sleep=self.clock.sleep, hooks=_switch.Hooks(self.switch, self.plan))

    def run(self):
        return self.runner.run(self.plan, self.before)

    def fails(self):
        with pytest.raises(HotswapError) as err:
            self.run()
        return err.value.msg

    def after(self):
        return state_of(self.api)


def states(adapter):
    return dict((name, (m.state, m.weight)) for name, m in adapter.members.items())


# ------------------------------------------------------------------ blue/green: the switch

def test_switch_enables_the_candidate_waits_until_up_then_drains_the_old_one_then_retires_it():
    adapter = FakeAdapter(blue_green(), health={'g': [DOWN, DOWN, UP]}, active={'b': [4, 2, 0]})
    deploy = Deploy({A: ('blue', RUN, False)}, [adapter])
    deploy.run()
    assert adapter.applies() == [[Change('g', ENABLED)], [Change('b', DRAINED)]]
    assert states(adapter) == {'b': (DRAINED, 100), 'g': (ENABLED, 100)}
    after = deploy.after()
    assert after.active.slot == 'green' and after.active.image_id == NEW_ID and after.previous is None
    report = deploy.switch.results()['balancers'][0]
    assert report['active_at_switch'] == 4 and report['drain_seconds'] == 0.5
    assert report['up_seconds'] > 0
    assert deploy.switch.reasserted == []
