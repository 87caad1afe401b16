"""What every strategy offers the benchmark, and the environment it runs in.

The session calls, per strategy: session() around all its runs (e.g. a sysctl), and per load:
setup(env) → run_swaps(specs, pause, seconds) under load → teardown(). setup leaves the first version
answering on env.url; each swap replaces the version that answers there.
"""

import collections
import contextlib
import time

from zdtbench import profile as app_profile

SwapSpec = collections.namedtuple('SwapSpec', 'index old_version new_version image')


_ENV_FIELDS = 'port backend_ports images prefix backends profile'


class BenchEnv(collections.namedtuple('BenchEnv', _ENV_FIELDS, defaults=(None,))):
    """port: where the load goes (127.0.0.1); backend_ports: free ports a strategy may use for
    backends and balancer sockets; images: version -> image; prefix: container name prefix;
    backends: how many backends a strategy with several deploys (rolling_restart); profile: how
    the app behaves (zdtbench.profile.AppProfile; None: the kind profile)."""

    @property
    def app(self):
        return self.profile or app_profile.PROFILES['kind']

    @property
    def app_args(self):
        """docker run flags of the app profile, for the strategies that start the app by hand."""
        return app_profile.docker_run_args(self.app)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/' % self.port

    def swap_specs(self, count):
        """``count`` swaps alternating between the first two versions, starting from the first."""
        versions = sorted(self.images)[:2]
        return [SwapSpec(index, versions[index % 2], versions[(index + 1) % 2],
                         self.images[versions[(index + 1) % 2]]) for index in range(count)]


class StrategyError(RuntimeError):
    """A strategy could not set up, swap or tear down; the text says which step and why."""


class Strategy(object):
    """Base of every strategy. kind: 'baseline' | 'ours' | 'peer' | 'plumbing'; role: the
    collection role it measures (ours), the role whose swaps a peer's are counted like, or None.
    hand_script: the name of the baseline doing the same by hand (for the wall-time target), or
    None. mixed_window_target: whether 'mixed-version window <= longest in-flight request' is a
    target (blue/green)."""

    kind = 'baseline'
    role = None
    hand_script = None
    mixed_window_target = True
    description = ''

    def __init__(self, name):
        self.name = name
        self.notes = []

    def take_notes(self):
        """What the strategy noticed during the last run that a reader should know (and forget it)."""
        notes, self.notes = self.notes, []
        return notes

    def pending_reason(self):
        """Why this strategy cannot run yet (e.g. its role does not exist), or None."""
        return None

    def session(self):
        """Context around all the runs of this strategy (default: nothing)."""
        return contextlib.nullcontext()

    def setup(self, env):
        raise NotImplementedError

    def swap(self, spec):
        """One swap; returns its Swap (zdtbench.swaps)."""
        raise NotImplementedError

    def run_swaps(self, specs, pause, seconds=None):
        """Every swap, with ``pause`` seconds of steady load after each; returns the Swaps. With
        ``seconds``, no swap starts after that many seconds (the first always does)."""
        done = []
        began = time.monotonic()
        for spec in specs:
            if done and seconds is not None and time.monotonic() - began >= seconds:
                break
            done.append(self.swap(spec))
            time.sleep(pause)
        return done

    def teardown(self):
        raise NotImplementedError

    def info(self):
        return dict(name=self.name, kind=self.kind, description=self.description,
                    hand_script=self.hand_script, mixed_window_target=self.mixed_window_target)
