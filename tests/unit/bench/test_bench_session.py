# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run with a fake load generator and fake strategies: records, broken runs, teardown."""

from zdtbench import catalog, session
from zdtbench.strategy import BenchEnv, Strategy, StrategyError

from ansible_collections.zerodowntime.deploy.tests.unit.bench.bench_helpers import failed, ok, swap

NO_WAIT = session.Timing(warmup=0.0, steady_before=0.0, pause=0.0, steady_after=0.0, settle=0.0)
ENV = BenchEnv(18600, (18610,), {'v1': 'app:v1', 'v2': 'app:v2'}, 'zdt-bench-', 3)


class FakeGenerator(object):
    samples = [ok(0.1), failed(0.2, 'reset'), ok(0.3, version='v2')]
    log = None          # a list: every halt() and collect() in order, with the load's concurrency

    def __init__(self, url=None, concurrency=None, keepalive=None, **kwargs):
        self.started_at = self.stopped_at = None
        self.concurrency = concurrency

    def __enter__(self):
        self.started_at = 0.0
        return self

    def __exit__(self, *exc):
        return False

    def halt(self):
        self.stopped_at = 1.0
        if self.log is not None:
            self.log.append(('halt', self.concurrency))

    def collect(self):
        if self.log is not None:
            self.log.append(('collect', self.concurrency))
        return list(self.samples)


class FakeJudge(FakeGenerator):
    """wrk beside the loads (zdtbench.judge.WrkJudge): halted with them, its verdict read last."""
    verdict = dict(requests=50, failed=2, per_s=25.0, latency_ms=dict(p50=1.0, p99=3.0, max=9.0))

    def __init__(self, url, max_seconds):
        super(FakeJudge, self).__init__(url, 'wrk')

    def collect(self):
        if self.log is not None:
            self.log.append(('collect', self.concurrency))
        return dict(self.verdict)


class FakeStrategy(Strategy):
    def __init__(self, fail_at=None):
        super(FakeStrategy, self).__init__('fake')
        self.fail_at = fail_at
        self.calls = []

    def setup(self, env):
        self.calls.append('setup')
        if self.fail_at == 'setup':
            raise StrategyError('setup broke')

    def run_swaps(self, specs, pause, seconds=None):
        self.calls.append('swaps')
        if self.fail_at == 'swaps':
            raise StrategyError('drain timed out')
        return [swap(0, 0.15, 0.25)]

    def teardown(self):
        self.calls.append('teardown')
        self.notes.append('a note')


def run(strategy, monkeypatch):
    monkeypatch.setattr(session, 'LoadGenerator', FakeGenerator)
    monkeypatch.setattr(session, 'WrkJudge', FakeJudge)
    plan = catalog.RunPlan(strategy, (catalog.Load(4, True),), 1, 3)
    records = session.run_one(plan, ENV, NO_WAIT, ready_reference=0.05, log=lambda line: None)
    assert len(records) == 1
    return records[0]


def test_a_run_is_analysed(monkeypatch):
    strategy = FakeStrategy()
    record = run(strategy, monkeypatch)
    assert strategy.calls == ['setup', 'swaps', 'teardown']
    assert record['error'] is None and record['notes'] == ['a note']
    assert (record['requests'], record['failed'], len(record['swaps'])) == (3, 1, 1)
    assert record['load']['label'] == 'c=4 keep-alive, no think time' and record['concurrent_with'] == []
    assert record['wrk'] == FakeJudge.verdict


def test_loads_sent_together_share_the_swaps_and_are_counted_apart(monkeypatch):
    made = []

    stops = []

    class Generator(FakeGenerator):
        log = stops

        def __init__(self, url, concurrency, keepalive, **kwargs):
            super(Generator, self).__init__(url, concurrency, keepalive)
            self.samples = [ok(0.1)] if keepalive else [ok(0.1), failed(0.2, 'refused')]
            made.append((concurrency, keepalive, kwargs.get('pause')))

    class Judge(FakeJudge):
        log = stops

    monkeypatch.setattr(session, 'LoadGenerator', Generator)
    monkeypatch.setattr(session, 'WrkJudge', Judge)
    strategy = FakeStrategy()
    plan = catalog.RunPlan(strategy, (catalog.Load(256, True, 0.2), catalog.Load(128, False, 0.2)), 1, 3)
    keepalive, close = session.run_one(plan, ENV, NO_WAIT, log=lambda line: None)
    assert made == [(256, True, 0.2), (128, False, 0.2)] and strategy.calls == ['setup', 'swaps', 'teardown']
    # Every load and wrk stop before any load's samples are read: none runs on alone meanwhile.
    assert stops == [('halt', 256), ('halt', 128), ('halt', 'wrk'), ('collect', 256), ('collect', 128),
                     ('collect', 'wrk')]
    # wrk saw both loads' swaps: its one verdict is in each load's record.
    assert keepalive['wrk'] == close['wrk'] == FakeJudge.verdict
    assert (keepalive['requests'], keepalive['failed'], close['requests'], close['failed']) == (1, 0, 2, 1)
    assert keepalive['load']['think_s'] == 0.2
    assert keepalive['concurrent_with'] == ['c=128 close, think 0.2 s']
    assert close['concurrent_with'] == ['c=256 keep-alive, think 0.2 s']
    assert [(one['start_s'], one['end_s']) for one in keepalive['swaps'] + close['swaps']] == [(0.15, 0.25)] * 2
    assert (keepalive['swaps'][0]['failed'], close['swaps'][0]['failed']) == (0, 1)     # each load's own
    assert keepalive['notes'] == close['notes'] == ['a note']


def test_failed_swaps_keep_the_counts_of_the_load(monkeypatch):
    strategy = FakeStrategy(fail_at='swaps')
    record = run(strategy, monkeypatch)
    assert strategy.calls == ['setup', 'swaps', 'teardown']
    assert record['error'] == 'StrategyError: drain timed out'
    assert (record['requests'], record['failed'], record['errors']['reset']) == (3, 1, 1)
    assert record['wrk'] == FakeJudge.verdict
    assert 'swaps' not in record


def test_failed_setup_is_torn_down_and_has_no_counts(monkeypatch):
    strategy = FakeStrategy(fail_at='setup')
    record = run(strategy, monkeypatch)
    assert strategy.calls == ['setup', 'teardown']
    assert record['error'] == 'StrategyError: setup broke' and 'requests' not in record


def test_the_load_outlasts_a_rolling_restart_of_every_backend():
    rolling = FakeStrategy()
    rolling.role = 'rolling_restart'
    timing = session.Timing(warmup=1.0, steady_before=1.0, pause=0.5, steady_after=1.0, settle=0.5)
    assert session.load_limit(catalog.RunPlan(rolling, (catalog.Load(64, True),), 1, 12), timing) == (
        3.0 + 12 * session.SWAP_BUDGET + 0.5)
    assert session.load_limit(catalog.RunPlan(FakeStrategy(), (catalog.Load(64, True),), 2, 12), timing) == (
        3.0 + 2 * (session.SWAP_BUDGET + 0.5))
