# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""nginx (open source) adapter: the upstream block in a configuration file.

nginx open source has no runtime API for upstreams, so a member's state lives in its ``server``
line: ``down`` takes it out of rotation (nginx has one out-of-rotation state, so ``drained`` and
``disabled`` both mean ``down``), ``weight=N`` sets its weight. One apply is one edit of the file
(only the tokens that change are touched; comments and layout stay), ``nginx -t``, and one graceful
reload (``nginx -s reload``); when ``nginx -t`` fails, the previous file is written back and nginx
is not reloaded. The reload is confirmed by the worker processes: every worker of the previous
generation must be gone or 'shutting down', and a new one must run.

Drain: nginx open source exposes no per-member counters. A member taken out by a reload is
drained when the previous worker generation - the only processes that may still be talking to
it - has exited; that is the active count of an out-of-rotation member.

nginx runs on this host or in a container (commands through ``docker exec``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import tarfile
import time

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, ENABLED, UNKNOWN,
    ApplyError, Backend, BalancerAdapter, BalancerConnectionError, BalancerError,
    BalancerResponseError, Member, backend_not_found,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._poll import wait_for

WORKER = 'nginx: worker process'
SHUTTING_DOWN = 'nginx: worker process is shutting down'
MASTER = 'nginx: master process'
# One line per process: the /proc/<pid>/stat line, a tab, the command line (NULs as spaces).
PROC_SCRIPT = ('for d in /proc/[0-9]*; do s=$(cat "$d/stat" 2>/dev/null) || continue; '
               'c=$(tr "\\0" " " < "$d/cmdline" 2>/dev/null); printf "%s\\t%s\\n" "$s" "$c"; done')
WRITE_CHUNK = 48 * 1024     # base64 text per docker exec argument (ARG_MAX per string: 128 KiB)
RELOAD_TIMEOUT = 30.0
LISTING_ATTEMPTS = 3


# ------------------------------------------------------------------------ configuration text

class Token(object):
    def __init__(self, kind, text, start, end, value=None):
        self.kind = kind          # 'word' | ';' | '{' | '}'
        self.text = text          # as written (quotes included)
        self.value = text if value is None else value
        self.start = start
        self.end = end


def tokenize(text, where='nginx configuration'):
    """nginx configuration tokens with their offsets (comments dropped)."""
    tokens = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '#':
            end = text.find('\n', i)
            i = n if end < 0 else end + 1
        elif ch in ';{}':
            tokens.append(Token(ch, ch, i, i + 1))
            i += 1
        elif ch in '"\'':
            j = i + 1
            value = []
            while j < n and text[j] != ch:
                if text[j] == '\\' and j + 1 < n:
                    j += 1
                value.append(text[j])
                j += 1
            if j >= n:
                raise BalancerResponseError('%s: unterminated quote starting at line %d.'
                                            % (where, text.count('\n', 0, i) + 1))
            tokens.append(Token('word', text[i:j + 1], i, j + 1, ''.join(value)))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in ';{}':
                if text[j] == '$' and j + 1 < n and text[j + 1] == '{':
                    close = text.find('}', j)
                    j = n if close < 0 else close + 1
                    continue
                if text[j] == '\\' and j + 1 < n:
                    j += 2
                    continue
                j += 1
            tokens.append(Token('word', text[i:j], i, j))
            i = j
    return tokens


class Directive(object):
    def __init__(self, name, args, start, end, block=None):
        self.name = name          # Token
        self.args = args          # [Token]
        self.start = start
        self.end = end            # offset after ';' or '}'
        self.block = block        # [Directive] or None


def parse(text, where='nginx configuration'):
    """Directive tree of a configuration text; BalancerResponseError on unbalanced braces."""
    tokens = tokenize(text, where)
    stack = [[]]
    opened = []
    current = []
    for tok in tokens:
        if tok.kind == 'word':
            current.append(tok)
        elif tok.kind == ';':
            if not current:
                continue
            stack[-1].append(Directive(current[0], current[1:], current[0].start, tok.end))
            current = []
        elif tok.kind == '{':
            if not current:
                raise BalancerResponseError("%s: '{' without a directive at line %d."
                                            % (where, text.count('\n', 0, tok.start) + 1))
            directive = Directive(current[0], current[1:], current[0].start, None, [])
            stack[-1].append(directive)
            stack.append(directive.block)
            opened.append(directive)
            current = []
        else:
            if current or not opened:
                raise BalancerResponseError("%s: unexpected '}' at line %d."
                                            % (where, text.count('\n', 0, tok.start) + 1))
            opened.pop().end = tok.end
            stack.pop()
    if opened or current:
        raise BalancerResponseError('%s: unexpected end of file (unclosed block or missing ;).' % where)
    return stack[0]


def find_upstreams(tree):
    """{name: Directive} of every upstream block, at any depth."""
    found = {}
    for directive in tree:
        if directive.block is None:
            continue
        if directive.name.value == 'upstream' and directive.args:
            found.setdefault(directive.args[0].value, directive)
        else:
            for name, block in find_upstreams(directive.block).items():
                found.setdefault(name, block)
    return found


class ServerLine(object):
    """A ``server`` directive of an upstream block."""

    def __init__(self, directive, where):
        self.directive = directive
        if not directive.args:
            raise BalancerResponseError('%s: a server directive without an address.' % where)
        self.address = directive.args[0].value
        self.params = directive.args[1:]
        self.down = any(t.value == 'down' for t in self.params)
        self.backup = any(t.value == 'backup' for t in self.params)
        self.weight_token = None
        self.weight = 1
        for tok in self.params:
            if tok.value.startswith('weight='):
                self.weight_token = tok
                raw = tok.value[len('weight='):]
                if not raw.isdigit() or int(raw) < 1:
                    raise BalancerResponseError("%s: server %s has an invalid %r."
                                                % (where, self.address, tok.value))
                self.weight = int(raw)

    def member(self):
        state = DISABLED if self.down else ENABLED
        return Member(self.address, state, weight=self.weight, health=UNKNOWN,
                      serving=not self.down and not self.backup, active=None,
                      status=' '.join(t.value for t in [self.directive.name] + self.directive.args),
                      serves_when_enabled=not self.backup)

    def edits(self, state, weight):
        """(start, end, replacement) edits giving this line ``state``/``weight`` (None: keep)."""
        edits = []
        if weight is not None and weight != self.weight:
            if self.weight_token is not None:
                edits.append((self.weight_token.start, self.weight_token.end, 'weight=%d' % weight))
            else:
                at = self.directive.args[0].end
                edits.append((at, at, ' weight=%d' % weight))
        if state == DISABLED and not self.down:
            last = self.directive.args[-1]
            edits.append((last.end, last.end, ' down'))
        elif state == ENABLED and self.down:
            for tok in self.params:
                if tok.value == 'down':
                    edits.append((tok.start, tok.end, ''))
        return edits


def upstream_servers(text, upstream, where):
    """[ServerLine] of ``upstream``; NotFoundError listing the upstreams of the file."""
    upstreams = find_upstreams(parse(text, where))
    if upstream not in upstreams:
        raise backend_not_found(upstream, sorted(upstreams), where, kind='upstream')
    lines = [ServerLine(d, where) for d in upstreams[upstream].block if d.name.value == 'server']
    seen = set()
    for line in lines:
        if line.address in seen:
            raise BalancerResponseError(
                "%s: upstream '%s' lists server %s more than once; refusing to guess which line "
                "is meant." % (where, upstream, line.address))
        seen.add(line.address)
    return lines


def edit_upstream(text, upstream, changes, where='nginx configuration'):
    """New configuration text with ``changes`` (list of Change) applied to ``upstream``."""
    lines = dict((line.address, line) for line in upstream_servers(text, upstream, where))
    edits = []
    for change in changes:
        edits.extend(lines[change.name].edits(change.state, change.weight))
    # From the end of the text backwards, so offsets stay valid; two insertions at one offset
    # keep their order (the later one is applied first and ends up after the earlier one).
    indexed = [(start, end, index, replacement) for index, (start, end, replacement) in enumerate(edits)]
    for start, end, index, replacement in sorted(indexed, reverse=True):
        if replacement == '' and start > 0:
            # Removing a word: take the blank before it too.
            while start > 0 and text[start - 1] in ' \t':
                start -= 1
        text = text[:start] + replacement + text[end:]
    return text


# ------------------------------------------------------------------------ processes

class Process(object):
    def __init__(self, pid, ppid, cmdline):
        self.pid = pid
        self.ppid = ppid
        self.cmdline = cmdline


def parse_processes(text):
    """[Process] from PROC_SCRIPT output; lines it cannot read are skipped (processes that
    exited while being listed)."""
    procs = []
    for line in text.splitlines():
        stat, sep, cmdline = line.partition('\t')
        if not sep:
            continue
        head, paren, tail = stat.rpartition(')')
        if not paren:
            continue
        fields = tail.split()
        pid = head.split(' (', 1)[0].strip()
        if len(fields) < 2 or not pid.isdigit() or not fields[1].isdigit():
            continue
        procs.append(Process(int(pid), int(fields[1]), cmdline.strip()))
    return procs


class Generation(object):
    """nginx worker processes of one master, split by generation."""

    def __init__(self, procs, master):
        children = [p for p in procs if p.ppid == master]
        self.current = set(p.pid for p in children if p.cmdline == WORKER)
        self.shutting_down = set(p.pid for p in children if p.cmdline.startswith(SHUTTING_DOWN))
        self.alive = self.current | self.shutting_down


# ------------------------------------------------------------------------ where nginx runs

class LocalHost(object):
    """nginx on the host the module runs on."""

    def __init__(self, module):
        self.module = module

    def describe(self):
        return 'this host'

    def run(self, argv):
        rc, out, err = self.module.run_command(argv)
        return rc, out, err

    def read(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read().decode('utf-8', 'surrogateescape')
        except (IOError, OSError) as exc:
            raise BalancerConnectionError('Cannot read %s on this host: %s. Nothing was changed.'
                                          % (path, exc.strerror or exc))

    def write(self, path, text):
        # In place (same inode): keeps owner, mode and bind mounts of the file.
        with open(path, 'r+b') as handle:
            handle.write(text.encode('utf-8', 'surrogateescape'))
            handle.truncate()


class ContainerHost(object):
    """nginx in a container: every command through the engine's exec API."""

    def __init__(self, client, container):
        self.name = container
        try:
            self.container = client.containers.get(container)
        except Exception as exc:
            raise BalancerConnectionError("Cannot use container '%s' on the Docker engine: %s. "
                                          "Nothing was changed." % (container, _docker_reason(exc)))
        if self.container.status != 'running':
            raise BalancerConnectionError("Container '%s' is %s, not running. Nothing was changed."
                                          % (container, self.container.status))

    def describe(self):
        return "container '%s'" % self.name

    def run(self, argv):
        try:
            rc, (out, err) = self.container.exec_run(argv, demux=True)
        except Exception as exc:
            raise BalancerConnectionError("docker exec %s in container '%s' failed: %s"
                                          % (' '.join(argv[:3]), self.name, exc))
        return rc, (out or b'').decode('utf-8', 'replace'), (err or b'').decode('utf-8', 'replace')

    def read(self, path):
        # The archive API, not 'docker exec cat': exec output of short-lived processes has been
        # seen empty now and then on a busy engine, and an empty file must never look valid.
        try:
            chunks, dummy = self.container.get_archive(path)
            archive = tarfile.open(fileobj=io.BytesIO(b''.join(chunks)))
            member = archive.getmembers()[0]
            handle = archive.extractfile(member) if member.isfile() else None
        except Exception as exc:
            raise BalancerConnectionError("Cannot read %s in container '%s': %s. Nothing was changed."
                                          % (path, self.name, _docker_reason(exc)))
        if handle is None:
            raise BalancerConnectionError("Cannot read %s in container '%s': not a regular file. "
                                          "Nothing was changed." % (path, self.name))
        return handle.read().decode('utf-8', 'surrogateescape')

    def write(self, path, text):
        data = base64.b64encode(text.encode('utf-8', 'surrogateescape')).decode('ascii')
        chunks = [data[i:i + WRITE_CHUNK] for i in range(0, len(data), WRITE_CHUNK)] or ['']
        for index, chunk in enumerate(chunks):
            redirect = '>' if index == 0 else '>>'
            # In place (same inode): keeps owner, mode and bind mounts of the file.
            script = 'printf %%s "$1" | base64 -d %s "$2"' % redirect
            rc, (out, err) = self.container.exec_run(['sh', '-c', script, 'sh', chunk, path], demux=True)
            if rc != 0:
                raise OSError("writing %s in container '%s' failed: %s"
                              % (path, self.name, (err or b'').decode('utf-8', 'replace').strip()))


def _docker_reason(exc):
    """The engine's explanation of an SDK error (e.g. 'Could not find the file ...')."""
    return getattr(exc, 'explanation', None) or str(exc)


# ------------------------------------------------------------------------ the adapter

class NginxAdapter(BalancerAdapter):
    kind = 'nginx'
    weight_range = (1, 1000000)
    atomic = True

    def __init__(self, host, config, binary='nginx', main_config=None, pid_file='/run/nginx.pid',
                 interval=0.2, reload_timeout=RELOAD_TIMEOUT, clock=time.monotonic, sleep=time.sleep):
        self.host = host
        self.config = config
        self.binary = binary
        self.main_config = main_config
        self.pid_file = pid_file
        self.interval = interval
        self.reload_timeout = reload_timeout
        self.clock = clock
        self.sleep = sleep
        self.old_generation = None     # worker pids replaced by this run's reload
        self.text = None
        self.master = None

    @classmethod
    def from_params(cls, params, module=None, clock=time.monotonic, sleep=time.sleep, docker=None):
        """``docker``: a docker.DockerClient already connected with the module's docker_* options
        (container_hotswap hands over its own); None: connect here when nginx runs in a container."""
        if params.get('nginx_container'):
            if docker is None:
                # Imported here: only the container mode needs the docker SDK.
                from ansible_collections.zerodowntime.deploy.plugins.module_utils._docker import module_docker_client
                docker = module_docker_client(module)
            host = ContainerHost(docker, params['nginx_container'])
        else:
            host = LocalHost(module)
        return cls(host, params['nginx_config'], binary=params['nginx_binary'],
                   main_config=params.get('nginx_main_config'), pid_file=params['nginx_pid_file'],
                   interval=params['poll_interval'], clock=clock, sleep=sleep)

    def describe(self):
        return 'nginx (%s in %s)' % (self.config, self.host.describe())

    def effective_state(self, state):
        return ENABLED if state == ENABLED else DISABLED

    def persistence(self):
        return 'the upstream file (a reload or restart reads it again)'

    def _command(self, *args):
        argv = [self.binary]
        if self.main_config:
            argv += ['-c', self.main_config]
        return argv + list(args)

    def read(self, backend):
        self.text = self.host.read(self.config)
        lines = upstream_servers(self.text, backend, self.describe())
        return Backend(backend, [line.member() for line in lines], self.describe())

    # -- processes
    def master_pid(self):
        """The master's pid, read once per run (a reload keeps the master)."""
        if self.master is None:
            self.master = self._read_master_pid()
        return self.master

    def _read_master_pid(self):
        try:
            pid = self.host.read(self.pid_file).strip()
            problem = 'empty file' if not pid else 'not a pid: %r' % pid[:40]
        except BalancerError as exc:
            pid, problem = '', str(exc)
        if not pid.isdigit():
            raise BalancerConnectionError(
                'Cannot read the nginx master pid from %s in %s (%s). Is nginx running (set '
                'nginx_pid_file if its pid file is elsewhere)?'
                % (self.pid_file, self.host.describe(), problem))
        return int(pid)

    def generation(self, master):
        """Workers of ``master``. The listing must show the master itself, else it is read again
        (an empty or cut listing would look like 'all old workers have exited')."""
        problem = ''
        for dummy in range(LISTING_ATTEMPTS):
            rc, out, err = self.host.run(['sh', '-c', PROC_SCRIPT])
            procs = parse_processes(out) if rc == 0 else []
            if any(p.pid == master and p.cmdline.startswith(MASTER) for p in procs):
                return Generation(procs, master)
            problem = err.strip() if rc != 0 else 'the nginx master (pid %d) is not in it' % master
        raise BalancerConnectionError('Cannot list the nginx processes in %s (%d attempts): %s.'
                                      % (self.host.describe(), LISTING_ATTEMPTS, problem))

    def active(self, backend, names, current=None):
        """Members out of rotation: worker processes that may still talk to them (the generation
        this run's reload replaced, else every worker still shutting down). Members in rotation:
        None - nginx open source has no per-member count."""
        if current is None:
            current = Backend(backend, [line.member() for line in upstream_servers(
                self.text if self.text is not None else self.host.read(self.config), backend, self.describe())])
        down = [name for name in names if current.require(name).state != ENABLED]
        count = None
        if down:
            gen = self.generation(self.master_pid())
            if self.old_generation is not None:
                # Still shutting down: a pid of that generation serving as a current worker is
                # another process (an nginx restarted since - in a container, pids start over).
                count = len(self.old_generation & gen.shutting_down)
            else:
                count = len(gen.shutting_down)
        return dict((name, count if name in down else None) for name in names)

    # -- the transaction
    def apply(self, backend, changes):
        original = self.host.read(self.config)
        new = edit_upstream(original, backend, changes, self.describe())
        master = self.master_pid()
        before = self.generation(master)
        if not before.current:
            raise ApplyError('nginx in %s (master pid %d) has no worker process to replace; '
                             'nothing was changed.' % (self.host.describe(), master))
        self._write(new, original, 'writing the change')
        rc, out, err = self.host.run(self._command('-t'))
        if rc != 0:
            self._restore(original)
            raise ApplyError(
                "nginx -t rejected the configuration with the change of upstream '%s' (%s): %s "
                "The previous %s was written back and nginx was not reloaded: the running "
                "configuration is untouched."
                % (backend, _summary(changes), _tail(err or out), self.config))
        rc, out, err = self.host.run(self._command('-s', 'reload'))
        if rc != 0:
            self._restore(original)
            raise ApplyError(
                "nginx -s reload failed in %s: %s The previous %s was written back; the running "
                "configuration is untouched." % (self.host.describe(), _tail(err or out), self.config))
        result = wait_for(lambda: self.generation(master),
                          lambda g: not (g.current & before.current) and bool(g.current - before.current),
                          self.reload_timeout, self.interval, self.clock, self.sleep)
        if not result.ok:
            self._restore(original)
            raise ApplyError(
                'nginx in %s did not start a new worker generation within %ss of the reload '
                '(workers still serving the old configuration: %s; see the nginx error log). The '
                'previous %s was written back.'
                % (self.host.describe(), self.reload_timeout,
                   ', '.join(str(p) for p in sorted(result.value.current & before.current)), self.config))
        self.old_generation = before.current
        self.text = new

    def _write(self, text, original, step):
        try:
            self.host.write(self.config, text)
            written = self.host.read(self.config)
        except (IOError, OSError, BalancerError) as exc:
            self._restore(original)
            raise ApplyError('%s to %s in %s failed: %s. The previous file was written back; nginx '
                             'was not reloaded.' % (step.capitalize(), self.config, self.host.describe(), exc))
        if written != text:
            self._restore(original)
            raise ApplyError('%s to %s in %s did not stick (the file read back differs). The previous '
                             'file was written back; nginx was not reloaded.'
                             % (step.capitalize(), self.config, self.host.describe()))

    def _restore(self, original):
        try:
            self.host.write(self.config, original)
            restored = self.host.read(self.config) == original
        except (IOError, OSError, BalancerError) as exc:
            raise ApplyError('nginx rejected the change AND writing back the previous %s in %s '
                             'failed: %s. Restore it by hand; nginx was not reloaded.'
                             % (self.config, self.host.describe(), exc))
        if not restored:
            raise ApplyError('nginx rejected the change AND the previous %s in %s could not be '
                             'verified after writing it back. Check it by hand; nginx was not reloaded.'
                             % (self.config, self.host.describe()))


def _summary(changes):
    parts = []
    for change in changes:
        bits = [b for b in ('down' if change.state == DISABLED else ('up' if change.state == ENABLED else None),
                            'weight=%d' % change.weight if change.weight is not None else None) if b]
        parts.append('%s %s' % (change.name, ' '.join(bits)))
    return ', '.join(parts)


def _tail(text, lines=6):
    text = (text or '').strip().splitlines()
    return ' | '.join(text[-lines:]) + '.' if text else '(no output).'
