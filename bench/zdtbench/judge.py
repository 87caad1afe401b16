"""wrk, the second judge of every run: "0 failed" does not rest on our own request engine alone.

Beside the load generator's clients, WRK_CONNECTIONS wrk connections (keep-alive, each waiting
WRK_DELAY_MS between requests: a modest extra load, the same in every run) send requests to the
same URL from the moment the load starts until it stops. wrk counts its socket errors (connect,
read, write, timeout) and non-2xx/3xx answers; they are its failed requests. Its latency
percentiles cover the whole run (steady and swaps), over every answer.

Used as a context manager beside the load generators, with their halt() / collect() surface.
"""

import os
import shutil
import signal
import subprocess
import tempfile

from zdtbench.wrk_check import parse_wrk

WRK_CONNECTIONS = 4
WRK_DELAY_MS = 20
STOP_TIMEOUT = 15.0
LUA = 'function delay()\n   return %d\nend\n' % WRK_DELAY_MS


def command(url, seconds, script):
    """wrk's argv: one thread, WRK_CONNECTIONS paced connections, at most ``seconds`` (it is
    stopped with SIGINT before), latency percentiles."""
    return ['wrk', '-t1', '-c%d' % WRK_CONNECTIONS, '-d%ds' % max(1, int(seconds + 0.999)), '--timeout', '10s',
            '--latency', '-s', script, url]


def verdict(text):
    """{requests, failed, per_s, latency_ms} of wrk's summary, or {error} when it printed none."""
    try:
        parsed = parse_wrk(text)
    except ValueError:
        return dict(error='wrk printed no summary: %s' % (' '.join(text.split())[-300:] or 'nothing'))
    return dict(requests=parsed['requests'], failed=parsed['errors'], per_s=parsed['per_s'],
                latency_ms=parsed['latency_ms'], connections=WRK_CONNECTIONS, delay_ms=WRK_DELAY_MS)


class WrkJudge(object):
    """``with WrkJudge(url, max_seconds) as judge: ... judge.halt(); judge.collect()``."""

    def __init__(self, url, max_seconds):
        self.url = url
        self.max_seconds = max_seconds
        self.proc = None
        self.directory = None
        self.text = None

    def start(self):
        if not shutil.which('wrk'):
            return self
        self.directory = tempfile.mkdtemp(prefix='zdt-bench-wrk-')
        script = os.path.join(self.directory, 'delay.lua')
        with open(script, 'w') as handle:
            handle.write(LUA)
        self.proc = subprocess.Popen(command(self.url, self.max_seconds, script), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        return self

    def halt(self):
        """SIGINT: wrk stops and prints its summary."""
        if self.proc is None or self.text is not None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.text = self.proc.communicate(timeout=STOP_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.text = self.proc.communicate()[0]

    def collect(self):
        if self.proc is None:
            return dict(skipped='wrk is not installed')
        self.halt()
        return verdict(self.text or '')

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.halt()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
