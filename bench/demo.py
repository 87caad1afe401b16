"""make demo: playbooks/demo.yml under load, then a report and a PNG timeline.

    .venv/bin/python bench/demo.py --out .tmp/demo [--keep]

Runs the demo playbook with ansible-runner (its output is shown as it runs). Once the playbook
has the stack up (HAProxy front, the service on :18500, three backends on :18501), load
generators (the benchmark's worker processes running the collection's request engine) send
requests to both sites until the playbook's steps are done: three blue/green swaps and a
rolling restart of the three backends. The handshake is files in <out>/load/ (see
playbooks/demo/tasks/load.yml). Then: the report on stdout and in <out>/report.txt, every
number in <out>/report.json, the timeline in <out>/timeline.png.

Exit code 0 only when the playbook succeeded and no request failed. All traffic goes to
127.0.0.1:18500-18599; containers are named zdt-demo-* and removed unless --keep.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from zdtbench import collection, demo, demo_plot  # noqa: E402  (needs the path above)
from zdtbench.loadgen import LoadGenerator  # noqa: E402
from zdtbench.playbook import _runner_env, failure_message  # noqa: E402

PLAYBOOK = os.path.join(collection.REPO_ROOT, 'playbooks', 'demo.yml')
SITES = (demo.Site('blue/green', 'http://127.0.0.1:18500/', 4, True),
         demo.Site('3 backends', 'http://127.0.0.1:18501/', 4, False))
WARMUP = 1.0            # seconds of load before the "before" window starts
MAX_LOAD_SECONDS = 600  # the workers stop by themselves after this, whatever happens here
STACK_TIMEOUT = 300     # seconds the playbook may take to bring the stack up


def _wait_for(path, thread, timeout):
    """True once ``path`` exists; False when the playbook ended (or timed out) first."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if not thread.is_alive() or time.monotonic() > deadline:
            return os.path.exists(path)
        time.sleep(0.05)
    return True


def _touch(path):
    with open(path, 'a'):
        pass


def run_under_load(out, keep, log=print):
    """Run the playbook, the load around its steps. Returns (events, status, samples_by_site,
    begin, end); begin/end are None when the load never started."""
    import ansible_runner           # in tests/requirements.txt, like the benchmark's playbooks
    handshake = os.path.join(out, 'load')
    shutil.rmtree(handshake, ignore_errors=True)
    os.makedirs(handshake)
    workdir = tempfile.mkdtemp(prefix='zdt-demo-runner-')
    generators = []
    samples_by_site = {}
    begin = end = None
    try:
        thread, runner = ansible_runner.run_async(
            private_data_dir=workdir, playbook=PLAYBOOK, quiet=False,
            inventory='localhost ansible_connection=local', envvars=_runner_env(),
            extravars=dict(demo_load_dir=handshake, demo_keep_running=bool(keep)))
        if _wait_for(os.path.join(handshake, 'stack-up'), thread, STACK_TIMEOUT):
            for site in SITES:
                generators.append((site, LoadGenerator(site.url, site.concurrency, site.keepalive,
                                                       processes=1, max_seconds=MAX_LOAD_SECONDS).start()))
            begin = max(generator.started_at for _site, generator in generators)
            _touch(os.path.join(handshake, 'load-running'))
            log('\n---- load running: %s ----\n' % ', '.join(site.url for site in SITES))
            _wait_for(os.path.join(handshake, 'steps-done'), thread, MAX_LOAD_SECONDS)
            end = time.monotonic()
            for site, generator in generators:
                samples_by_site[site.name] = generator.stop()
            generators = []
            _touch(os.path.join(handshake, 'load-stopped'))
        thread.join()
        return list(runner.events), runner.status, samples_by_site, begin, end
    finally:
        for _site, generator in generators:
            generator.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def build_report(events, status, samples_by_site, begin, end, offset):
    """analyze()'s result with ``error`` set when the playbook failed or the load never ran."""
    steps, unfinished = demo.steps_from_events(events, lambda epoch: epoch - offset)
    if begin is None:
        report = dict(requests=0, ok=0, failed=0, errors={}, sites={}, swaps=[], kinds={})
    else:
        report = demo.analyze(samples_by_site, steps, begin, end, WARMUP)
    report['error'] = None
    if status != 'successful':
        report['error'] = 'playbook %s: %s' % (status, failure_message(events) or
                                               'no failed task reported (see its [ERROR] lines above)')
        if unfinished:
            report['error'] += ' (during step "%s")' % unfinished
    elif begin is None:
        report['error'] = 'the load never started (the playbook did not signal that the stack was up)'
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description='make demo: playbooks/demo.yml under load, then a report and a PNG timeline')
    parser.add_argument('--out', default=os.path.join(collection.REPO_ROOT, '.tmp', 'demo'),
                        help='directory for report.txt, report.json and timeline.png')
    parser.add_argument('--keep', action='store_true', help='leave the stack running')
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    started = time.monotonic()
    offset = time.time() - time.monotonic()     # task events are epoch times; samples monotonic
    report = build_report(*run_under_load(out, args.keep), offset=offset)
    report['wall_s'] = round(time.monotonic() - started, 1)
    png = demo_plot.plot_demo(report, 'make demo: 3 blue/green swaps, rolling restart of 3 backends',
                              os.path.join(out, 'timeline.png'))
    data = os.path.join(out, 'report.json')
    with open(data, 'w') as handle:
        json.dump(dict(report, sites_config=[site._asdict() for site in SITES]), handle, indent=1)
    lines = demo.render(report, SITES, png, data)
    with open(os.path.join(out, 'report.txt'), 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    if args.keep:
        print('kept running (KEEP=1): HAProxy zdt-demo-haproxy on :18500/:18501, service zdt-demo-app, '
              'backends zdt-demo-b0..b2; run `make demo` again or remove them with docker rm -f')
    return demo.verdict(report)


if __name__ == '__main__':
    sys.exit(main())
