# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Caddy adapter: the admin API (JSON over HTTP, on a unix socket or TCP, optionally TLS).

A backend is one ``reverse_proxy`` handler of the running configuration, named by its ``@id``
or by its config path (``apps/http/servers/web/routes/0/handle/0``). Members are its
upstreams, named by their ``dial`` address exactly as written in the configuration.

Where a member's state lives (Caddy 2.6.2, measured - see docs/balancers.md): Caddy has no
per-upstream administrative state; its upstream list is configuration. An upstream removed from
the configuration takes no new requests and its requests in flight finish, but its entry in
``GET /reverse_proxy/upstreams`` (the in-flight count ``num_requests``) is deleted at once
(the host pool is global and reference-counted), so the drain could not be counted and a re-run
could not find the member again. So a member out of rotation is *parked*: moved into a second
``reverse_proxy`` handler placed right after the user's one in the same ``handle`` list, with
the ``@id`` ``zdt-drained:<@id of the handler>`` (or ``zdt-disabled:``; the config path of a handler
without an @id). ``reverse_proxy``
answers every request itself, so a handler after it never serves; Caddy still provisions it,
which keeps the upstream's host - and its in-flight count - in the pool. The state is part of
Caddy's own configuration: it survives ``GET /config/`` + ``POST /load`` round trips and
``--resume``, and every run reads it back from there (no state on the controller).
A drained member's parking handler copies the user's ``health_checks`` and ``transport``, so
Caddy keeps checking it (the candidate of a cutover); a disabled one is not checked.

One apply is one ``PATCH`` of that ``handle`` list: one configuration change, so a cutover
(one member in, another out) is one reload. Every configuration change is a full reload in
Caddy 2.6: requests in flight finish, idle keep-alive client connections are closed and
upgraded (websocket) connections are cut. An unchanged configuration is never sent.

A reload by someone else (``caddy reload`` of a configuration file, i.e. ``POST /load``) puts
the file's configuration in place: parking handlers are gone, every member is back where the file
has it - the run re-asserts them (_runner.Run). A restart does the same (unless Caddy runs with
``--resume``). Both are told apart from this adapter's own changes by ``/metrics``
(parse_generation): a new process start time, or one more configuration load.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNKNOWN,
    ApplyError, Backend, BalancerAdapter, BalancerConnectionError, BalancerInputError,
    BalancerResponseError, Member, NotFoundError, parse_number,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._traffic import (
    OK, STATUS, Client, Target, TrafficInputError, ssl_context,
)

PARKED = (DRAINED, DISABLED)
PARK_PREFIX = 'zdt-%s:'
# Selection policies whose weights are matched to upstreams by position (Caddy 2.7+): refused.
POSITIONAL_WEIGHT_POLICIES = ('weighted_round_robin',)
# Caddy answers errors as {"error": "..."}; the longest part of one shown in a message.
MAX_ERROR_TEXT = 500


def park_id(backend, state):
    """@id of the handler that holds the members of ``backend`` in ``state`` (drained/disabled)."""
    return (PARK_PREFIX % state) + backend


def parse_admin_address(value):
    """(url base, unix socket path or None) from the caddy_admin option."""
    text = (value or '').strip()
    for prefix in ('unix://', 'unix:', 'unix/'):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if text.startswith('/'):
        return 'http://localhost', text
    if text.startswith('http://') or text.startswith('https://'):
        return text.rstrip('/'), None
    raise BalancerInputError(
        "caddy_admin %r is neither a unix socket (unix//run/caddy/admin.sock, /run/caddy/admin.sock) "
        "nor an http(s):// URL (http://127.0.0.1:2019). Nothing was changed." % value)


class AdminApi(object):
    """One HTTP request per call to Caddy's admin endpoint, answered JSON parsed."""

    def __init__(self, address, timeout, origin=None, validate_certs=True, ca_path=None,
                 client_cert=None, client_key=None, client=None):
        self.address = address
        self.base, self.unix_socket = parse_admin_address(address)
        self.origin = origin
        self.context = None
        try:
            if self.base.startswith('https://'):
                self.context = ssl_context(validate_certs, ca_path, client_cert, client_key)
            Target(self.base + '/', unix_socket=self.unix_socket, context=self.context)
        except TrafficInputError as exc:
            raise BalancerInputError('caddy_admin %s: %s. Nothing was changed.' % (address, exc))
        # A new connection per request: the calls go to several paths (a target each), and a
        # drain polls at most every poll_interval.
        self.client = client or Client(timeout=timeout, keepalive=False, expect=(200,),
                                       version_header=None)

    def request(self, method, path, body=None, step=None):
        """The answer parsed as JSON (None when empty)."""
        text = self.send(method, path, body, step)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise BalancerResponseError(
                'The Caddy admin API at %s answered %s with something that is not JSON: %r'
                % (self.address, step or '%s %s' % (method, path), text[:200]))

    def text(self, path, step=None):
        """The answer of a GET as text (/metrics is Prometheus text, not JSON)."""
        return self.send('GET', path, step=step)

    def send(self, method, path, body=None, step=None):
        """The answer's text; BalancerConnectionError when Caddy cannot be reached, AdminError
        when it answers anything but 200."""
        step = step or '%s %s' % (method, path)
        target = Target(self.base + path, unix_socket=self.unix_socket, context=self.context)
        headers = {'Accept': 'application/json'}
        if self.unix_socket:
            # Caddy accepts only an empty Host on a unix socket ("host not allowed: localhost").
            headers['Host'] = ''
        if self.origin:
            headers['Origin'] = self.origin
        data = None
        if body is not None:
            data = json.dumps(body, separators=(',', ':')).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        result = self.client.request(target, method=method, headers=headers, body=data,
                                     keep_response=True)
        if result.outcome not in (OK, STATUS):
            raise BalancerConnectionError(
                'Cannot reach the Caddy admin API at %s during %s: %s (%s).'
                % (self.address, step, result.error, result.outcome))
        text = (result.body or b'').decode('utf-8', 'replace')
        if result.status != 200:
            raise AdminError(result.status, caddy_error(text), self.address, step)
        return text

    def close(self):
        self.client.close()


class AdminError(BalancerConnectionError):
    """A non-200 answer of the admin API; ``status`` and Caddy's own ``error`` text."""

    def __init__(self, status, error, address, step):
        hint = ''
        if status == 403 and 'host not allowed' in error:
            hint = (' Caddy checks the Host header against admin.origins: use an address in '
                    'caddy_admin that is one of them (a unix socket needs none).')
        elif status == 403 and 'origin' in error.lower():
            hint = ' admin.enforce_origin is on: give caddy_origin, one of admin.origins.'
        BalancerConnectionError.__init__(
            self, 'The Caddy admin API at %s answered HTTP %s during %s: %s.%s'
            % (address, status, step, error, hint))
        self.status = status
        self.error = error


def caddy_error(text):
    """Caddy's error text from its {"error": "..."} answer (the raw text when it is not that)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get('error'), str):
        text = value['error']
    text = text.strip()
    return text if len(text) <= MAX_ERROR_TEXT else text[:MAX_ERROR_TEXT] + '...'


# ------------------------------------------------------------------ the configuration tree

def split_path(backend):
    """Config path of ``backend`` as a list of keys (digits for list indexes), or None when the
    backend is an @id."""
    text = backend.strip()
    for prefix in ('/config/', 'config/', '/'):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if '/' not in text:
        return None
    return [part for part in text.split('/') if part]


def walk(node):
    """Every (path, dict) of the configuration tree, depth first, in document order."""
    found = []
    stack = [((), node)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            found.append((list(path), item))
            children = [(path + (key,), value) for key, value in item.items()]
        elif isinstance(item, list):
            children = [(path + (index,), value) for index, value in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))
    return found


def resolve(config, path):
    """The node at ``path`` (list of keys; digits index lists) and the path with real ints."""
    node = config
    real = []
    for part in path:
        if isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
            real.append(int(part))
        elif isinstance(node, dict) and part in node:
            node = node[part]
            real.append(part)
        else:
            return None, None
    return node, real


def path_text(path):
    return '/'.join(str(part) for part in path)


def handlers(config):
    """'@id' or config path of every reverse_proxy handler, for messages."""
    found = []
    for path, node in walk(config):
        if node.get('handler') == 'reverse_proxy' and not str(node.get('@id', '')).startswith('zdt-'):
            found.append("@id '%s'" % node['@id'] if '@id' in node else path_text(path))
    return found


class Located(object):
    """The user's reverse_proxy handler, its parent ``handle`` list and the parking handlers.

    ``key`` names the parking handlers: the handler's @id when it has one (whether the user gave
    the @id or a config path), else its config path."""

    def __init__(self, backend, handler_path, handle, index):
        self.backend = backend
        self.key = handle[index].get('@id') or path_text(handler_path)
        self.handler_path = handler_path
        self.list_path = handler_path[:-1]
        self.handle = handle
        self.index = index

    @property
    def handler(self):
        return self.handle[self.index]

    def parked(self, state):
        wanted = park_id(self.key, state)
        for node in self.handle:
            if isinstance(node, dict) and node.get('@id') == wanted:
                return node
        return None

    def places(self):
        """[(state, upstream list)] - the handler's own and each parking handler's."""
        places = [(ENABLED, self.handler.get('upstreams') or [])]
        for state in PARKED:
            parked = self.parked(state)
            if parked is not None:
                places.append((state, parked.get('upstreams') or []))
        return places


def locate(config, backend, where):
    """Located for ``backend`` (an @id or a config path) in the whole configuration."""
    if not isinstance(config, dict):
        raise NotFoundError("%s has no configuration loaded (GET /config/ answered %r). Nothing was "
                            "changed." % (where, config))
    path = split_path(backend)
    if path is None:
        matches = [found for found, node in walk(config) if node.get('@id') == backend]
        real = matches[0] if matches else None
        node = resolve(config, real)[0] if real else None
        what = "@id '%s'" % backend
    else:
        node, real = resolve(config, path)
        what = "config path '%s'" % path_text(path)
    if node is None:
        existing = handlers(config)
        raise NotFoundError(
            "%s not found in the configuration of %s. reverse_proxy handlers there: %s. "
            "Nothing was changed." % (what, where, ', '.join(existing) or '(none)'))
    if not isinstance(node, dict) or node.get('handler') != 'reverse_proxy':
        shown = node.get('handler') if isinstance(node, dict) else type(node).__name__
        raise BalancerInputError(
            "%s in %s is not a reverse_proxy handler (it is %r); give the @id or config path of "
            "one. Nothing was changed." % (what, where, shown))
    parent, dummy = resolve(config, real[:-1])
    if not isinstance(parent, list):
        raise BalancerInputError(
            "%s in %s is not an element of a 'handle' list; members are parked in a second handler "
            "beside it, so it must be one. Nothing was changed." % (what, where))
    policy = ((node.get('load_balancing') or {}).get('selection_policy') or {}).get('policy')
    if policy in POSITIONAL_WEIGHT_POLICIES:
        raise BalancerInputError(
            "%s in %s uses the selection policy '%s', whose weights are matched to upstreams by "
            "position; moving upstreams would mix them up. This adapter drives the policies of "
            "Caddy 2.6, which have no weights. Nothing was changed." % (what, where, policy))
    return Located(backend, real, parent, real[-1])


def dial_of(upstream, where):
    dial = upstream.get('dial') if isinstance(upstream, dict) else None
    if not isinstance(dial, str) or not dial:
        raise BalancerResponseError('%s: an upstream without a dial address: %r' % (where, upstream))
    return dial


def members_from(located, counts, where):
    """Members of the located handler (enabled) and its parking handlers (drained, disabled).

    counts: {address: (num_requests, fails)} from /reverse_proxy/upstreams."""
    passive = (located.handler.get('health_checks') or {}).get('passive') or {}
    max_fails = (passive.get('max_fails') or 1) if passive.get('fail_duration') else None
    members = []
    seen = {}
    for state, upstreams in located.places():
        for upstream in upstreams:
            name = dial_of(upstream, where)
            if name in seen:
                raise BalancerResponseError(
                    "%s: upstream '%s' of backend '%s' is both %s and %s (in the handler and a "
                    "parking handler); fix the configuration." % (where, name, located.backend, seen[name], state))
            seen[name] = state
            active, fails = counts.get(name, (0, 0))
            health = DOWN if max_fails is not None and fails >= max_fails else UNKNOWN
            status = '%s, %s in flight, %s recent fails' % (
                'in the handler' if state == ENABLED else 'parked in %s' % park_id(located.key, state),
                active, fails)
            members.append(Member(name, state, weight=None, health=health,
                                  serving=state == ENABLED and health != DOWN, active=active,
                                  status=status))
    return members


def parse_upstreams(data, where):
    """{address: (num_requests, fails)} from GET /reverse_proxy/upstreams."""
    if not isinstance(data, list):
        raise BalancerResponseError('%s: /reverse_proxy/upstreams answered %r, expected a list.'
                                    % (where, data))
    counts = {}
    for entry in data:
        if not isinstance(entry, dict) or 'address' not in entry:
            raise BalancerResponseError('%s: unexpected entry in /reverse_proxy/upstreams: %r' % (where, entry))
        label = "upstream '%s'" % entry['address']
        counts[entry['address']] = (
            parse_number(str(entry.get('num_requests', 0)), 'num_requests of %s' % label, where),
            parse_number(str(entry.get('fails', 0)), 'fails of %s' % label, where))
    return counts


def moved(located, changes):
    """The new ``handle`` list with every changed member in the place of its new state.
    Members entering rotation are appended to the handler's upstreams; an emptied parking
    handler is removed; a new one goes right after the handler."""
    handle = copy.deepcopy(located.handle)
    new = Located(located.backend, located.handler_path, handle, located.index)
    handler = new.handler
    for change in changes:
        if change.state is None:
            continue
        upstream = None
        for state, upstreams in new.places():
            for item in upstreams:
                if item.get('dial') == change.name:
                    upstream = item
                    upstreams.remove(item)
                    break
            if upstream is not None:
                break
        if upstream is None:
            raise ApplyError("upstream '%s' is no longer in backend '%s' (changed meanwhile?). "
                             "Nothing was changed." % (change.name, located.backend))
        if change.state == ENABLED:
            handler.setdefault('upstreams', []).append(upstream)
            continue
        parked = new.parked(change.state)
        if parked is None:
            parked = dict(handler='reverse_proxy', upstreams=[])
            parked['@id'] = park_id(located.key, change.state)
            keys = ('health_checks', 'transport') if change.state == DRAINED else ('transport',)
            for key in keys:
                if key in handler:
                    parked[key] = copy.deepcopy(handler[key])
            offset = 1 if change.state == DRAINED or new.parked(DRAINED) is None else 2
            handle.insert(new.index + offset, parked)
        parked.setdefault('upstreams', []).append(upstream)
    emptied = [new.parked(state) for state in PARKED if new.parked(state) is not None
               and not new.parked(state).get('upstreams')]
    return [node for node in handle if not any(node is parked for parked in emptied)]


# /metrics of the admin endpoint (Prometheus text): the process's start time and the loads of a
# whole configuration (POST /load: what `caddy reload` sends), both in Caddy 2.6.2.
START_METRIC = 'process_start_time_seconds'
LOADS_METRIC = 'caddy_admin_http_requests_total'
LOADS_LABELS = ('handler="load"', 'code="200"')


def parse_generation(text):
    """'process started <epoch>, <n> config load(s)' from /metrics, or None when the start time is
    not there. A restart starts a new process; a reload (``caddy reload``, POST /load - also one
    Caddy skipped because nothing changed) adds a load. This adapter's own changes are PATCHes of
    /config/ and count as neither."""
    started = None
    loads = 0
    for line in text.splitlines():
        if line.startswith(START_METRIC + ' '):
            try:
                started = float(line.split()[1])
            except ValueError:
                return None
        elif line.startswith(LOADS_METRIC + '{') and all(label in line for label in LOADS_LABELS):
            try:
                loads += int(float(line.rsplit(None, 1)[1]))
            except ValueError:
                return None
    if started is None:
        return None
    return 'process started %.2f, %d config load(s)' % (started, loads)


class CaddyAdapter(BalancerAdapter):
    kind = 'caddy'
    weight_range = None
    no_weights_reason = ('Caddy 2.6 has no per-upstream weight (its selection policies: random, '
                         'round_robin, least_conn, first, ip_hash, uri_hash, header, cookie, '
                         'random_choose; weighted_round_robin came with Caddy 2.7)')
    atomic = True
    keep_state_hint = ("Caddy replaces the members' state with its configuration file's on every "
                       "'caddy reload' (POST /load) and on a restart without --resume; see "
                       "docs/balancer-reloads.md.")

    def __init__(self, api):
        self.api = api

    def close(self):
        self.api.close()

    @classmethod
    def from_params(cls, params, module=None):
        return cls(AdminApi(
            params['caddy_admin'], params['request_timeout'], origin=params.get('caddy_origin'),
            validate_certs=params.get('caddy_validate_certs', True), ca_path=params.get('caddy_ca_path'),
            client_cert=params.get('caddy_client_cert'), client_key=params.get('caddy_client_key')))

    def describe(self):
        return 'the Caddy admin API at %s' % self.api.address

    def counts(self):
        return parse_upstreams(self.api.request('GET', '/reverse_proxy/upstreams',
                                                step='reading the upstreams'), self.describe())

    def read(self, backend):
        where = self.describe()
        config = self.api.request('GET', '/config/', step='reading the configuration')
        members = members_from(locate(config, backend, where), self.counts(), where)
        return Backend(backend, members, where, generation=self.generation())

    def generation(self):
        """Which Caddy process and how many configuration loads (parse_generation); None when
        /metrics is not answered (an admin endpoint without it)."""
        try:
            return parse_generation(self.api.text('/metrics', step='reading /metrics'))
        except AdminError:
            return None

    def active(self, backend, names, current=None):
        if current is not None:
            return BalancerAdapter.active(self, backend, names, current)
        counts = self.counts()
        return dict((name, counts.get(name, (0, 0))[0]) for name in names)

    def apply(self, backend, changes):
        where = self.describe()
        located = locate(self.api.request('GET', '/config/', step='reading the configuration'),
                         backend, where)
        handle = moved(located, changes)
        path = '/config/' + '/'.join(quote(str(part), safe='') for part in located.list_path)
        try:
            self.api.request('PATCH', path, handle, step='changing %s' % path_text(located.list_path))
        except AdminError as exc:
            raise ApplyError('%s Caddy keeps its previous configuration when a change fails to load. '
                             'Nothing was changed.' % exc)
