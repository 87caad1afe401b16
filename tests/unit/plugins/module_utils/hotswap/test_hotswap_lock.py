# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The per-service lock on the engine: atomic create, wait with a deadline, expiry in engine
time, takeover of a dead holder, release by ID. Fake engine and fake clock: nothing sleeps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _lock as lk

from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_engine import DockerEngine

from fake_engine import FakeAPI, FakeClient

ME = {lk.LABEL_HOLDER: 'me@host pid 100', lk.LABEL_BOOT_ID: 'boot-1', lk.LABEL_PID_NS: 'pid:[1]',
      lk.LABEL_PID: '100', lk.LABEL_PID_START: '555'}


class Clock(object):
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def held_by(api, holder=None, ttl='1800', created='2024-05-01T12:00:00Z'):
    labels = {lk.LABEL_LOCK: 'web', lk.LABEL_TTL: ttl}
    labels.update(holder or {lk.LABEL_HOLDER: 'ops@deploy1 pid 42', lk.LABEL_BOOT_ID: 'boot-other',
                             lk.LABEL_PID_NS: 'pid:[9]', lk.LABEL_PID: '42', lk.LABEL_PID_START: '1'})
    api.created_time = created
    return api.add('web-hotswap-lock', labels=labels, status='created')


def lock(api, clock, timeout=10, proc='/proc'):
    return lk.ServiceLock(DockerEngine(FakeClient(api)), 'web', 'sha256:v1', ttl=600, timeout=timeout, clock=clock, sleep=clock.sleep,
                          identity=dict(ME), proc=proc)


def test_free_lock_is_taken_and_released_by_id():
    api = FakeAPI(images={'app:v1': 'sha256:v1'})
    clock = Clock()
    held = lock(api, clock)
    info = held.acquire()
    assert info['waited'] == 0.0 and info['took_over'] == []
    container = api.by_name('web-hotswap-lock')
    assert container['Config']['Labels'][lk.LABEL_HOLDER] == 'me@host pid 100'
    assert container['Config']['Labels'][lk.LABEL_TTL] == '600'
    assert container['State']['Status'] == 'created'          # never started
    held.release()
    assert api.by_name('web-hotswap-lock') is None
    assert [c for c in api.calls if c[0] == 'remove_container'][0][1] == (info['id'],)


def test_live_holder_makes_the_second_run_wait_then_fail_naming_it():
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, system_time='2024-05-01T12:00:30Z')
    held_by(api)
    clock = Clock()
    with pytest.raises(lk.LockTimeout) as err:
        lock(api, clock, timeout=2).acquire()
    assert str(err.value) == (
        'Timed out after 2s waiting for the deploy lock of service web: container web-hotswap-lock is held '
        'by ops@deploy1 pid 42 since 30s (it expires in 1770s unless released; lock_ttl). Another deploy '
        'of this service is running, or was killed (remove web-hotswap-lock once you are sure). '
        'Nothing was changed.')
    assert sum(clock.sleeps) == 2.0 and all(s <= 0.5 for s in clock.sleeps)


def test_lock_released_while_waiting_is_taken():
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, system_time='2024-05-01T12:00:30Z')
    other = held_by(api)
    clock = Clock()
    held = lock(api, clock)
    original_sleep = clock.sleep

    def sleep_then_release(seconds):
        original_sleep(seconds)
        api.store.pop(other, None)
    held.sleep = sleep_then_release
    info = held.acquire()
    assert info['waited'] == 0.5 and info['took_over'] == []


def test_expired_lock_is_taken_over_in_engine_time():
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, system_time='2024-05-01T13:00:00.25+01:00')
    stale = held_by(api, ttl='60', created='2024-05-01T11:58:00.123456789Z')
    info = lock(api, Clock()).acquire()
    assert info['took_over'] == ['ops@deploy1 pid 42 (it expired 60s ago)']
    assert ('remove_container', (stale,), dict(v=False, force=True)) in api.calls
    assert api.by_name('web-hotswap-lock')['Id'] == info['id'] != stale


def test_lock_of_a_dead_process_on_this_machine_is_taken_over(tmp_path):
    proc = tmp_path
    (proc / '42').mkdir()
    (proc / '42' / 'stat').write_text('42 (python) S ' + ' '.join(['0'] * 18) + ' 777 0 0\n')
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, system_time='2024-05-01T12:00:30Z')
    mine = dict(ME, **{lk.LABEL_PID: '42', lk.LABEL_PID_START: '1', lk.LABEL_HOLDER: 'ops pid 42'})
    held_by(api, holder=mine)
    # pid 42 exists but started at 777, not 1: a reused pid, not the holder
    info = lock(api, Clock(), proc=str(proc)).acquire()
    assert info['took_over'] == ['ops pid 42 (its holder process is gone)']


def test_lock_of_a_live_process_on_this_machine_is_respected(tmp_path):
    (tmp_path / '42').mkdir()
    (tmp_path / '42' / 'stat').write_text('42 (python) S ' + ' '.join(['0'] * 18) + ' 777 0 0\n')
    mine = dict(ME, **{lk.LABEL_PID: '42', lk.LABEL_PID_START: '777'})
    assert not lk.holder_gone(mine, ME, proc=str(tmp_path))
    assert lk.holder_gone(dict(mine, **{lk.LABEL_PID: '43'}), ME, proc=str(tmp_path))


def test_holder_in_another_pid_namespace_or_machine_is_never_judged_gone(tmp_path):
    base = dict(ME, **{lk.LABEL_PID: '43'})
    assert not lk.holder_gone(dict(base, **{lk.LABEL_PID_NS: 'pid:[2]'}), ME, proc=str(tmp_path))
    assert not lk.holder_gone(dict(base, **{lk.LABEL_BOOT_ID: 'boot-2'}), ME, proc=str(tmp_path))
    assert not lk.holder_gone({lk.LABEL_PID: '43'}, ME, proc=str(tmp_path))


def test_timeout_zero_fails_at_once():
    api = FakeAPI(images={'app:v1': 'sha256:v1'}, system_time='2024-05-01T12:00:01Z')
    held_by(api)
    clock = Clock()
    with pytest.raises(lk.LockTimeout):
        lock(api, clock, timeout=0).acquire()
    assert clock.sleeps == []


def test_release_of_a_lock_taken_over_is_harmless():
    api = FakeAPI(images={'app:v1': 'sha256:v1'})
    held = lock(api, Clock())
    held.acquire()
    api.store.clear()
    held.release()
    assert held.id is None


@pytest.mark.parametrize('text, epoch', [
    ('2024-05-01T12:00:00Z', 1714564800.0),
    ('2024-05-01T12:00:00.5Z', 1714564800.5),
    ('2024-05-01T14:00:00.123456789+02:00', 1714564800.123456789),
])
def test_engine_timestamps(text, epoch):
    assert lk.parse_timestamp(text) == pytest.approx(epoch)


def test_own_identity_reads_this_process():
    identity = lk.own_identity()
    assert identity[lk.LABEL_PID] == str(os.getpid())
    if os.path.exists('/proc/self/stat'):
        assert identity[lk.LABEL_PID_START] == lk.process_start(os.getpid())
        assert not lk.holder_gone(identity, identity)
