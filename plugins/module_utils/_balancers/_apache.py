# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

"""Apache adapter: mod_proxy_balancer's balancer-manager over HTTP(S).

The page (HTML only - httpd 2.4 as packaged answers no XML view reliably) is parsed with the
standard library's html.parser. Members are addressed by their full worker URL, so two members on
one host (blue/green on two ports) are distinct. A change is a POST of the worker's form fields
with the balancer's nonce and a Referer naming the server; httpd ignores a POST whose nonce or
Referer it does not like *silently* (it answers 200 with the page), so every POST is verified on
the page it returns. httpd changes one worker per request: a cutover is two POSTs, the member
entering rotation first, so there is never a moment where neither takes requests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
import traceback

from ansible.module_utils.six.moves.html_parser import HTMLParser
from ansible.module_utils.six.moves.urllib.parse import parse_qs, urlsplit, urlunsplit

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNKNOWN, UP,
    ApplyError, Backend, BalancerAdapter, BalancerConnectionError, BalancerError, BalancerResponseError,
    Member,
    backend_not_found, parse_number,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._traffic import without_credentials

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only where requests is missing
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

BALANCER_PREFIX = 'balancer://'
WORKER_COLUMNS = ('Worker URL', 'Factor', 'Status', 'Busy')

# Status words of ap_proxy_parse_wstatus() (httpd modules/proxy/mod_proxy.c, proxy_wstat_tbl)
STATUS_DISABLED = ('Dis', 'Stop')
STATUS_DRAINING = ('Drn',)
STATUS_FAILED = ('Err', 'HcFl')
STATUS_STANDBY = ('Stby', 'Spar')

# Form fields (w_status_<flag>) that give each state; other flags (I, H, R, C) are left alone.
STATE_FIELDS = {
    ENABLED: dict(w_status_D='0', w_status_S='0', w_status_N='0'),
    DRAINED: dict(w_status_D='0', w_status_S='0', w_status_N='1'),
    DISABLED: dict(w_status_D='1', w_status_N='0'),
}


class _PageParser(HTMLParser):
    """Collects the server name (h1), every balancer (h3 link: name + nonce) and its tables."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.server_name = None
        self.balancers = []            # dicts: name, nonce, tables: [[row: [(text, hrefs)]]]
        self._in = None                # 'h1' | 'h3' while inside one
        self._text = []
        self._h3_href = None
        self._tables = []              # stack of row lists
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ('h1', 'h3'):
            self._in = tag
            self._text = []
            self._h3_href = None
        elif tag == 'a' and self._in == 'h3':
            self._h3_href = attrs.get('href')
        elif tag == 'table':
            self._tables.append([])
        elif tag == 'tr' and self._tables:
            self._row = []
            self._tables[-1].append(self._row)
        elif tag in ('td', 'th') and self._row is not None:
            self._cell = [tag, [], []]
            self._row.append(self._cell)
        elif tag == 'a' and self._cell is not None and attrs.get('href'):
            self._cell[2].append(attrs['href'])

    def handle_endtag(self, tag):
        if tag == self._in:
            text = ''.join(self._text).strip()
            if tag == 'h1':
                prefix = 'Load Balancer Manager for '
                if text.startswith(prefix):
                    self.server_name = text[len(prefix):].strip()
            elif tag == 'h3' and text.startswith('LoadBalancer Status for ') and self._h3_href:
                query = parse_qs(urlsplit(self._h3_href).query)
                name = text[len('LoadBalancer Status for '):].split(' [', 1)[0].strip()
                self.balancers.append(dict(name=name, b=query.get('b', [''])[0],
                                           nonce=query.get('nonce', [''])[0], tables=[]))
            self._in = None
        elif tag == 'table' and self._tables:
            table = self._tables.pop()
            if self.balancers and not self._tables:
                self.balancers[-1]['tables'].append(table)
            self._row = None
        elif tag in ('td', 'th'):
            self._cell = None
        elif tag == 'tr':
            self._row = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)


def _cells(row):
    return [(tag, ''.join(text).strip(), hrefs) for tag, text, hrefs in row]


def parse_manager_page(html, where='balancer-manager'):
    """{'server_name': str or None, 'balancers': {name: {'nonce', 'b', 'workers': [dict]}}}.

    Worker dicts: url (as httpd names the worker, from the link's w= parameter), display,
    route, factor, status (text), flags (list), busy, elected.
    """
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception as exc:  # html.parser raises on a few malformed constructs
        raise BalancerResponseError('%s: the page could not be parsed as HTML: %s' % (where, exc))
    if not parser.balancers:
        raise BalancerResponseError(
            "%s did not return a balancer-manager page (no 'LoadBalancer Status for' section). "
            "Is apache_url the URL of a 'SetHandler balancer-manager' location? Page starts: %r"
            % (where, html[:200]))
    balancers = {}
    for raw in parser.balancers:
        name = raw['name']
        if name.startswith(BALANCER_PREFIX):
            name = name[len(BALANCER_PREFIX):]
        if not raw['nonce']:
            raise BalancerResponseError(
                "%s: balancer '%s' has no nonce in its link; changes cannot be posted." % (where, name))
        workers = None
        used = None
        for table in raw['tables']:
            if not table:
                continue
            header = [text for tag, text, hrefs in _cells(table[0])]
            if 'MaxMembers' in header and len(table) > 1:
                cells = _cells(table[1])
                index = header.index('MaxMembers')
                match = re.search(r'\[(\d+) Used\]', cells[index][1]) if index < len(cells) else None
                used = int(match.group(1)) if match else None
            if 'Worker URL' not in header:
                continue
            missing = [c for c in WORKER_COLUMNS if c not in header]
            if missing:
                raise BalancerResponseError(
                    "%s: the worker table of balancer '%s' lacks column(s) %s; header was %s"
                    % (where, name, ', '.join(missing), header))
            workers = [_worker(header, row, name, where) for row in table[1:] if row]
        if workers is None:
            raise BalancerResponseError(
                "%s: balancer '%s' has no worker table ('Worker URL' header)." % (where, name))
        if used is not None and used != len(workers):
            raise BalancerResponseError(
                "%s: balancer '%s' reports %d members in use but the page lists %d (truncated page?)."
                % (where, name, used, len(workers)))
        balancers[name] = dict(nonce=raw['nonce'], b=raw['b'] or name, workers=workers)
    return dict(server_name=parser.server_name, balancers=balancers)


def _worker(header, row, balancer, where):
    cells = _cells(row)
    if len(cells) < len(header):
        raise BalancerResponseError(
            "%s: a worker row of balancer '%s' has %d cells, the header %d: %r"
            % (where, balancer, len(cells), len(header), [c[1] for c in cells]))
    values = dict((name, cells[i][1]) for i, name in enumerate(header))
    hrefs = cells[header.index('Worker URL')][2]
    url = None
    for href in hrefs:
        w = parse_qs(urlsplit(href).query).get('w')
        if w:
            url = w[0]
            break
    display = values['Worker URL']
    if not url:
        url = display
    if not url:
        raise BalancerResponseError("%s: a worker row of balancer '%s' has no worker URL." % (where, balancer))
    status = values['Status']
    label = "worker '%s' of balancer '%s'" % (url, balancer)
    return dict(url=url, display=display, route=values.get('Route', ''), status=status,
                flags=status.split(),
                factor=parse_number(values['Factor'], 'Factor of %s' % label, where),
                busy=parse_number(values['Busy'], 'Busy of %s' % label, where),
                elected=values.get('Elected', ''), to=values.get('To', ''), sent=values.get('From', ''))


def member_from_worker(worker):
    flags = worker['flags']
    if any(f in flags for f in STATUS_DISABLED):
        state = DISABLED
    elif any(f in flags for f in STATUS_DRAINING):
        state = DRAINED
    else:
        state = ENABLED
    if any(f in flags for f in STATUS_FAILED):
        health = DOWN
    elif 'Ok' in flags:
        health = UP
    else:
        health = UNKNOWN
    standby = any(f in flags for f in STATUS_STANDBY)
    serving = state == ENABLED and health != DOWN and not standby
    return Member(worker['url'], state, weight=worker['factor'], health=health, serving=serving,
                  active=worker['busy'], status=worker['status'],
                  serves_when_enabled=health != DOWN and not standby)


def persisted(html):
    """What the balancer-manager page says about its changes across restarts (httpd prints
    'Balancer changes will NOT be persisted on restart.' unless BalancerPersist is on)."""
    if 'will NOT be persisted on restart' in html:
        return 'balancer-manager changes are not persisted on restart'
    if 'will be persisted on restart' in html:
        return 'balancer-manager changes are persisted on restart (BalancerPersist)'
    return None


def normalize_balancer(name):
    return name[len(BALANCER_PREFIX):] if name.startswith(BALANCER_PREFIX) else name


class ManagerClient(object):
    """GET/POST of the balancer-manager page with auth, TLS options and one session."""

    def __init__(self, url, timeout, username=None, password=None, validate_certs=True,
                 ca_path=None, client_cert=None, client_key=None, session=None):
        refuse_credentials_in_url(url)
        self.url = url
        self.timeout = timeout
        # Given with each request, not only as session.verify: requests replaces a request's
        # unset verify with REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the environment *before* it
        # merges the session's, so the CA the user named would never be used there.
        self.verify = ca_path if (validate_certs and ca_path) else bool(validate_certs)
        if session is None:
            session = requests.Session()
            if username is not None:
                session.auth = (username, password or '')
            session.verify = self.verify
            if client_cert:
                session.cert = (client_cert, client_key) if client_key else client_cert
        self.session = session

    def _call(self, method, step, **kwargs):
        try:
            response = self.session.request(method, self.url, timeout=self.timeout,
                                            allow_redirects=False, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            reason = _reason(exc)
            if 'CERTIFICATE_REQUIRED' in reason.upper() or 'HANDSHAKE_FAILURE' in reason.upper():
                hint = ('The server asks for a client certificate: give apache_client_cert and '
                        'apache_client_key.')
            else:
                hint = ('If the certificate is signed by a private CA, give apache_ca_path; set '
                        'apache_validate_certs: false only for throw-away test setups.')
            raise BalancerConnectionError(
                'TLS handshake with the balancer-manager at %s failed during %s: %s. %s'
                % (self.url, step, reason, hint))
        except requests.exceptions.Timeout:
            raise BalancerConnectionError(
                'The balancer-manager at %s did not answer within %ss during %s.'
                % (self.url, self.timeout, step))
        except requests.exceptions.RequestException as exc:
            raise BalancerConnectionError(
                'Cannot reach the balancer-manager at %s during %s: %s.' % (self.url, step, _reason(exc)))
        except (IOError, OSError) as exc:   # unreadable client certificate or CA file
            raise BalancerConnectionError(
                'Cannot reach the balancer-manager at %s during %s: %s.' % (self.url, step, exc))
        if response.status_code == 401:
            raise BalancerConnectionError(
                'The balancer-manager at %s refused the credentials during %s (HTTP 401%s). '
                'Check apache_username/apache_password.'
                % (self.url, step, '' if self.session.auth else ', and none were given'))
        if response.status_code != 200:
            raise BalancerConnectionError(
                'The balancer-manager at %s answered HTTP %s %s during %s; expected 200.'
                % (self.url, response.status_code, response.reason, step))
        return response.text

    def get(self):
        return self._call('GET', 'reading the page')

    def post(self, fields, referer, step):
        return self._call('POST', step, data=fields, headers={'Referer': referer})


def refuse_credentials_in_url(url):
    """user:password@ in apache_url would be sent as basic auth *and* shown wherever the URL is
    (messages, the module's invocation): refused, with the URL shown without them."""
    shown = without_credentials(url)
    if not shown:
        return
    raise BalancerError(
        'apache_url %s carries credentials (user:password@); give them as apache_username and '
        'apache_password (those are no_log) and remove them from the URL. Nothing was changed.' % shown)


def url_password(url):
    """The password part of a URL, as written (None when there is none)."""
    try:
        return urlsplit(url or '').password
    except ValueError:
        return None


def _reason(exc):
    """The innermost reason of a requests/urllib3 error, without the long wrapper text."""
    seen = exc
    for dummy in range(5):
        inner = seen.args[0] if getattr(seen, 'args', None) else None
        if isinstance(inner, Exception):
            seen = inner
            continue
        reason = getattr(seen, 'reason', None)
        if isinstance(reason, Exception):
            seen = reason
            continue
        break
    return str(seen) or exc.__class__.__name__


class ApacheAdapter(BalancerAdapter):
    kind = 'apache'
    weight_range = (1, 100)
    atomic = False        # one POST per worker
    keep_state_hint = ("Apache forgets balancer-manager changes on every restart (its page says "
                       "'Balancer changes will NOT be persisted on restart'); see docs/balancer-reloads.md.")

    def __init__(self, client, stale_busy_after=0, clock=time.monotonic, warn=None):
        self.client = client
        self._page = None
        self.stale_busy_after = stale_busy_after
        self.clock = clock
        self.warn = warn or (lambda msg: None)
        self._unchanged_since = {}     # member -> (its counters, when they were first seen so)

    @classmethod
    def from_params(cls, params, module=None, clock=time.monotonic):
        password = url_password(params['apache_url'])
        if password and module is not None:
            # Masked wherever Ansible prints the module's arguments or results (the invocation
            # shows apache_url as given), as a no_log option would be.
            module.no_log_values.add(password)
        return cls(ManagerClient(
            params['apache_url'], params['request_timeout'],
            username=params.get('apache_username'), password=params.get('apache_password'),
            validate_certs=params.get('apache_validate_certs', True),
            ca_path=params.get('apache_ca_path'), client_cert=params.get('apache_client_cert'),
            client_key=params.get('apache_client_key')),
            stale_busy_after=params.get('apache_stale_busy_after', 0), clock=clock,
            warn=module.warn if module is not None else None)

    def active(self, backend, names, current=None):
        """Busy per member - except a Busy that no traffic explains.

        httpd updates a worker's Busy without atomic operations, so under concurrent load it
        drifts, and a member that gets no request any more can show Busy 1 for good (seen here
        after a cutover: Elected frozen, Busy stuck at 1). A request really in flight moves
        Elected, To or From when it ends, so a member whose counters have all stayed the same
        for stale_busy_after seconds counts as idle, with a warning."""
        counts = BalancerAdapter.active(self, backend, names, current)
        if not self.stale_busy_after:
            return counts
        now = self.clock()
        workers = dict((w['url'], w) for w in self._page['balancers'][normalize_balancer(backend)]['workers'])
        for name in names:
            worker = workers[name]
            counters = (worker['busy'], worker['elected'], worker['to'], worker['sent'])
            seen = self._unchanged_since.get(name)
            if seen is None or seen[0] != counters:
                self._unchanged_since[name] = (counters, now)
            elif counts[name] and now - seen[1] >= self.stale_busy_after:
                self.warn("Apache reports Busy %s for worker '%s' of balancer '%s', but none of its "
                          "counters moved for %ss; counted as idle (httpd's Busy drifts under "
                          "concurrent load; apache_stale_busy_after)."
                          % (counts[name], name, normalize_balancer(backend), round(now - seen[1], 1)))
                counts[name] = 0
        return counts

    def describe(self):
        return 'the Apache balancer-manager at %s' % self.client.url

    def _backend(self, page, backend):
        name = normalize_balancer(backend)
        balancers = page['balancers']
        if name not in balancers:
            raise backend_not_found(backend, sorted(balancers), self.describe(), kind='balancer')
        members = [member_from_worker(w) for w in balancers[name]['workers']]
        # httpd draws a new nonce for every balancer at every (graceful) restart.
        return Backend(backend, members, self.describe(), generation='nonce %s' % balancers[name]['nonce'])

    def read(self, backend):
        html = self.client.get()
        self._page = parse_manager_page(html, self.describe())
        self._page['persisted'] = persisted(html)
        return self._backend(self._page, backend)

    def persistence(self):
        return self._page['persisted'] if self._page else None

    def referer(self):
        """httpd accepts the POST only when the Referer's host is its own server name, the one
        shown in the page heading; the URL's host is used when the page shows none."""
        parts = urlsplit(self.client.url)
        host = (self._page or {}).get('server_name') or parts.hostname or ''
        if ':' in host and not host.startswith('['):
            host = '[%s]' % host
        netloc = host + (':%d' % parts.port if parts.port else '')
        return urlunsplit((parts.scheme, netloc, parts.path, '', ''))

    def apply(self, backend, changes):
        if self._page is None:
            self.read(backend)
        name = normalize_balancer(backend)
        done = []
        for change in changes:
            balancer = self._page['balancers'][name]
            fields = dict(b=balancer['b'], w=change.name, nonce=balancer['nonce'])
            if change.state is not None:
                fields.update(STATE_FIELDS[change.state])
            if change.weight is not None:
                fields['w_lf'] = str(change.weight)
            step = "setting worker '%s' of balancer '%s' to %s" % (change.name, name, _describe_change(change))
            try:
                page = parse_manager_page(self.client.post(fields, self.referer(), step), self.describe())
            except BalancerError as exc:
                raise ApplyError('%s%s' % (exc, _done_note(done)), partial=bool(done))
            self._page = page
            member = self._backend(page, backend).get(change.name)
            if member is None or not _took(member, change):
                seen = member.status if member is not None else 'worker missing'
                raise ApplyError(
                    "%s did not take %s: the page still shows %s (factor %s). httpd ignores a POST "
                    "whose nonce or Referer it rejects; the Referer sent was %s.%s"
                    % (self.describe(), step, seen, member.weight if member else '?',
                       self.referer(), _done_note(done)), partial=bool(done))
            done.append(step)


def _describe_change(change):
    parts = []
    if change.state is not None:
        parts.append(change.state)
    if change.weight is not None:
        parts.append('load factor %s' % change.weight)
    return ' with '.join(parts)


def _took(member, change):
    if change.state is not None and member.state != change.state:
        return False
    if change.weight is not None and member.weight != change.weight:
        return False
    return True


def _done_note(done):
    if not done:
        return ' Nothing was changed.'
    return ' Already done before this step (left so): %s.' % '; '.join(done)
