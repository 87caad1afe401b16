# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the fault suite (make fault): the Docker engine, the services of a test module
(ServicePool, removed at the end of the module), no deploy left running after a test, the slow
marker, and the result tables at the end of the run. Every zdt-fault-* container is removed
before and after the whole run by the main process only - with pytest-xdist, a worker must not
remove what another worker is using.

Runs against the installed collection (ANSIBLE_COLLECTIONS_PATH, set by the Makefile), as users
do; the harness imports the request engine from there too."""

import fcntl
import os
import sys

import docker
import pytest

sys.path.insert(0, os.environ['ANSIBLE_COLLECTIONS_PATH'].split(os.pathsep)[0])

from harness import convergence, playbook, report  # noqa: E402  (needs the collection on sys.path)
from harness.pool import ServicePool  # noqa: E402

PREFIX = 'zdt-fault-'
# One run of the suite at a time on a machine: a second one would remove the first one's
# containers (everything named zdt-fault-*) when it starts.
RUN_LOCK = '/tmp/zdt-fault-suite.lock'


def pytest_addoption(parser):
    parser.addoption('--run-slow', action='store_true', default=False,
                     help='also run the random kill points (make fault SLOW=1)')


def _main_process(config):
    return not hasattr(config, 'workerinput')       # not an xdist worker


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: random kill points; run with --run-slow (make fault SLOW=1)')
    if _main_process(config):
        report.start()


def pytest_sessionstart(session):
    if not _main_process(session.config):
        return
    session.config.fault_run_lock = open(RUN_LOCK, 'w')
    try:
        fcntl.flock(session.config.fault_run_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pytest.exit('another run of the fault suite holds %s; not touching its zdt-fault-* containers' % RUN_LOCK,
                    returncode=3)
    remove_fault_containers(docker.from_env())


def pytest_sessionfinish(session):
    if _main_process(session.config):
        remove_fault_containers(docker.from_env())


def pytest_collection_modifyitems(config, items):
    if config.getoption('--run-slow'):
        return
    skip = pytest.mark.skip(reason='random kill points: make fault SLOW=1')
    for item in items:
        if 'slow' in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    report.terminal_summary(terminalreporter)


def remove_fault_containers(client):
    for name, seen in convergence.listing(client).items():
        if name.startswith(PREFIX):
            convergence.remove(client, seen.id)


@pytest.fixture(scope='session')
def engine():
    return docker.from_env()


@pytest.fixture(autouse=True)
def no_deploy_left_running():
    """A test that fails half way must not leave an ansible-playbook run behind."""
    yield
    playbook.kill_leftovers()


@pytest.fixture(scope='session')
def pools(engine, tmp_path_factory):
    """ServicePools by test-module TAG, each made on first use and closed at the end of the session
    (make fault runs the test files in two pytest-xdist workers, one file wholly in one worker)."""
    made = {}
    yield lambda tag, base: made.setdefault(tag, ServicePool(engine, tmp_path_factory.mktemp(tag), base, tag))
    for pool in made.values():
        pool.close()


@pytest.fixture
def services(pools, request):
    """``services(kind)``: a deployed service of the test module's own port block (PORT_BASE) and
    name tag (TAG), made on first use and removed with its front at the end of the session."""
    return pools(request.module.TAG, request.module.PORT_BASE).get
