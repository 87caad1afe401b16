# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Random kill points (make fault SLOW=1): a seeded draw of a service, one of its tasks and a
moment inside that task. ZDT_FAULT_SEED and ZDT_FAULT_RANDOM_POINTS choose the draw; the same
seed gives the same points. Every point kills: when the task ends before the moment, the kill
lands at the start of the next task (the report says so); a run that ends before any kill fails
the test."""

import os
import random
import time

from harness.killpoints import KillPoint
from tables import defects
from tables.kill_points import DRAIN, ENABLE, REDEPLOY, SWAP

SEED = int(os.environ.get('ZDT_FAULT_SEED', '20240607'))
COUNT = int(os.environ.get('ZDT_FAULT_RANDOM_POINTS', '6'))
LATEST = 2.5        # seconds into the task, at most

# Tasks of a deploy (name, occurrence), the last one of each run left out: a kill there is a
# kill after the deploy. A blue/green deploy is one module run: its one task.
TASKS = {
    'haproxy': [(SWAP, 1)],
    'reuseport': [(SWAP, 1)],
    'rolling': [(DRAIN, 1), (REDEPLOY, 1), (ENABLE, 1), (DRAIN, 2), (REDEPLOY, 2), (ENABLE, 2),
                (DRAIN, 3), (REDEPLOY, 3)],
}


def after(seconds):
    """Reached ``seconds`` after the first look (the driver looks first when the task starts)."""
    started = []

    def reached(service):
        if not started:
            started.append(time.monotonic())
        if time.monotonic() - started[0] >= seconds:
            return '%.2fs into the task' % seconds
        return None
    return reached


def draw(seed=SEED, count=COUNT):
    rng = random.Random(seed)
    points = []
    for index in range(count):
        kind = rng.choice(sorted(TASKS))
        task, occurrence = rng.choice(TASKS[kind])
        delay = round(rng.uniform(0, LATEST), 2)
        point = KillPoint('random-%d-seed%d-%s' % (index, seed, kind), task, occurrence, reached=after(delay),
                          note='%.2fs into it' % delay, early=True)
        point.seq = 1000 + index
        points.append(defects.param((kind, point), point.id))
    return points
