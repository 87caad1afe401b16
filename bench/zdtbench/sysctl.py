"""Set net.ipv4.tcp_migrate_req for a while and put the original value back.

The value belongs to the host's network namespace (every container here uses the host network),
so it is shared with anything else running on the machine: it is changed only around the runs
that need it and restored in a finally block.
"""

import contextlib
import os

MIGRATE_REQ_PATH = '/proc/sys/net/ipv4/tcp_migrate_req'


def available(path=MIGRATE_REQ_PATH):
    return os.path.exists(path)


def read(path=MIGRATE_REQ_PATH):
    with open(path) as handle:
        return handle.read().strip()


def write(value, path=MIGRATE_REQ_PATH):
    with open(path, 'w') as handle:
        handle.write('%s\n' % value)


def enforce(value, path=MIGRATE_REQ_PATH):
    """Write ``value`` again if something else changed it (another process on the machine may
    set the same sysctl); returns the value found when it had to, else None."""
    found = read(path)
    if found == str(value):
        return None
    write(value, path)
    return found


@contextlib.contextmanager
def temporarily(value, path=MIGRATE_REQ_PATH, log=print):
    """Set the sysctl at ``path`` to ``value`` inside the block; restore the original after."""
    original = read(path)
    if original != str(value):
        log('sysctl net.ipv4.tcp_migrate_req: %s -> %s (restored afterwards)' % (original, value))
        write(value, path)
    try:
        yield original
    finally:
        if read(path) != original:
            write(original, path)
            log('sysctl net.ipv4.tcp_migrate_req restored to %s' % original)
