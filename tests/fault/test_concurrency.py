# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deploys that race, under load. Two deploys of one service: one proceeds, the other waits for
the per-service lock or fails naming its holder - never two candidates, never a failed request.
Two different services at once: both succeed. A deploy that fails leaves no lock behind, also
after a successful one in the same play."""

import contextlib
import os
import re
import time

from harness import convergence
from harness.load import BackgroundLoad, across_runs
from harness.playbook import PlaybookRun
from harness.services import RUN_TIMEOUT, other
from harness.watch import ContainerWatch

TAG = 'cc'
PORT_BASE = 18730

DEPLOYS_IN_ONE_PLAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'playbooks', 'deploys_in_one_play.yml')

# The first deploy holds the lock for at least this long (its readiness waits first), so that
# the second one, started once the lock exists, surely meets it.
SLOW_READINESS = 8.0


def slow_readiness(service, variables):
    variables['blue_green_readiness']['initial_delay'] = SLOW_READINESS


def impatient(service, variables):
    variables['blue_green_container']['lock_timeout'] = 1


def wait_for_lock(docker, service, timeout=60):
    """The lock container of ``service`` once it exists (the first deploy is in a module)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lock = convergence.service_containers(docker, service).get(service + '-hotswap-lock')
        if lock is not None:
            return lock
        time.sleep(0.05)
    raise AssertionError('no deploy lock of %s within %ss' % (service, timeout))


def lock_results(run):
    return [e['res']['lock'] for e in run.results('ok') if (e.get('res') or {}).get('lock')]


def race(service, engine, second_version, second_vary=None):
    """A deploy of the other version with slow readiness, and once it holds the lock a second one."""
    first_version = other(service.version)
    with BackgroundLoad(service.url) as load, ContainerWatch(engine, service.name) as watch:
        load.wait_for_requests()
        first = service.run('first', first_version, vary=slow_readiness).start()
        holder = wait_for_lock(engine, service.name).labels['zerodowntime.lock.pid']
        second = service.run('second', second_version, vary=second_vary).start()
        second.wait(RUN_TIMEOUT)
        first.wait(RUN_TIMEOUT)
        load.wait_past(first, second)
    assert not across_runs(load, first, second), across_runs(load, first, second)
    return first, second, holder, watch, load.stop()


def test_second_deploy_of_a_service_waits_for_the_first(services, engine):
    service = services('reuseport')
    service.ensure()
    back = service.version
    first, second, holder, watch, load = race(service, engine, back)
    assert (first.rc, second.rc) == (0, 0), (first.tail(), second.tail())
    waited = lock_results(second)[0]['waited']
    assert waited > 1.0, 'the second deploy did not wait for the lock of the first (waited %ss)' % waited
    assert watch.most_running <= 2, 'more than active + one candidate at once: %s' % watch.worst
    assert load['failed'] == 0, load['first_failures']
    assert service.problems(back) == []


def test_impatient_second_deploy_fails_naming_the_holder(services, engine):
    service = services('reuseport')
    service.ensure()
    first, second, holder, watch, load = race(service, engine, 'v3', second_vary=impatient)
    assert first.rc == 0, first.tail()
    assert second.rc != 0
    message = second.final_failure()['msg']
    assert re.search(r'Timed out after 1s waiting for the deploy lock of service %s: container %s-hotswap-lock '
                     r'is held by \S+ pid %s since' % (service.name, service.name, holder), message), message
    assert 'Nothing was changed' in message
    assert watch.most_running <= 2, watch.worst
    assert list(watch.candidates.values()) == [convergence.APP_IMAGE % other(service.version)]
    assert load['failed'] == 0, load['first_failures']
    assert service.problems(other(service.version)) == []


def test_two_services_deploy_at_once(services, engine):
    pair = [services('reuseport'), services('watched')]
    targets = {}
    for service in pair:
        service.ensure()
        targets[service.name] = other(service.version)
    with contextlib.ExitStack() as stack:
        loads = [stack.enter_context(BackgroundLoad(s.url)) for s in pair]
        for load in loads:
            load.wait_for_requests()
        runs = [s.run('together', targets[s.name]).start() for s in pair]
        for run in runs:
            run.wait(RUN_TIMEOUT)
        for load, run in zip(loads, runs):
            load.wait_past(run)
    for load, run in zip(loads, runs):
        assert not across_runs(load, run), load.stop()['around']
    summaries = [load.stop() for load in loads]
    for service, run, summary in zip(pair, runs, summaries):
        assert run.rc == 0, '%s: %s' % (service.name, run.tail())
        assert summary['failed'] == 0, '%s: %s' % (service.name, summary['first_failures'])
        assert service.problems(targets[service.name]) == []


def test_failed_deploy_after_a_successful_one_in_the_same_play_releases_the_lock(services, engine):
    """Two deploys in one play, each one module run with its own per-call lock: the second fails
    (never ready) and must leave no lock behind, whatever the first one's registered result says."""
    service = services('haproxy')
    service.ensure()
    good = other(service.version)
    variables = service.variables(good)
    variables['zdt_images'] = [variables.pop('blue_green_image'), convergence.APP_IMAGE % 'never-ready']
    variables['blue_green_readiness']['timeout'] = 5
    run = PlaybookRun(service.workdir, 'deploys-in-one-play', DEPLOYS_IN_ONE_PLAY, service.inventory(), variables)
    with BackgroundLoad(service.url) as load:
        load.wait_for_requests()
        rc = run.run(RUN_TIMEOUT)
        load.wait_past(run)
    assert not across_runs(load, run), load.stop()['around']
    load = load.stop()
    service.version = good
    assert rc != 0, 'the deploy of a never-ready version succeeded: %s' % run.tail()
    assert re.search(r'^Service %s: ready %s-candidate failed: Not ready after 5' % (service.name, service.name),
                     run.final_failure()['msg']), run.final_failure()
    assert load['failed'] == 0, load['first_failures']
    containers = convergence.service_containers(engine, service.name)
    assert service.name + '-hotswap-lock' not in containers, (
        'the failed deploy left its lock behind: %s' % sorted(containers))
    assert service.problems(good) == []
