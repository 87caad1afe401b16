# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""A per-service lock that lives on the Docker engine itself (no controller state).

The lock is a container that is created and never started: ``<service>-hotswap-lock``.
Container names are unique and creation is atomic in the engine, so exactly one of two
concurrent runs creates it; the other waits (bounded by a deadline) and then fails naming the
holder. The labels record the holder and how long the lock is valid. A lock is taken over when

- it has expired: engine time (``docker info``) is past its creation time (engine time too)
  plus its ``ttl`` label, so the clocks of different controllers never matter; or
- its holder process is gone: the holder ran on this machine (same boot id and PID namespace)
  and that PID no longer runs the same process (start time compared, so a reused PID is not
  mistaken for the holder).

Takeover removes the stale lock *by container ID*, so two waiters taking over at once cannot
remove each other's fresh lock; release is by ID as well.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import getpass
import os
import re
import socket
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import status_code
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import Poll

LABEL_LOCK = 'zerodowntime.lock'
LABEL_HOLDER = 'zerodowntime.lock.holder'
LABEL_TTL = 'zerodowntime.lock.ttl'
LABEL_BOOT_ID = 'zerodowntime.lock.boot-id'
LABEL_PID_NS = 'zerodowntime.lock.pid-ns'
LABEL_PID = 'zerodowntime.lock.pid'
LABEL_PID_START = 'zerodowntime.lock.pid-start'

_TIMESTAMP = re.compile(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$')


class LockTimeout(Exception):
    """Another run holds the lock and did not release it in time."""


def lock_name(service):
    return '%s-hotswap-lock' % service


def parse_timestamp(text):
    """Seconds since the epoch of an engine timestamp (RFC 3339 with up to nanoseconds)."""
    match = _TIMESTAMP.match((text or '').strip())
    if not match:
        raise ValueError('not an RFC 3339 timestamp: %r' % text)
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if match.group(7):
        seconds += float('0.' + match.group(7))
    zone = match.group(8)
    if zone and zone != 'Z':
        sign = 1 if zone[0] == '+' else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (OSError, IOError):
        return ''


def process_start(pid, proc='/proc'):
    """Start time of a process in clock ticks since boot ('' when unknown or gone)."""
    raw = _read('%s/%d/stat' % (proc, pid))
    fields = raw.rpartition(')')[2].split()
    # field 22 of stat is starttime; fields[0] here is field 3 (state)
    return fields[19] if len(fields) > 19 else ''


def own_identity(proc='/proc', pid=None):
    """Labels that identify this process (or ``pid``), for the lock's holder."""
    pid = os.getpid() if pid is None else pid
    try:
        user = getpass.getuser()
    except Exception:
        user = str(os.getuid())
    try:
        pid_ns = os.readlink('%s/self/ns/pid' % proc)
    except OSError:
        pid_ns = ''
    return {
        LABEL_HOLDER: '%s@%s pid %d' % (user, socket.gethostname(), pid),
        LABEL_BOOT_ID: _read('%s/sys/kernel/random/boot_id' % proc),
        LABEL_PID_NS: pid_ns,
        LABEL_PID: str(pid),
        LABEL_PID_START: process_start(pid, proc),
    }


def holder_gone(labels, mine, proc='/proc'):
    """True when the lock's holder ran on this machine, in this PID namespace, and is gone."""
    if not labels.get(LABEL_BOOT_ID) or not labels.get(LABEL_PID_NS):
        return False
    if labels.get(LABEL_BOOT_ID) != mine.get(LABEL_BOOT_ID) or labels.get(LABEL_PID_NS) != mine.get(LABEL_PID_NS):
        return False
    try:
        pid = int(labels.get(LABEL_PID))
    except (TypeError, ValueError):
        return False
    start = process_start(pid, proc)
    return not start or start != labels.get(LABEL_PID_START)


class ServiceLock(object):
    """acquire() / release() of the per-service lock. ``engine``: _hotswap_engine.DockerEngine."""

    def __init__(self, engine, service, image, ttl, timeout, clock=time.monotonic, sleep=time.sleep,
                 poll=0.5, identity=None, proc='/proc'):
        self.engine = engine
        self.service = service
        self.name = lock_name(service)
        self.image = image
        self.ttl = int(ttl)
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.poll = poll
        self.proc = proc
        self.identity = own_identity(proc) if identity is None else identity
        self.id = None

    def _labels(self):
        labels = {LABEL_LOCK: self.service, LABEL_TTL: str(self.ttl)}
        labels.update(self.identity)
        return labels

    def _engine_now(self):
        return parse_timestamp(self.engine.engine_time())

    def _describe(self, info, now):
        labels = (info.get('Config') or {}).get('Labels') or {}
        created = parse_timestamp(info['Created'])
        try:
            expires = created + int(labels.get(LABEL_TTL))
        except (TypeError, ValueError):
            expires = None
        return labels, created, expires

    def acquire(self):
        """Take the lock; returns a dict (waited, took_over). Raises LockTimeout."""
        took_over = []
        waited = Poll(self.timeout, self.poll, self.clock, self.sleep).until(
            lambda: self._try(took_over), lambda holder: holder is None)
        if waited.ok:
            return dict(name=self.name, id=self.id, waited=round(waited.elapsed, 3),
                        took_over=took_over, expires_in=self.ttl)
        holder, held_for, expires_in = waited.value
        raise LockTimeout(
            'Timed out after %gs waiting for the deploy lock of service %s: container %s is '
            'held by %s since %.0fs (it expires in %.0fs unless released; lock_ttl). '
            'Another deploy of this service is running, or was killed (remove %s once you '
            'are sure). Nothing was changed.'
            % (self.timeout, self.service, self.name, holder, held_for, expires_in, self.name))

    def _try(self, took_over):
        """Create the lock container: None once it is ours, else (holder, held for, expires in)
        of the valid lock in the way. A lock released meanwhile is tried again at once; an expired
        one, or one whose holder process is gone, is taken over (noted in ``took_over``)."""
        while True:
            try:
                self.id = self.engine.create_lock_container(self.image, self.name, self._labels())
                return None
            except Exception as exc:
                if status_code(exc) != 409:
                    raise
            try:
                info = self.engine.inspect_raw(self.name)
            except Exception as exc:
                if status_code(exc) == 404:
                    continue          # released in between: try again at once
                raise
            now = self._engine_now()
            labels, created, expires = self._describe(info, now)
            holder = labels.get(LABEL_HOLDER) or 'an unknown holder (no %s label)' % LABEL_HOLDER
            reason = None
            if expires is None:
                reason = 'it has no valid %s label' % LABEL_TTL
            elif now >= expires:
                reason = 'it expired %.0fs ago' % (now - expires)
            elif holder_gone(labels, self.identity, self.proc):
                reason = 'its holder process is gone'
            if not reason:
                return holder, now - created, expires - now
            self.engine.remove_lock_container(info['Id'])
            took_over.append('%s (%s)' % (holder, reason))

    def release(self):
        """Remove our lock (by ID: a lock taken over after our ttl is not ours to remove)."""
        if self.id is None:
            return
        try:
            self.engine.remove_lock_container(self.id)
        finally:
            self.id = None
