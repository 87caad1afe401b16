# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""HAProxy adapter: the runtime API (stats socket, ``level admin``) over a unix socket or TCP.

One read is one round trip: ``show stat;show servers state;show info``. ``show servers state``
gives the administrative state (bit field) and the user/initial weights; ``show stat`` gives the
current sessions (``scur``), the queue (``qcur``), the status text and the health-check counters;
``show info`` the worker's pid and uptime, which tell a reload (new worker) or a restart (uptime
back to 0) apart from a quiet balancer.

A reload forgets the runtime states (drain, maint, weights) unless the configuration loads a
server-state file (``server-state-file`` + ``load-server-state-from-file``) dumped right before
the reload. HAProxy 2.6's runtime API has no command that shows the configuration; what it shows is
``show startup-logs``: a configured file that could not be opened, or states applied from one
("changed from server-state after a reload", "remains in forced drain mode"). ``state_file``
reports what those logs say.
One apply is one round trip too: ``set weight ...;set server ... state ready|drain|maint``, so a
cutover (one member enabled, another drained) happens in one CLI request.

A drained server keeps the idle server-side connections of HAProxy's pool (``http-reuse``):
a graceful app behind it waits for them before it exits. ``release()`` sends the drained member
to maintenance, which makes HAProxy close them, waits until ``show servers conn`` counts none
(bounded), and puts it back to drain: the state the user asked for, checks running again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import errno
import re
import socket
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNCONFIRMED, UNKNOWN, UP,
    ApplyError, Backend, BalancerAdapter, BalancerConnectionError, BalancerInputError,
    BalancerResponseError, Change, Member, backend_not_found, parse_number,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import wait_for

# srv_admin_state bits (HAProxy src/server.h, enum srv_admin)
ADMF_FMAINT = 0x01     # forced into maintenance (set server state maint)
ADMF_IMAINT = 0x02     # inherited from a tracked server
ADMF_CMAINT = 0x04     # 'disabled' in the configuration: a note only, set together with FMAINT and
#                        left behind when the server leaves maintenance (HAProxy's own mask skips it)
ADMF_FDRAIN = 0x08     # forced into drain (set server state drain)
ADMF_IDRAIN = 0x10     # inherited drain
ADMF_RMAINT = 0x20     # address resolution failed
MAINT_MASK = ADMF_FMAINT | ADMF_IMAINT | ADMF_RMAINT      # = SRV_ADMF_MAINT (0x23)
DRAIN_MASK = ADMF_FDRAIN | ADMF_IDRAIN

# srv_op_state
OP_STOPPED, OP_STARTING, OP_RUNNING, OP_STOPPING = 0, 1, 2, 3

# One read, one round trip (see the module docstring).
READ_COMMANDS = ('show stat', 'show servers state', 'show info')
STATE_COMMAND = {ENABLED: 'ready', DRAINED: 'drain', DISABLED: 'maint'}

STAT_COLUMNS = ('pxname', 'svname', 'qcur', 'scur', 'status', 'check_status', 'check_rise',
                'check_fall', 'check_health')
# What `show startup-logs` says about a server-state file (HAProxy src/server_state.c).
STATE_FILE_MISSING = ("Can't open global server state file", "Can't open server state file")
STATE_FILE_APPLIED = ('from server-state after a reload', 'remains in forced drain mode',
                      'remains in forced maintenance', 'changed from server-state')
STATE_COLUMNS = ('be_name', 'srv_name', 'srv_op_state', 'srv_admin_state', 'srv_uweight',
                 'srv_iweight')
MAX_RESPONSE = 16 * 1024 * 1024
# ``show servers conn``: the connections a server has in use, and idle in HAProxy's pools
# (idle_cur, which is safe_nb + unsafe_nb; those two where idle_cur is missing).
CONN_USED = 'used_cur'
CONN_IDLE = (('idle_cur',), ('safe_nb', 'unsafe_nb'))
RELEASE_TIMEOUT = 1.0
RELEASE_POLL = 0.02


def parse_address(value):
    """('unix', path) or ('tcp', (host, port)) from the haproxy_socket option."""
    text = (value or '').strip()
    if text.startswith('unix:'):
        text = text[len('unix:'):]
        if text.startswith('//'):
            text = text[2:]
    if text.startswith('/'):
        return 'unix', text
    for prefix in ('tcp://', 'ipv4@', 'ipv6@'):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    match = re.match(r'^\[([0-9A-Fa-f:.]+)\]:(\d+)$', text) or re.match(r'^([^:\[\]\s/]+):(\d+)$', text)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise BalancerInputError(
            "haproxy_socket %r is neither an absolute unix socket path nor host:port "
            "(e.g. /run/haproxy/admin.sock, tcp://127.0.0.1:9999). Nothing was changed." % value)
    return 'tcp', (match.group(1), int(match.group(2)))


class RuntimeApi(object):
    """One CLI request per connection: commands joined with ';', the answer read to EOF."""

    def __init__(self, address, timeout):
        self.family, self.target = parse_address(address)
        self.address = address
        self.timeout = timeout

    def _connect(self):
        if self.family == 'unix':
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.target)
            return sock
        return socket.create_connection(self.target, timeout=self.timeout)

    def request(self, commands):
        """Send ``commands`` in one request; return the output of each command (list of str)."""
        line = ';'.join(commands) + '\n'
        try:
            sock = self._connect()
        except (OSError, socket.error) as exc:
            raise BalancerConnectionError(
                'Cannot connect to the HAProxy runtime API at %s: %s. Nothing was changed.'
                % (self.address, _describe_socket_error(exc, self.family)))
        try:
            try:
                sock.sendall(line.encode('utf-8'))
                chunks = []
                size = 0
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_RESPONSE:
                        raise BalancerResponseError(
                            'The HAProxy runtime API at %s sent more than %d bytes for %r.'
                            % (self.address, MAX_RESPONSE, commands[0]))
            except socket.timeout:
                raise BalancerConnectionError(
                    'The HAProxy runtime API at %s did not answer %r within %ss.'
                    % (self.address, line.strip(), self.timeout))
            except (OSError, socket.error) as exc:
                raise BalancerConnectionError(
                    'The HAProxy runtime API at %s failed during %r: %s.'
                    % (self.address, line.strip(), exc))
        finally:
            sock.close()
        return split_outputs(b''.join(chunks).decode('utf-8', 'replace'), len(commands),
                             self.address, commands)


def _describe_socket_error(exc, family):
    code = getattr(exc, 'errno', None)
    if code == errno.ENOENT:
        return 'the socket file does not exist (is HAProxy running, is "stats socket" configured?)'
    if code == errno.ECONNREFUSED:
        return 'connection refused (nothing listens there)'
    if code in (errno.EACCES, errno.EPERM):
        return 'permission denied on the socket file'
    if isinstance(exc, socket.timeout):
        return 'timed out'
    return str(exc) or exc.__class__.__name__


class TruncatedAnswer(BalancerResponseError):
    """An answer that ended before every command's output; ``complete``: the outputs that did
    arrive, in which a refusal or a malformed table may name the real cause."""

    def __init__(self, message, complete):
        super(TruncatedAnswer, self).__init__(message)
        self.complete = complete


def split_outputs(text, count, where='HAProxy', commands=None):
    """Each command's output ends with an empty line; an empty output is just that line."""
    outputs = []
    rest = text
    for index in range(count):
        if rest.startswith('\n'):
            outputs.append('')
            rest = rest[1:]
            continue
        end = rest.find('\n\n')
        if end < 0:
            what = commands[index] if commands else 'command %d' % (index + 1)
            raise TruncatedAnswer(
                'The HAProxy runtime API at %s ended its answer to %r early (%d of %d outputs '
                'complete); got: %r' % (where, what, index, count, _excerpt(rest)), outputs)
        outputs.append(rest[:end])
        rest = rest[end + 2:]
    return outputs


def _excerpt(text, limit=300):
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + '...'


def _require_columns(header, wanted, what, where):
    missing = [c for c in wanted if c not in header]
    if missing:
        raise BalancerResponseError(
            "Unexpected '%s' output from %s: column(s) %s missing; header was %r"
            % (what, where, ', '.join(missing), _excerpt(','.join(header))))


def parse_show_stat(text, where='HAProxy'):
    """{(pxname, svname): row dict} of server rows of ``show stat`` (CSV with a '# ' header),
    and the list of backend names (rows with svname BACKEND)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith('# '):
        raise BalancerResponseError(
            "Unexpected 'show stat' output from %s (no '# pxname,...' header): %r"
            % (where, _excerpt(text)))
    rows = list(csv.reader([lines[0][2:]] + lines[1:]))
    header = rows[0]
    _require_columns(header, STAT_COLUMNS, 'show stat', where)
    servers = {}
    backends = []
    for row in rows[1:]:
        if len(row) < len(header) - 1:
            raise BalancerResponseError(
                "Unexpected 'show stat' output from %s: a row has %d fields, the header %d: %r"
                % (where, len(row), len(header), _excerpt(','.join(row))))
        record = dict(zip(header, row))
        if record['svname'] == 'BACKEND':
            backends.append(record['pxname'])
        elif record['svname'] != 'FRONTEND':
            servers[(record['pxname'], record['svname'])] = record
    return servers, backends


def parse_servers_state(text, where='HAProxy'):
    """{(be_name, srv_name): row dict} from ``show servers state`` (format version 1)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0].strip() != '1' or not lines[1].startswith('# '):
        raise BalancerResponseError(
            "Unexpected 'show servers state' output from %s (expected format version 1 and a "
            "'# be_id be_name ...' header): %r" % (where, _excerpt(text)))
    header = lines[1][2:].split()
    _require_columns(header, STATE_COLUMNS, 'show servers state', where)
    servers = {}
    for line in lines[2:]:
        fields = line.split()
        if len(fields) < len(header):
            raise BalancerResponseError(
                "Unexpected 'show servers state' output from %s: a row has %d fields, the header "
                "%d: %r" % (where, len(fields), len(header), _excerpt(line)))
        record = dict(zip(header, fields))
        servers[(record['be_name'], record['srv_name'])] = record
    return servers


def member_from_rows(state_row, stat_row, where='HAProxy'):
    """Member from one server's ``show servers state`` and ``show stat`` rows."""
    name = state_row['srv_name']
    label = "server '%s/%s'" % (state_row['be_name'], name)
    admin = parse_number(state_row['srv_admin_state'], 'srv_admin_state of %s' % label, where)
    op_state = parse_number(state_row['srv_op_state'], 'srv_op_state of %s' % label, where)
    weight = parse_number(state_row['srv_uweight'], 'srv_uweight of %s' % label, where)
    config_weight = parse_number(state_row['srv_iweight'], 'srv_iweight of %s' % label, where)
    active = 0
    for column in ('scur', 'qcur'):
        value = stat_row.get(column, '')
        active += parse_number(value, '%s of %s' % (column, label), where) if value.strip() else 0
    status = stat_row.get('status', '')
    if not isinstance(admin, int) or not isinstance(op_state, int):
        raise BalancerResponseError('%s: non-integer state of %s: %r' % (where, label, state_row))

    if admin & MAINT_MASK:
        state = DISABLED
    elif admin & DRAIN_MASK:
        state = DRAINED
    else:
        state = ENABLED

    checked = bool(stat_row.get('check_status', '').strip())
    if state == DISABLED:
        health = UNKNOWN          # checks are paused in maintenance
    elif op_state in (OP_STOPPED, OP_STOPPING):
        health = DOWN
    elif not checked:
        health = UP               # 'no check': HAProxy considers it up
    else:
        rise = stat_row.get('check_rise', '').strip()
        fall = stat_row.get('check_fall', '').strip()
        counter = stat_row.get('check_health', '').strip()
        if rise and fall and counter:
            full = (parse_number(rise, 'check_rise of %s' % label, where)
                    + parse_number(fall, 'check_fall of %s' % label, where) - 1)
            confirmed = parse_number(counter, 'check_health of %s' % label, where) >= full
        else:
            confirmed = True
        # Leaving maintenance, HAProxy puts a checked server UP at once and checks it right
        # after; only a passed check brings its health counter to the top.
        health = UP if confirmed else UNCONFIRMED
    serving = state == ENABLED and health in (UP, UNCONFIRMED) and weight > 0
    return Member(name, state, weight=weight, health=health, serving=serving, active=active,
                  status=status, config_weight=config_weight,
                  serves_when_enabled=health != DOWN)


def parse_servers_conn(text, backend, where='HAProxy'):
    """{server: connections in use + idle} from ``show servers conn``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith('# '):
        raise BalancerResponseError(
            "Unexpected 'show servers conn' output from %s (no '# bkname/svname ...' header): %r"
            % (where, _excerpt(text)))
    header = lines[0][2:].split()
    idle = next((names for names in CONN_IDLE if all(n in header for n in names)), None)
    if header[:1] != ['bkname/svname'] or CONN_USED not in header or idle is None:
        raise BalancerResponseError(
            "Unexpected 'show servers conn' output from %s: header %r lacks bkname/svname, %s or %s"
            % (where, _excerpt(lines[0]), CONN_USED, ' and '.join(CONN_IDLE[0])))
    columns = [header.index(c) for c in (CONN_USED,) + idle]
    counts = {}
    for line in lines[1:]:
        fields = line.split()
        name = fields[0].partition('/')
        if name[0] != backend or len(fields) <= max(columns):
            continue
        counts[name[2]] = sum(parse_number(fields[i], header[i], where) for i in columns)
    return counts


def parse_info(text):
    """{field: value} of ``show info``."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(':')
        if sep:
            info[key.strip()] = value.strip()
    return info


def state_file_from_logs(text):
    """What ``show startup-logs`` says about a server-state file: 'applied' (states were taken
    from one), 'missing' (configured, could not be opened), 'not seen' (the logs say nothing:
    no file configured, or one that changed nothing)."""
    if any(marker in text for marker in STATE_FILE_MISSING):
        return 'missing'
    if any(marker in text for marker in STATE_FILE_APPLIED):
        return 'applied'
    return 'not seen'


class HaproxyAdapter(BalancerAdapter):
    kind = 'haproxy'
    weight_range = (0, 256)
    atomic = True
    keep_state_hint = ('HAProxy forgets runtime states on a reload unless its configuration loads a '
                       'server-state file (server-state-file + load-server-state-from-file) dumped '
                       "with 'show servers state' right before each reload; see docs/balancer-reloads.md.")

    def __init__(self, api, clock=time.monotonic, sleep=time.sleep):
        self.api = api
        self.clock = clock
        self.sleep = sleep
        self._worker = None        # (pid, uptime seconds) at the last read
        self._restarts = 0         # restarts that kept the worker's pid (a container restart)

    @classmethod
    def from_params(cls, params, module=None):
        return cls(RuntimeApi(params['haproxy_socket'], params['request_timeout']))

    def describe(self):
        return 'the HAProxy runtime API at %s' % self.api.address

    def read(self, backend):
        where = self.describe()
        try:
            stat_text, state_text, info_text = self.api.request(list(READ_COMMANDS))
        except TruncatedAnswer as exc:
            # A proxy that refuses a command (level user) or speaks another table format often
            # answers fewer outputs than asked: name that cause, not the missing tail.
            _check_outputs(exc.complete, where)
            if exc.complete:
                parse_show_stat(exc.complete[0], where)
            raise
        _check_outputs([stat_text, state_text], where)
        generation = self._generation(parse_info(info_text))
        stats, backends = parse_show_stat(stat_text, where)
        states = parse_servers_state(state_text, where)
        if backend not in backends:
            raise backend_not_found(backend, backends, where)
        members = []
        for key, state_row in states.items():
            if key[0] != backend:
                continue
            stat_row = stats.get(key)
            if stat_row is None:
                raise BalancerResponseError(
                    "%s lists server '%s/%s' in 'show servers state' but not in 'show stat'."
                    % (where, key[0], key[1]))
            members.append(member_from_rows(state_row, stat_row, where))
        return Backend(backend, members, where, generation=generation)

    def _generation(self, info):
        """'worker pid N' - a reload starts a new worker; a restart that gets the same pid again
        (pid 1 of a container) is told by its uptime going back."""
        pid = info.get('Pid')
        if not pid:
            return None
        try:
            uptime = int(info.get('Uptime_sec', ''))
        except ValueError:
            uptime = None
        last = self._worker
        if last is not None and last[0] == pid and None not in (uptime, last[1]) and uptime < last[1]:
            self._restarts += 1
        self._worker = (pid, uptime)
        return 'worker pid %s' % pid + (' (restart %d)' % self._restarts if self._restarts else '')

    def persistence(self):
        return 'server-state file: %s' % self.state_file()

    def state_file(self):
        """What the running HAProxy's startup logs say about a server-state file (see
        state_file_from_logs); 'unknown' when it does not have the command."""
        text = self.api.request(['show startup-logs'])[0]
        if text.strip().startswith('Unknown command'):
            return 'unknown'
        return state_file_from_logs(text)

    def commands(self, backend, changes):
        """CLI commands of one transaction (weights first, then states, in ``changes`` order)."""
        cmds = []
        for change in changes:
            if change.weight is not None:
                cmds.append('set weight %s/%s %d' % (backend, change.name, change.weight))
        for change in changes:
            if change.state is not None:
                cmds.append('set server %s/%s state %s' % (backend, change.name, STATE_COMMAND[change.state]))
        return cmds

    def apply(self, backend, changes):
        cmds = self.commands(backend, changes)
        outputs = self.api.request(cmds)
        failed = [(cmd, out.strip()) for cmd, out in zip(cmds, outputs) if out.strip()]
        if failed:
            done = [cmd for cmd, out in zip(cmds, outputs) if not out.strip()]
            raise ApplyError(
                '%s refused %s. %s'
                % (self.describe(), '; '.join('%r (%s)' % (cmd, out.rstrip('.')) for cmd, out in failed),
                   'It applied the other commands of the same request: %s.' % ', '.join(repr(c) for c in done)
                   if done else 'Nothing was changed.'), partial=bool(done))

    def connections(self, backend):
        text = self.api.request(['show servers conn %s' % backend])[0]
        _raise_on_cli_error(text, 'show servers conn', self.describe())
        return parse_servers_conn(text, backend, self.describe())

    def release(self, backend, names):
        """maint (HAProxy closes the server's idle connections), wait until none is left
        (RELEASE_TIMEOUT at most), drain again. Only members in drain that still have connections:
        one in maintenance (disabled) has none left, and a rerun finds none (idempotent)."""
        current = self.read(backend)
        drained = [n for n in names if current.require(n).state == DRAINED]
        if not drained:
            return None
        before = self.connections(backend)
        drained = [n for n in drained if before.get(n)]
        if not drained:
            return None
        self.apply(backend, [Change(n, state=DISABLED) for n in drained])
        try:
            left = wait_for(lambda: self.connections(backend), lambda conns: not any(conns.get(n) for n in drained),
                            RELEASE_TIMEOUT, RELEASE_POLL, self.clock, self.sleep).value
        finally:
            try:
                self.apply(backend, [Change(n, state=DRAINED) for n in drained])
            except ApplyError as exc:
                raise ApplyError('%s Releasing the idle connections of %s left it in maintenance '
                                 '(disabled) instead of drain.' % (exc, ', '.join(drained)), partial=True)
        return ', '.join('%s: %d connection(s) before, %d after maintenance' % (
            n, before.get(n, 0), left.get(n, 0)) for n in drained)


def _check_outputs(outputs, where):
    """Raise on a refusal in any of the read's outputs."""
    for text, command in zip(outputs, READ_COMMANDS):
        _raise_on_cli_error(text, command, where)


def _raise_on_cli_error(text, command, where):
    stripped = text.strip()
    if stripped.startswith('Permission denied') or stripped.startswith('Unknown command'):
        raise BalancerConnectionError(
            "%s refused '%s': %s (the stats socket needs 'level admin'). Nothing was changed."
            % (where, command, _excerpt(stripped)))
