"""make bench: every strategy under the same loads, swaps under load, one report.

    .venv/bin/python bench/run.py            # default plan (see zdtbench/catalog.py)
    .venv/bin/python bench/run.py --quick    # smoke run: one low load, 2 swaps per strategy
    .venv/bin/python bench/run.py --strategies naive-recreate,reuseport-sigquit-migrate-on
    .venv/bin/python bench/run.py --profile kind   # the app as kind as before (default: realistic)

Writes bench/results/<timestamp>/{bench.json,bench.md,<strategy>.png} and a copy in
bench/results/latest/. Needs the Docker engine and the test images (make images). All traffic
goes to 127.0.0.1 (ports 18600-18699); every container is named zdt-bench-* and removed.
No randomness is involved: client counts, swap order and versions are fixed.
"""

import argparse
import datetime
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import loadgen as loadgen_cli  # noqa: E402  (needs the path above)
from zdtbench import budget, catalog, docker_cli, machine, peers, probe, profile, report, session, wrk_check  # noqa: E402
from zdtbench.strategy import BenchEnv  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')
ENV = BenchEnv(port=18600, backend_ports=tuple(range(18610, 18660)), prefix=docker_cli.PREFIX,
               images={'v1': 'zerodowntime-test/app:v1', 'v2': 'zerodowntime-test/app:v2'},
               backends=catalog.DEFAULT_BACKENDS)
READY_PROBE_PORT = 18699
# Rough seconds per swap (rolling_restart: per backend) and per run outside the swaps and their
# pauses, for the estimate printed before the run and for the budget; the default plan on the quiet
# 2-core machine (e33e410): baselines 0.3-0.6 s a swap and 7 s a run, ours 2.7-10.4 s a swap and
# 23-28 s a run (set-up, first deploy, steady windows, tear-down).
SWAP_GUESS = dict(baseline=0.6, plumbing=6.0, blue_green=6.0, rolling_restart=9.0)
RUN_OVERHEAD = dict(baseline=3.0, plumbing=15.0, ours=22.0, peer=22.0)
# The default plan's budget for bench/run.py: 15 minutes for `make bench` minus its setup (images,
# collection build, about 15 s) and a margin for the report and the last swap of a run running
# past its share. Ours share what the other parts leave (zdtbench/budget.py).
DEFAULT_BUDGET = 13.75 * 60.0
REPORT_RESERVE = 40.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true', help='smoke run: one low load, 2 swaps')
    parser.add_argument('--full', action='store_true',
                        help="the collection's strategies under every load with the targets' 20 swaps, and the scale series")
    parser.add_argument('--scale', action='store_true', help='the rolling_restart scale series also without --full')
    parser.add_argument('--strategies', help='comma-separated names (default: the plan\'s own)')
    parser.add_argument('--swaps', type=int, help="swaps per run of the collection's strategies (default: the plan's)")
    parser.add_argument('--results', default=RESULTS, help='where results/<timestamp>/ goes')
    parser.add_argument('--skip-loadgen-check', action='store_true', help='no wrk cross-check')
    parser.add_argument('--think', type=float,
                        help='seconds each client waits after an answer (default %g; 0: stress, the machine saturates)'
                             % catalog.THINK_SECONDS)
    parser.add_argument('--profile', default=profile.DEFAULT, choices=sorted(profile.PROFILES),
                        help='how the app under test behaves (default %(default)s; zdtbench/profile.py)')
    parser.add_argument('--budget', type=float,
                        help="seconds for the whole run; the collection's strategies share what the rest leaves and "
                             "stop starting swaps when their share is used (default plan: %.0f; quick/full: 0 = none)"
                             % DEFAULT_BUDGET)
    return parser.parse_args(argv)


def run_overhead(plan, timing):
    """Seconds of a run besides its swaps (setup, steady windows, tear-down, analysis)."""
    return RUN_OVERHEAD[plan.strategy.kind] + timing.warmup + timing.steady_before + timing.steady_after


def estimate_seconds(runs, timing):
    total = 0.0
    for plan in runs:
        strategy = plan.strategy
        per_swap = SWAP_GUESS[strategy.role or strategy.kind] * (plan.backends if strategy.role == 'rolling_restart' else 1)
        total += run_overhead(plan, timing) + plan.swaps * (per_swap + timing.pause)
    return total


def budget_share(plans, timing, budget_end):
    """Seconds of swaps for plans[0] under the budget (None: no budget, or neither a strategy of
    ours nor a peer)."""
    if budget_end is None or plans[0].strategy.kind not in catalog.BUDGETED_KINDS:
        return None

    def whole(plan):     # baselines and the plumbing check keep their planned swaps
        return None if plan.strategy.kind in catalog.BUDGETED_KINDS else estimate_seconds([plan], timing)

    fixed = budget.fixed_seconds(plans, lambda plan: run_overhead(plan, timing), whole) + REPORT_RESERVE
    return budget.swap_seconds(time.monotonic(), budget_end, fixed,
                               sum(1 for plan in plans if plan.strategy.kind in catalog.BUDGETED_KINDS))


def check_images():
    missing = [image for image in ENV.images.values()
               if docker_cli.docker('image', 'inspect', image, check=False) == '[]']
    if missing:
        sys.exit('missing images %s: run `make images` first' % ', '.join(missing))


def loadgen_check(env, quick):
    def run_ours(url, concurrency, seconds):
        return loadgen_cli.summary(*loadgen_cli.run(url, concurrency, True, seconds))

    check = wrk_check.run_check(env, run_ours, seconds=2.0 if quick else 5.0)
    print('load generator check: %s' % check.get('verdict', check.get('skipped')), flush=True)
    return check


def run_plans(runs, env, timing, ready_reference, records, budget_end=None, later=()):
    """Each strategy's runs inside its session (e.g. its sysctl value), in plan order; their
    records are appended to ``records`` as they complete. Stops starting runs once interrupted.
    budget_end: time.monotonic() by which every run (and ``later`` plans) should be done."""
    index = 0
    while index < len(runs) and not INTERRUPTED:
        strategy = runs[index].strategy
        group = [plan for plan in runs[index:] if plan.strategy is strategy]
        index += len(group)
        with strategy.session():
            for number, plan in enumerate(group):
                if INTERRUPTED:
                    break
                share = budget_share(runs[index - len(group) + number:] + list(later), timing, budget_end)
                print('- %s, %s, %d swaps%s ...' % (strategy.name, catalog.group_label(plan.loads), plan.swaps,
                                                    '' if share is None else ' (budget %.0f s of swaps)' % share),
                      flush=True)
                group_records = session.run_one(plan, env, timing, ready_reference, swap_seconds=share)
                records.extend(group_records)
                for record in group_records:
                    if not record['error']:
                        print('  %s: %d requests, %d failed, swap median %.2f s, steady %s ok/s, swap %s ok/s'
                              % (record['load']['label'], record['requests'], record['failed'],
                                 record['swap_wall_s']['median'] or 0, record['steady']['ok_per_s'],
                                 record['swap']['ok_per_s']), flush=True)


def sweep_containers():
    """Remove any zdt-bench-* container a crashed run may have left."""
    names = docker_cli.docker('ps', '-a', '--filter', 'name=^%s' % docker_cli.PREFIX, '--format', '{{.Names}}',
                              check=False)
    for name in names.split():
        docker_cli.remove(name)


INTERRUPTED = []


def _interrupt(signum, frame):
    """SIGTERM unwinds like Ctrl-C, so sysctls are restored and containers removed. ansible-runner
    turns it into a canceled playbook (an error record), so the flag also stops the next runs."""
    INTERRUPTED.append(signum)
    raise KeyboardInterrupt('signal %d' % signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    check_images()
    only = set(args.strategies.split(',')) if args.strategies else None
    runs, scale, pending = catalog.build_plan(quick=args.quick, full=args.full, only=only, ours_swaps=args.swaps,
                                              scale=args.scale, think=args.think)
    timing = session.QUICK_TIMING if args.quick else session.DEFAULT_TIMING
    env = ENV._replace(profile=profile.get(args.profile))
    mode = 'quick' if args.quick else ('full' if args.full else 'default')
    seconds = args.budget if args.budget is not None else (DEFAULT_BUDGET if mode == 'default' else 0)
    started = datetime.datetime.now(datetime.timezone.utc)
    began = time.monotonic()
    budget_end = began + seconds if seconds else None
    print('bench (%s, app profile %s): %d runs + %d scale runs, about %.0f s without a budget%s; pending: %s' % (
        mode, env.app.name, len(runs), len(scale), estimate_seconds(runs + scale, timing),
        ', time budget %.0f s' % seconds if seconds else '', ', '.join(pending) or 'none'), flush=True)
    document = dict(mode=mode, started=started.isoformat(timespec='seconds'), commit=machine.commit(),
                    machine=machine.machine(), timing=timing._asdict(), pending=pending,
                    randomness='none: fixed client counts, swap order and versions', runs=[], scale=[],
                    ready_reference=dict(median_s=None, runs_s=[]), loadgen_check=None, interrupted=None,
                    budget_s=seconds or None, app_profile=dict(env.app._asdict()))
    try:
        ready, ready_runs = probe.start_to_ready(env.images['v1'], READY_PROBE_PORT, env.prefix + 'ready-probe',
                                                 extra=env.app_args)
        document['ready_reference'] = dict(median_s=ready, runs_s=ready_runs)
        print('app start-to-ready: %.2f s (median of %s)' % (ready, ready_runs), flush=True)
        document['loadgen_check'] = None if args.skip_loadgen_check else loadgen_check(env, args.quick)
        run_plans(runs, env, timing, ready, document['runs'], budget_end, later=scale)
        run_plans(scale, env, timing, ready, document['scale'], budget_end)
    except KeyboardInterrupt as exc:
        INTERRUPTED.append(str(exc))
    finally:
        sweep_containers()
    if INTERRUPTED:
        # The report still covers every run that completed; the others are listed as not run.
        done = len(document['runs']) + len(document['scale'])
        document['interrupted'] = ('interrupted (%s) after %.0f s: %d of %d load records, the runs after it did not '
                                   'start' % (INTERRUPTED[0], time.monotonic() - began, done,
                                              sum(len(plan.loads) for plan in runs + scale)))
        print(document['interrupted'], flush=True)
    infos = dict((plan.strategy.name, plan.strategy.info()) for plan in runs + scale)
    document['strategies'], document['best_baseline'] = report.evaluate_strategies(
        document['runs'], infos, required_swaps=catalog.TARGET_SWAPS)
    document['elapsed_s'] = round(time.monotonic() - began, 1)
    directory = report.write(document, args.results, started.strftime('%Y%m%dT%H%M%SZ'))
    print('\n'.join(['', 'summary:'] + [entry['summary'] for entry in document['strategies'].values()]
                    + ['', 'ours against the peers:'] + (peers.target_lines(document['peers']) or ['no pair ran'])
                    + ['', 'report: %s/bench.md (copy in %s/latest/)' % (directory, args.results)]))


if __name__ == '__main__':
    main()
