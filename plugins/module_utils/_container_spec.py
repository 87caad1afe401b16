# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""What a service's container looks like: module options -> one normalized configuration per
slot (JSON-friendly, hashed), and that configuration -> Docker create arguments.

- ``CONTAINER_ARGS``: argspec of the container options (documented in container_hotswap.py).
- ``build_spec(params)``: validate everything the argspec cannot (signal names, durations, sizes,
  port and volume syntax, reserved labels...) and return a ``ContainerSpec``; raises
  ``SpecError`` naming the option. No engine I/O: call it before connecting.
- ``ContainerSpec.config(slot)`` / ``.config_hash(slot)``: the normalized configuration of the
  container in that slot (common options + the slot's own settings) and its sha256.
- ``create_args(config, ...)``: keyword arguments for ``APIClient.create_container`` plus the
  networks to connect before start.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re
import shlex

SLOTS = ('blue', 'green')
# Seconds a container gets after its stop signal when nothing else says (the option's default,
# and a container found without a StopTimeout).
DEFAULT_STOP_TIMEOUT = 10
RESERVED_LABEL_PREFIX = 'zerodowntime.'

RESTART_POLICIES = ('no', 'on-failure', 'always', 'unless-stopped')
MOUNT_TYPES = ('bind', 'volume', 'tmpfs')

MOUNT_OPTIONS = dict(
    type=dict(type='str', default='volume', choices=list(MOUNT_TYPES)),
    source=dict(type='str'),
    target=dict(type='str', required=True),
    read_only=dict(type='bool', default=False),
    tmpfs_size=dict(type='str'),
)

NETWORK_OPTIONS = dict(
    name=dict(type='str', required=True),
    aliases=dict(type='list', elements='str', default=[]),
)

HEALTHCHECK_OPTIONS = dict(
    test=dict(type='raw'),
    interval=dict(type='str'),
    timeout=dict(type='str'),
    retries=dict(type='int'),
    start_period=dict(type='str'),
    disable=dict(type='bool', default=False),
)

SLOT_OPTIONS = dict(
    env=dict(type='dict', default={}),
    published_ports=dict(type='list', elements='str', default=[]),
    vars=dict(type='dict', default={}),
)

# The container options of container_hotswap (documented there; they change together).
CONTAINER_ARGS = dict(
    image=dict(type='str'),
    pull=dict(type='str', default='missing', choices=['missing', 'always', 'never']),
    command=dict(type='raw'),
    entrypoint=dict(type='list', elements='str'),
    env=dict(type='dict', default={}),
    env_files=dict(type='list', elements='path', default=[]),
    labels=dict(type='dict', default={}),
    mounts=dict(type='list', elements='dict', options=MOUNT_OPTIONS, default=[]),
    volumes=dict(type='list', elements='str', default=[]),
    network_mode=dict(type='str'),
    networks=dict(type='list', elements='dict', options=NETWORK_OPTIONS, default=[]),
    user=dict(type='str'),
    working_dir=dict(type='str'),
    restart_policy=dict(type='str', default='no', choices=list(RESTART_POLICIES)),
    restart_retries=dict(type='int'),
    memory=dict(type='str'),
    cpus=dict(type='float'),
    pids_limit=dict(type='int'),
    log_driver=dict(type='str'),
    log_options=dict(type='dict', default={}),
    healthcheck=dict(type='dict', options=HEALTHCHECK_OPTIONS),
    stop_signal=dict(type='str'),
    stop_timeout=dict(type='int', default=DEFAULT_STOP_TIMEOUT),
    slots=dict(type='dict', default={}, options=dict(
        blue=dict(type='dict', options=SLOT_OPTIONS, default={}),
        green=dict(type='dict', options=SLOT_OPTIONS, default={}),
    )),
)

# Linux signal names as the Docker engine parses them (without the SIG prefix).
_SIGNALS = dict(
    HUP=1, INT=2, QUIT=3, ILL=4, TRAP=5, ABRT=6, IOT=6, BUS=7, FPE=8, KILL=9, USR1=10, SEGV=11,
    USR2=12, PIPE=13, ALRM=14, TERM=15, STKFLT=16, CHLD=17, CLD=17, CONT=18, STOP=19, TSTP=20,
    TTIN=21, TTOU=22, URG=23, XCPU=24, XFSZ=25, VTALRM=26, PROF=27, WINCH=28, IO=29, POLL=29,
    PWR=30, SYS=31, RTMIN=34, RTMAX=64,
)
for _n in range(1, 16):
    _SIGNALS['RTMIN+%d' % _n] = 34 + _n
    _SIGNALS['RTMAX-%d' % _n] = 64 - _n

_DURATION_PART = re.compile(r'(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)')
_DURATION_NS = dict(ns=1, us=1000, ms=10 ** 6, s=10 ** 9, m=60 * 10 ** 9, h=3600 * 10 ** 9)
_SIZE = re.compile(r'^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$', re.IGNORECASE)
_SIZE_FACTOR = dict(b=1, k=1024, m=1024 ** 2, g=1024 ** 3, t=1024 ** 4)
_PORT = re.compile(r'^(?:(?P<ip>\d{1,3}(?:\.\d{1,3}){3}):)?(?:(?P<host>\d+)?:)?(?P<container>\d+)'
                   r'(?:/(?P<proto>tcp|udp|sctp))?$')
_ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_.-]*$')


class SpecError(ValueError):
    """Container options the argspec cannot judge; the message names the option."""


# ------------------------------------------------------------------ small parsers

def parse_signal(value, option='stop_signal'):
    """Canonical 'SIGQUIT' form of a signal name or number, as the engine would accept it."""
    raw = str(value).strip()
    if raw.isdigit():
        number = int(raw)
        if 1 <= number <= 64:
            names = sorted(k for k, v in _SIGNALS.items() if v == number and '+' not in k and '-' not in k)
            return 'SIG%s' % names[0] if names else raw
        raise SpecError('%s: signal number %s is out of range (1-64)' % (option, raw))
    name = raw.upper()
    if name.startswith('SIG'):
        name = name[3:]
    if name not in _SIGNALS:
        raise SpecError('%s: %r is not a signal name the Docker engine knows (for example SIGTERM, '
                        'SIGQUIT, SIGINT, SIGUSR1, SIGWINCH)' % (option, raw))
    return 'SIG' + name


def parse_duration(value, option):
    """Nanoseconds of a duration: seconds as a number, or Go-style '1m30s', '500ms'."""
    if value is None:
        return None
    raw = str(value).strip()
    try:
        seconds = float(raw)
        if seconds < 0:
            raise SpecError('%s: a duration cannot be negative, got %r' % (option, value))
        return int(seconds * 10 ** 9)
    except ValueError:
        pass
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_NS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or not raw:
        raise SpecError('%s: %r is not a duration (use seconds, or units like 1m30s, 500ms)'
                        % (option, value))
    return int(total)


def parse_size(value, option):
    """Bytes of a size such as '512m', '1g', '1048576'."""
    if value is None:
        return None
    match = _SIZE.match(str(value).strip())
    if not match:
        raise SpecError('%s: %r is not a size (use bytes or a number with b, k, m, g, t)'
                        % (option, value))
    return int(float(match.group(1)) * _SIZE_FACTOR[(match.group(2) or 'b').lower()])


def parse_port(value, option):
    """(container_port_key, host_ip, host_port) of '[ip:][host_port:]container_port[/proto]'."""
    match = _PORT.match(str(value).strip())
    if not match:
        raise SpecError('%s: %r is not a port mapping (use [ip:][host_port:]container_port[/tcp|udp])'
                        % (option, value))
    ports = [int(p) for p in (match.group('host'), match.group('container')) if p is not None]
    if any(not 1 <= p <= 65535 for p in ports):
        raise SpecError('%s: %r has a port outside 1-65535' % (option, value))
    ip = match.group('ip')
    if ip and any(int(part) > 255 for part in ip.split('.')):
        raise SpecError('%s: %r has an invalid IP address' % (option, value))
    key = '%s/%s' % (match.group('container'), match.group('proto') or 'tcp')
    host_port = int(match.group('host')) if match.group('host') else None
    return key, ip or '0.0.0.0', host_port


def parse_volume(value, option):
    """A mount dict from docker's short '-v' syntax: 'source:target[:ro|rw]' or 'target'."""
    parts = str(value).split(':')
    mode = 'rw'
    if len(parts) == 3:
        mode = parts.pop()
    if mode not in ('ro', 'rw') or len(parts) > 2 or not all(parts):
        raise SpecError('%s: %r is not a volume (use source:target[:ro|rw], or target for an '
                        'anonymous volume)' % (option, value))
    if len(parts) == 1:
        source, target = None, parts[0]
    else:
        source, target = parts
    kind = 'bind' if source and source.startswith('/') else 'volume'
    return dict(type=kind, source=source, target=target, read_only=mode == 'ro', tmpfs_size=None)


def read_env_file(path, option):
    """KEY=VALUE lines of an env file (blank lines and '#' comments skipped, no quote handling:
    the same rules as 'docker run --env-file')."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError('%s: cannot read %s: %s' % (option, path, exc))
    env = {}
    for number, line in enumerate(lines, 1):
        text = line.lstrip()
        if not text or text.startswith('#'):
            continue
        key, sep, value = text.partition('=')
        if not sep or not _ENV_NAME.match(key):
            raise SpecError('%s: %s line %d is not KEY=VALUE: %r' % (option, path, number, line[:80]))
        env[key] = value
    return env


def _env_dict(values, option):
    out = {}
    for key, value in (values or {}).items():
        if not _ENV_NAME.match(str(key)):
            raise SpecError('%s: %r is not a valid variable name' % (option, key))
        if isinstance(value, bool):
            raise SpecError('%s.%s: %r is a boolean; quote it so the container gets the text you mean '
                            '("true", "1", "yes"...)' % (option, key, value))
        if value is None:
            raise SpecError('%s.%s: has no value' % (option, key))
        if not isinstance(value, (str, int, float)):
            # str() would hand the container the Python repr ("{'a': 1}"), which fails later and
            # far away; the value itself is not echoed (env values are often secrets).
            raise SpecError('%s.%s: got a %s; must be a string or a number (serialize it, for example '
                            'with to_json, and quote it)' % (option, key, _kind(value)))
        out[str(key)] = str(value)
    return out


def _kind(value):
    if isinstance(value, dict):
        return 'mapping'
    if isinstance(value, (list, tuple, set)):
        return 'list'
    return type(value).__name__


def _str_dict(values, option):
    out = {}
    for key, value in (values or {}).items():
        if isinstance(value, (dict, list)) or value is None:
            raise SpecError('%s.%s: must be a string, got %r' % (option, key, value))
        out[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _command(value, option):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(part) for part in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise SpecError('%s: cannot split %r into words: %s' % (option, value, exc))


def _mount(raw, option):
    kind = raw['type']
    target = raw['target']
    source = raw.get('source')
    if not target.startswith('/'):
        raise SpecError('%s.target: %r must be an absolute path inside the container' % (option, target))
    if kind == 'bind' and not (source or '').startswith('/'):
        raise SpecError('%s.source: a bind mount needs an absolute host path, got %r' % (option, source))
    if kind == 'tmpfs' and source:
        raise SpecError('%s.source: a tmpfs mount has no source, got %r' % (option, source))
    if kind == 'volume' and source and '/' in source:
        raise SpecError('%s.source: %r is a path; a volume mount takes a volume name (use type=bind '
                        'for a host path)' % (option, source))
    if raw.get('tmpfs_size') is not None and kind != 'tmpfs':
        raise SpecError('%s.tmpfs_size: only applies to tmpfs mounts' % option)
    size = parse_size(raw.get('tmpfs_size'), option + '.tmpfs_size')
    return dict(type=kind, source=source or None, target=target, read_only=bool(raw['read_only']),
                tmpfs_size=size)


def _healthcheck(raw):
    if raw is None:
        return None
    if raw.get('disable'):
        return dict(test=['NONE'])
    test = raw.get('test')
    if isinstance(test, (list, tuple)):
        test = [str(part) for part in test]
        if test and test[0] not in ('CMD', 'CMD-SHELL', 'NONE'):
            test = ['CMD'] + test
    elif test is not None:
        test = ['CMD-SHELL', str(test)]
    out = dict(test=test) if test is not None else {}   # no test: the image's, new timings
    for key in ('interval', 'timeout', 'start_period'):
        value = parse_duration(raw.get(key), 'healthcheck.%s' % key)
        if value:  # the engine refuses an explicit 0 for these
            out[key] = value
    if raw.get('retries') is not None:
        if raw['retries'] < 0:
            raise SpecError('healthcheck.retries: cannot be negative, got %d' % raw['retries'])
        out['retries'] = raw['retries']
    return out or None


def canonical_json(data):
    return json.dumps(data, sort_keys=True, separators=(',', ':'))


# ------------------------------------------------------------------ the spec

class ContainerSpec(object):
    """The validated, normalized container options of one service."""

    def __init__(self, common, slots, slot_vars):
        self.common = common
        self.slots = slots
        self.slot_vars = slot_vars

    def config(self, slot):
        """The normalized configuration of the container in ``slot`` (what is hashed)."""
        own = self.slots[slot]
        config = dict(self.common)
        env = dict(self.common['env'])
        env.update(own['env'])
        config['env'] = env
        config['published_ports'] = own['published_ports']
        return config

    def config_hash(self, slot):
        return hashlib.sha256(canonical_json(self.config(slot)).encode('utf-8')).hexdigest()

    def placeholders(self, slot):
        """Values of the ${NAME} placeholders of readiness options for ``slot``."""
        values = dict(self.config(slot)['env'])
        values.update(self.slot_vars[slot])
        values['SLOT'] = slot
        return values

    @property
    def host_ports(self):
        """Every published host port of every slot: {slot: [(ip, port, proto)]}."""
        out = {}
        for slot in SLOTS:
            out[slot] = [(ip, port, key.split('/')[1]) for key, bindings in
                         sorted(self.slots[slot]['published_ports'].items())
                         for ip, port in bindings if port]
        return out


def build_spec(params):
    """Validate the container options and return a ContainerSpec. Raises SpecError."""
    env = {}
    for index, path in enumerate(params.get('env_files') or []):
        env.update(read_env_file(path, 'env_files[%d]' % index))
    env.update(_env_dict(params.get('env'), 'env'))

    labels = _str_dict(params.get('labels'), 'labels')
    reserved = sorted(k for k in labels if k.startswith(RESERVED_LABEL_PREFIX))
    if reserved:
        raise SpecError('labels: %s use the reserved prefix %r (the module sets these itself)'
                        % (', '.join(reserved), RESERVED_LABEL_PREFIX))

    mounts = [_mount(m, 'mounts[%d]' % i) for i, m in enumerate(params.get('mounts') or [])]
    mounts += [parse_volume(v, 'volumes[%d]' % i) for i, v in enumerate(params.get('volumes') or [])]
    targets = [m['target'] for m in mounts]
    duplicated = sorted(set(t for t in targets if targets.count(t) > 1))
    if duplicated:
        raise SpecError('mounts/volumes: more than one mount on %s' % ', '.join(duplicated))

    network_mode = params.get('network_mode')
    networks = []
    for net in params.get('networks') or []:
        networks.append(dict(name=net['name'], aliases=sorted(set(net.get('aliases') or []))))
    names = [n['name'] for n in networks]
    if len(set(names)) != len(names):
        raise SpecError('networks: a network is listed twice: %s' % ', '.join(names))
    shared_netns = network_mode in ('host', 'none') or (network_mode or '').startswith('container:')
    if networks and shared_netns:
        raise SpecError('networks: cannot join networks with network_mode=%s' % network_mode)
    if networks and network_mode and network_mode not in names:
        raise SpecError('network_mode: %r is not among networks (%s); leave network_mode unset to use '
                        'the first network' % (network_mode, ', '.join(names)))
    if network_mode is None and networks:
        network_mode = networks[0]['name']

    if params.get('restart_retries') is not None and params.get('restart_policy') != 'on-failure':
        raise SpecError('restart_retries: only applies to restart_policy=on-failure')
    if params.get('cpus') is not None and params['cpus'] <= 0:
        raise SpecError('cpus: must be greater than 0, got %g' % params['cpus'])
    if params.get('stop_timeout') is not None and params['stop_timeout'] < 0:
        raise SpecError('stop_timeout: cannot be negative, got %d' % params['stop_timeout'])
    if params.get('log_options') and not params.get('log_driver'):
        raise SpecError('log_options: give log_driver too (the options belong to one driver)')

    common = dict(
        command=_command(params.get('command'), 'command'),
        entrypoint=list(params['entrypoint']) if params.get('entrypoint') is not None else None,
        env=env,
        labels=labels,
        mounts=sorted(mounts, key=lambda m: m['target']),
        network_mode=network_mode,
        networks=sorted(networks, key=lambda n: n['name']),
        user=params.get('user'),
        working_dir=params.get('working_dir'),
        restart_policy=dict(name=params.get('restart_policy') or 'no',
                            retries=params.get('restart_retries') or 0),
        memory=parse_size(params.get('memory'), 'memory'),
        cpus=params.get('cpus'),
        pids_limit=params.get('pids_limit'),
        log=dict(driver=params['log_driver'], options=_str_dict(params.get('log_options'), 'log_options'))
        if params.get('log_driver') else None,
        healthcheck=_healthcheck(params.get('healthcheck')),
        stop_signal=parse_signal(params['stop_signal']) if params.get('stop_signal') else None,
        stop_timeout=params.get('stop_timeout'),
    )

    slots = {}
    slot_vars = {}
    seen_host_ports = {}
    slot_params = params.get('slots') or {}
    for slot in SLOTS:
        own = slot_params.get(slot) or {}
        where = 'slots.%s' % slot
        ports = {}
        for index, raw in enumerate(own.get('published_ports') or []):
            option = '%s.published_ports[%d]' % (where, index)
            key, ip, host_port = parse_port(raw, option)
            if shared_netns:
                raise SpecError('%s: ports cannot be published with network_mode=%s (the container '
                                'binds host ports itself; set the port through slots.%s.env)'
                                % (option, network_mode, slot))
            ports.setdefault(key, []).append([ip, host_port])
            if host_port:
                other = seen_host_ports.get((host_port, key.split('/')[1]))
                if other and other[0] == slot:
                    raise SpecError('%s: host port %d is published twice in slot %s'
                                    % (option, host_port, slot))
                if other:
                    raise SpecError('%s: host port %d is also published by slot %s; both slots run '
                                    'at the same time during a swap, so each needs its own host port'
                                    % (option, host_port, other[0]))
                seen_host_ports[(host_port, key.split('/')[1])] = (slot, option)
        slots[slot] = dict(env=_env_dict(own.get('env'), where + '.env'),
                           published_ports=dict((k, sorted(v, key=lambda b: (b[0], b[1] or 0)))
                                                for k, v in ports.items()))
        slot_vars[slot] = _str_dict(own.get('vars'), where + '.vars')
    return ContainerSpec(common, slots, slot_vars)


# ------------------------------------------------------------------ config -> Docker arguments

def create_args(api, config, image, name, labels):
    """(kwargs for APIClient.create_container, [(network, aliases)] to connect before start).

    ``api`` is the docker SDK APIClient (its helpers build host and networking config)."""
    from docker.types import LogConfig, Mount  # imported here: the SDK is optional at import time

    mounts = []
    for m in config['mounts']:
        kwargs = dict(target=m['target'], source=m['source'], type=m['type'], read_only=m['read_only'])
        if m['tmpfs_size']:
            kwargs['tmpfs_size'] = m['tmpfs_size']
        mounts.append(Mount(**kwargs))
    port_bindings = {}
    for key, bindings in config['published_ports'].items():
        port_bindings[key] = [(ip, port) if port else (ip,) for ip, port in bindings]
    restart = config['restart_policy']
    host_kwargs = dict(
        network_mode=config['network_mode'],
        mounts=mounts or None,
        port_bindings=port_bindings or None,
        restart_policy=dict(Name=restart['name'], MaximumRetryCount=restart['retries'])
        if restart['name'] != 'no' else None,
        mem_limit=config['memory'],
        nano_cpus=int(config['cpus'] * 10 ** 9) if config['cpus'] else None,
        pids_limit=config['pids_limit'],
        log_config=LogConfig(type=config['log']['driver'], config=config['log']['options'])
        if config['log'] else None,
    )
    host_config = api.create_host_config(**dict((k, v) for k, v in host_kwargs.items() if v is not None))

    networking_config = None
    extra_networks = []
    for net in config['networks']:
        if net['name'] == config['network_mode']:
            networking_config = api.create_networking_config(
                {net['name']: api.create_endpoint_config(aliases=net['aliases'] or None)})
        else:
            extra_networks.append((net['name'], net['aliases']))

    all_labels = dict(config['labels'])
    all_labels.update(labels)
    kwargs = dict(
        image=image,
        name=name,
        command=config['command'],
        entrypoint=config['entrypoint'],
        environment=['%s=%s' % (k, v) for k, v in sorted(config['env'].items())],
        labels=all_labels,
        user=config['user'],
        working_dir=config['working_dir'],
        host_config=host_config,
        networking_config=networking_config,
        ports=[(int(key.split('/')[0]), key.split('/')[1]) for key in sorted(config['published_ports'])]
        or None,
        healthcheck=config['healthcheck'],
        stop_signal=config['stop_signal'],
        stop_timeout=config['stop_timeout'],
        detach=True,
    )
    return dict((k, v) for k, v in kwargs.items() if v is not None), extra_networks
