# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The suite's result tables - one row per kill point, per rollback path - written to
tests/fault/output/<table>.{json,md} and printed at the end of the pytest run.

Each pytest process (xdist workers too) keeps its rows in <table>.<worker>.json; the process that
prints the summary merges them, in table order (``seq``)."""

import glob
import json
import os

OUTPUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'output')


class Table(object):
    def __init__(self, name, title, columns):
        self.name = name
        self.title = title
        self.columns = columns
        self.rows = []

    def _part(self, worker):
        return os.path.join(OUTPUT, '%s.%s.json' % (self.name, worker))

    def add(self, row):
        self.rows.append(row)
        os.makedirs(OUTPUT, exist_ok=True)
        with open(self._part(os.environ.get('PYTEST_XDIST_WORKER', 'main')), 'w') as handle:
            json.dump(self.rows, handle, indent=2)

    def merged(self):
        rows = []
        for path in glob.glob(self._part('*')):
            with open(path) as handle:
                rows += json.load(handle)
        return sorted(rows, key=lambda row: row['seq'])

    def markdown(self, rows):
        lines = ['| %s |' % ' | '.join(title for key, title in self.columns),
                 '|%s' % ('---|' * len(self.columns))]
        for row in rows:
            lines.append('| %s |' % ' | '.join(_cell(row.get(key, '')) for key, title in self.columns))
        return '\n'.join(lines) + '\n'

    def summary(self, terminalreporter):
        rows = self.merged()
        if not rows:
            return
        path = os.path.join(OUTPUT, self.name)
        with open(path + '.json', 'w') as handle:
            json.dump(rows, handle, indent=2)
        with open(path + '.md', 'w') as handle:
            handle.write(self.markdown(rows))
        terminalreporter.section('%s (%d) - also in %s.md' % (self.title, len(rows), path))
        terminalreporter.write(self.markdown(rows))


def _cell(value):
    return str(value).replace('|', '/').replace('\n', ' ')


KILL_POINTS = Table('kill_points', 'kill points', (
    ('id', 'kill point'),
    ('at', 'killed at'),
    ('killed', 'processes killed'),
    ('state', 'state left by the kill'),
    ('failed', 'failed requests (kill + re-run)'),
    ('around', 'requests started around the kill'),
    ('judges', 'wrk / ab beside it'),
    ('held', 'request held across the kill'),
    ('rerun', 're-run'),
    ('lock', 'lock of the killed run'),
    ('converged', 'converged'),
))

ROLLBACKS = Table('rollbacks', 'rollback paths', (
    ('id', 'case'),
    ('rc', 'deploy rc'),
    ('message', 'message'),
    ('failed', 'failed requests'),
    ('allowed', 'allowed (why)'),
    ('around', 'requests started around the deploy'),
    ('left', 'left as it was'),
))

LONG_LIVED = Table('long_lived', 'long-lived connections across deploys', (
    ('id', 'strategy / balancer'),
    ('swaps', 'swaps'),
    ('held', 'held at a swap start (ws + sse)'),
    ('client', 'ended by the client'),
    ('clean', 'closed cleanly by the server'),
    ('cut', 'cut'),
    ('allowed', 'cut allowed (why)'),
    ('connections', 'connections in all'),
    ('failed_connects', 'failed connects'),
    ('details', 'how the server ended them'),
    ('deploy', 'deploy'),
))
RELOADS = Table('balancer_reloads', 'balancer reloaded or restarted mid-deploy', (
    ('case', 'balancer strategy phase action'),
    ('requests', 'requests'),
    ('ours', 'failed: ours'),
    ('balancer', "failed: the balancer's own window"),
    ('closed', 'nginx, Caddy: keep-alive closed by a reload'),
    ('window', 'window'),
    ('reasserted', 're-assertions'),
    ('restarts', 'reloads/restarts the module saw'),
    ('deploy', 'deploy'),
    ('converged', 'converged'),
))

TABLES = (KILL_POINTS, ROLLBACKS, RELOADS, LONG_LIVED)


def start():
    """Forget the rows of an earlier run (called once, by the process that prints the summary)."""
    for table in TABLES:
        for path in glob.glob(os.path.join(OUTPUT, table.name + '*')):
            os.remove(path)


def terminal_summary(terminalreporter):
    for table in TABLES:
        table.summary(terminalreporter)
