# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A watcher of one service's containers while deploys race: samples the engine every 50 ms
(bounded) and keeps the worst moment - the most containers of the service running at once - and
every candidate it saw, with its image."""

import threading
import time

from harness import convergence

PERIOD = 0.05
MAX_SECONDS = 300.0


class ContainerWatch(object):
    def __init__(self, docker, service):
        self.docker = docker
        self.service = service
        self.most_running = 0
        self.worst = ''
        self.candidates = {}              # container id -> image
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name='zdt-fault-watch')
        self._thread.daemon = True

    def _sample(self):
        containers = convergence.service_containers(self.docker, self.service)
        running = sorted(name for name, c in containers.items() if c.status == 'running')
        if len(running) > self.most_running:
            self.most_running = len(running)
            self.worst = ', '.join(running)
        candidate = containers.get(self.service + '-candidate')
        if candidate is not None:
            self.candidates[candidate.id] = candidate.image

    def _loop(self):
        deadline = time.monotonic() + MAX_SECONDS
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                self._sample()
            except Exception:       # an engine hiccup must not end the watch: next sample
                pass
            self._stop.wait(PERIOD)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(10)
