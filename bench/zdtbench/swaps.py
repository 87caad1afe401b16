"""What a strategy reports about one swap: when it ran, between which versions, in which phases.

Baselines time their own phases with PhaseClock; playbook strategies turn task events into
phases (zdtbench.playbook). Times are time.monotonic() values, like the samples'.
"""

import collections
import contextlib
import time

Phase = collections.namedtuple('Phase', 'name start end')
# group: for a swap that is one member of a larger one (a backend of a rolling restart), the
# index of that larger swap; None otherwise.
Swap = collections.namedtuple('Swap', 'index start end old_version new_version phases group', defaults=(None,))


class PhaseClock(object):
    """Records named phases, one after the other:  with clock.phase('start new'): ..."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.phases = []

    @contextlib.contextmanager
    def phase(self, name):
        start = self.clock()
        try:
            yield
        finally:
            self.phases.append(Phase(name, start, self.clock()))

    def swap(self, index, old_version, new_version):
        """The Swap covering every recorded phase."""
        return Swap(index, self.phases[0].start, self.phases[-1].end, old_version, new_version,
                    list(self.phases))
