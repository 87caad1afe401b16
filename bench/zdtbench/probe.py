"""Small polls with the request engine: wait until a given version answers, measure start-to-ready."""

import statistics
import time

from zdtbench import docker_cli
from zdtbench.collection import traffic

POLL_INTERVAL = 0.01


class NotAnswering(RuntimeError):
    """The expected version did not answer before the deadline; the text has the last result."""


def wait_for_version(url, version=None, timeout=30.0, interval=POLL_INTERVAL):
    """Poll ``url`` with fresh connections until it answers 200 (from ``version`` when given).

    A fresh connection per poll matters with SO_REUSEPORT: the kernel spreads new connections
    over every listener of the port, so polls reach the new process as soon as it listens.
    Returns the time.monotonic() of the answering request's start.
    """
    target = traffic.Target(url)
    client = traffic.Client(timeout=1.0, keepalive=False)
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = client.request(target)
        if last.outcome == traffic.OK and (version is None or last.version == version):
            return last.start
        time.sleep(interval)
    raise NotAnswering('%s: %s did not answer within %gs; last: %s %s version=%s'
                       % (url, version or 'the app', timeout, last and last.outcome,
                          last and (last.error or last.status), last and last.version))


def start_to_ready(image, port, name, runs=3, url_path='/health', extra=()):
    """The app's own start-to-ready time: `docker run` until /health answers 200, median of runs.
    extra: more docker run flags (the app profile's)."""
    times = []
    for _run in range(runs):
        began = time.monotonic()
        docker_cli.run_app(name, image, port, extra=extra)
        try:
            times.append(wait_for_version('http://127.0.0.1:%d%s' % (port, url_path)) - began)
        finally:
            docker_cli.remove(name)
    return round(statistics.median(times), 3), [round(value, 3) for value in times]
