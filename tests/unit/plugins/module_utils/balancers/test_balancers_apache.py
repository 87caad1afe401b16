# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
import requests
from hypothesis import given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, UNKNOWN, UP,
    ApplyError, BalancerConnectionError, BalancerError, BalancerResponseError, Change, NotFoundError,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._apache import (
    ApacheAdapter, ManagerClient, member_from_worker, parse_manager_page,
)
from ansible_collections.zerodowntime.deploy.tests.unit.plugins.module_utils.balancers.balancer_helpers import (
    read_fixture,
)

URL = 'http://127.0.0.1:18252/balancer-manager'


def page(name):
    return read_fixture('apache/%s' % name)


def with_status(html, worker, status, factor=None):
    """The page with one worker's Status (and Factor) cell changed, as httpd would show it."""
    pattern = re.compile(r'(w=%s&amp;nonce=[^"]*">[^<]*</a></td><td>[^<]*</td><td>[^<]*</td><td>)([^<]*)'
                         r'(</td><td>[^<]*</td><td>)([^<]*)(</td>)' % re.escape(worker))
    new, count = pattern.subn(lambda m: m.group(1) + (factor or m.group(2)) + m.group(3) + status + m.group(5), html)
    assert count == 1
    return new


class FakeClient(object):
    url = URL

    def __init__(self, get_pages, post_pages=()):
        self.get_pages = list(get_pages)
        self.post_pages = list(post_pages)
        self.posts = []

    def get(self):
        return self.get_pages.pop(0)

    def post(self, fields, referer, step):
        self.posts.append((fields, referer, step))
        return self.post_pages.pop(0)


# ---------------------------------------------------------------- parser on real pages

def test_parse_initial_page():
    parsed = parse_manager_page(page('page_initial.html'))
    assert parsed['server_name'] == '127.0.0.1'
    assert sorted(parsed['balancers']) == ['app', 'other']
    app = parsed['balancers']['app']
    assert re.match(r'^[0-9a-f-]{36}$', app['nonce'])
    urls = [w['url'] for w in app['workers']]
    assert urls == ['http://127.0.0.1:18241', 'http://127.0.0.1:18242', 'http://127.0.0.1:18243',
                    'http://127.0.0.1:18249']
    green = app['workers'][1]
    assert (green['route'], green['factor'], green['status'], green['busy']) == ('green', 5, 'Init Ok', 0)
    assert parsed['balancers']['other']['workers'][0]['url'] == 'http://127.0.0.1:18241/sub'


def test_same_host_members_are_distinct():
    members = [member_from_worker(w) for w in parse_manager_page(page('page_initial.html'))['balancers']['app']['workers']]
    assert [m.state for m in members] == [ENABLED, ENABLED, DISABLED, ENABLED]
    assert members[0].name != members[1].name


def test_parse_draining_page_with_requests_in_flight():
    workers = parse_manager_page(page('page_draining_busy.html'))['balancers']['app']['workers']
    members = dict((w['url'], member_from_worker(w)) for w in workers)
    green = members['http://127.0.0.1:18242']
    assert (green.state, green.health, green.active, green.serving, green.status) == \
        (DRAINED, UP, 4, False, 'Init Drn Ok')
    dead = members['http://127.0.0.1:18249']
    assert (dead.state, dead.health, dead.serving, dead.serves_when_enabled) == (ENABLED, DOWN, False, False)
    off = members['http://127.0.0.1:18243']
    assert (off.state, off.health) == (DISABLED, UNKNOWN)


def test_parse_page_with_health_checks():
    workers = parse_manager_page(page('page_hcheck.html'))['balancers']['hc']['workers']
    failing = member_from_worker(workers[1])
    assert (failing.state, failing.health, failing.status, failing.serves_when_enabled) == \
        (DISABLED, DOWN, 'Init Dis HcFl', False)
    assert member_from_worker(workers[0]).health == UP


def test_parse_post_response_with_edit_form():
    parsed = parse_manager_page(page('post_drain_response.html'))
    assert [w['status'] for w in parsed['balancers']['app']['workers']][1] == 'Init Drn Ok'


def test_standby_members_do_not_count_as_serving():
    worker = dict(url='http://a', flags=['Init', 'Stby', 'Ok'], factor=1, busy=0, status='Init Stby Ok')
    member = member_from_worker(worker)
    assert (member.state, member.serving, member.serves_when_enabled) == (ENABLED, False, False)


# ---------------------------------------------------------------- mutated / garbage pages

@pytest.mark.parametrize('mutate, message', [
    (lambda p: p.replace('<th>Busy</th>', '<th>Active</th>'), r"lacks column\(s\) Busy"),
    (lambda p: p.replace('<td>Init Ok </td><td>0</td><td>0</td>', '<td>Init Ok </td><td>0</td><td>n/a</td>', 1),
     r"expected a number for Busy of worker 'http://127.0.0.1:18241'"),
    (lambda p: re.sub(r'b=app&amp;nonce=[^"]*"', 'b=app"', p, 1), r"balancer 'app' has no nonce"),
    (lambda p: re.sub(r'<tr>\n<td><a [^\n]*18243&amp;[^\n]*\n', '', p), r"reports 4 members in use but the page lists 3"),
    (lambda p: p[:p.index('http://127.0.0.1:18243</a>')], r"balancer 'app' has no worker table"),
    (lambda p: p.replace('Worker URL', 'Member'), r"balancer 'app' has no worker table"),
    (lambda p: p.replace('<h3>LoadBalancer Status for', '<h3>Status of'), r"did not return a balancer-manager page"),
])
def test_mutated_pages_are_clear_errors(mutate, message):
    with pytest.raises(BalancerResponseError, match=message):
        parse_manager_page(mutate(page('page_initial.html')), URL)


def test_not_a_manager_page():
    with pytest.raises(BalancerResponseError) as info:
        parse_manager_page(page('not_a_manager_page.txt'), URL)
    assert "Is apache_url the URL of a 'SetHandler balancer-manager' location?" in str(info.value)
    assert "'version=v1" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_parser_fails_only_with_response_errors(text):
    try:
        parse_manager_page(text)
    except BalancerResponseError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=len(read_fixture('apache/page_initial.html'))))
def test_any_truncation_is_an_error_or_complete(cut):
    """A page cut anywhere never yields a balancer with members missing without an error."""
    try:
        parsed = parse_manager_page(page('page_initial.html')[:cut])
    except BalancerResponseError:
        return
    assert len(parsed['balancers']['app']['workers']) == 4


# ---------------------------------------------------------------- adapter

def test_read_unknown_balancer_lists_them():
    adapter = ApacheAdapter(FakeClient([page('page_initial.html')]))
    with pytest.raises(NotFoundError) as info:
        adapter.read('balancer://nope')
    assert str(info.value) == ("Balancer 'balancer://nope' not found in the Apache balancer-manager at %s. "
                               "Balancers there: app, other. Nothing was changed." % URL)


def test_read_accepts_balancer_prefix():
    adapter = ApacheAdapter(FakeClient([page('page_initial.html')]))
    assert len(adapter.read('balancer://app').members) == 4


def test_apply_posts_each_member_with_nonce_and_referer_and_verifies():
    initial = page('page_initial.html')
    after_first = with_status(initial, 'http://127.0.0.1:18243', 'Init Ok ', factor='3.00')
    after_second = with_status(after_first, 'http://127.0.0.1:18241', 'Init Drn Ok ')
    client = FakeClient([initial], [after_first, after_second])
    adapter = ApacheAdapter(client)
    adapter.read('app')
    adapter.apply('app', [Change('http://127.0.0.1:18243', ENABLED, 3), Change('http://127.0.0.1:18241', DRAINED)])
    nonce = parse_manager_page(initial)['balancers']['app']['nonce']
    assert client.posts[0][0] == dict(b='app', w='http://127.0.0.1:18243', nonce=nonce, w_status_D='0',
                                      w_status_S='0', w_status_N='0', w_lf='3')
    assert client.posts[1][0] == dict(b='app', w='http://127.0.0.1:18241', nonce=nonce, w_status_D='0',
                                      w_status_S='0', w_status_N='1')
    assert client.posts[0][1] == URL


def test_referer_uses_the_server_name_of_the_page():
    html = page('page_initial.html').replace('Load Balancer Manager for 127.0.0.1', 'Load Balancer Manager for lb.internal')
    adapter = ApacheAdapter(FakeClient([html]))
    adapter.read('app')
    assert adapter.referer() == 'http://lb.internal:18252/balancer-manager'


def test_ignored_post_is_detected_and_stops_the_transaction():
    """httpd answers 200 and ignores a POST whose Referer/nonce it rejects (real capture)."""
    client = FakeClient([page('page_draining_busy.html')], [page('post_without_referer_ignored.html')])
    adapter = ApacheAdapter(client)
    adapter.read('app')
    with pytest.raises(ApplyError) as info:
        adapter.apply('app', [Change('http://127.0.0.1:18241', DISABLED), Change('http://127.0.0.1:18242', ENABLED)])
    assert len(client.posts) == 1
    msg = str(info.value)
    assert "did not take setting worker 'http://127.0.0.1:18241' of balancer 'app' to disabled" in msg
    assert 'the page still shows Init Ok' in msg and 'Nothing was changed.' in msg
    assert not info.value.partial


def test_failure_on_second_post_reports_the_first():
    initial = page('page_initial.html')
    after_first = with_status(initial, 'http://127.0.0.1:18243', 'Init Ok ')
    client = FakeClient([initial], [after_first, after_first])
    adapter = ApacheAdapter(client)
    adapter.read('app')
    with pytest.raises(ApplyError) as info:
        adapter.apply('app', [Change('http://127.0.0.1:18243', ENABLED), Change('http://127.0.0.1:18241', DRAINED)])
    assert info.value.partial
    assert "Already done before this step (left so): setting worker 'http://127.0.0.1:18243' of balancer " \
           "'app' to enabled." in str(info.value)


# ---------------------------------------------------------------- HTTP client errors

class FakeResponse(object):
    def __init__(self, status, text='', reason='OK'):
        self.status_code = status
        self.text = text
        self.reason = reason


class FakeSession(object):
    def __init__(self, outcome, auth=None):
        self.outcome = outcome
        self.auth = auth
        self.calls = []

    def request(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.mark.parametrize('outcome, message', [
    (requests.exceptions.SSLError('certificate verify failed: self-signed certificate'),
     r'TLS handshake with the balancer-manager at .* failed during reading the page: certificate verify '
     r'failed: self-signed certificate. If the certificate is signed by a private CA, give apache_ca_path'),
    (requests.exceptions.SSLError('[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required'),
     r'failed during reading the page: .*certificate required. The server asks for a client certificate: '
     r'give apache_client_cert and apache_client_key.'),
    (requests.exceptions.ConnectionError('Connection refused'),
     r'Cannot reach the balancer-manager at .* during reading the page: Connection refused'),
    (requests.exceptions.ReadTimeout('slow'), r'did not answer within 2.0s during reading the page'),
    (IOError(2, 'No such file or directory'), r'No such file or directory'),
    (FakeResponse(401, reason='Unauthorized'), r'refused the credentials during reading the page \(HTTP 401, and none were given\)'),
    (FakeResponse(404, reason='Not Found'), r'answered HTTP 404 Not Found during reading the page; expected 200'),
])
def test_client_errors(outcome, message):
    client = ManagerClient(URL, 2.0, session=FakeSession(outcome))
    with pytest.raises(BalancerConnectionError, match=message):
        client.get()


def test_client_sends_referer_and_no_redirects():
    session = FakeSession(FakeResponse(200, 'page'), auth=('admin', 'secret'))
    client = ManagerClient(URL, 2.0, session=session)
    assert client.post({'b': 'app'}, 'http://127.0.0.1/balancer-manager', 'step') == 'page'
    method, url, kwargs = session.calls[0]
    assert (method, url, kwargs['headers'], kwargs['allow_redirects'], kwargs['data']) == \
        ('POST', URL, {'Referer': 'http://127.0.0.1/balancer-manager'}, False, {'b': 'app'})


def test_client_session_options():
    client = ManagerClient(URL, 2.0, username='admin', password='pw', ca_path='/ca.pem',
                           client_cert='/c.pem', client_key='/k.pem')
    assert client.session.auth == ('admin', 'pw')
    assert client.session.verify == '/ca.pem'
    assert client.session.cert == ('/c.pem', '/k.pem')
    assert ManagerClient(URL, 2.0, validate_certs=False, ca_path='/ca.pem').session.verify is False


@pytest.mark.parametrize('variable', ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'])
@pytest.mark.parametrize('options, verify', [
    (dict(ca_path='/ca.pem'), '/ca.pem'),
    (dict(validate_certs=False, ca_path='/ca.pem'), False),
    (dict(validate_certs=False), False),
])
def test_the_ca_the_user_named_wins_over_the_environment(monkeypatch, variable, options, verify):
    """Through requests' own Session.request (only the send is faked): an environment bundle
    must not replace apache_ca_path nor turn verification back on."""
    monkeypatch.setenv(variable, '/environment/bundle.pem')
    client = ManagerClient(URL, 2.0, **options)
    sent = []

    def send(request, **kwargs):
        sent.append(kwargs['verify'])
        return FakeResponse(200, 'page')
    monkeypatch.setattr(client.session, 'send', send)
    assert client.get() == 'page'
    assert sent == [verify]


@pytest.mark.parametrize('url', [
    'http://admin:s3cret-pw@127.0.0.1:18252/balancer-manager',
    'https://admin@127.0.0.1/balancer-manager',
    'http://:s3cret-pw@127.0.0.1/balancer-manager',
])
def test_credentials_in_the_url_are_refused_without_echoing_them(url):
    with pytest.raises(BalancerError) as err:
        ManagerClient(url, 2.0)
    assert 'carries credentials (user:password@); give them as apache_username and apache_password' in str(err.value)
    assert 's3cret' not in str(err.value) and 'admin' not in str(err.value)
    assert '***@127.0.0.1' in str(err.value)


def test_a_password_in_the_url_is_masked_like_a_no_log_option():
    class Module(object):
        no_log_values = set()

        def warn(self, msg):
            pass
    params = dict(apache_url='http://admin:s3cret-pw@127.0.0.1/balancer-manager', request_timeout=2.0)
    with pytest.raises(BalancerError):
        ApacheAdapter.from_params(params, Module())
    assert Module.no_log_values == set(['s3cret-pw'])


# ---------------------------------------------------------------- httpd's drifting Busy counter

GREEN = 'http://127.0.0.1:18242'


def with_elected(html, elected):
    """The draining page with green's Elected cell changed (a request ended, or a new one came)."""
    new, count = re.subn(r'(18242</a></td><td>green</td><td></td><td>5\.00</td><td>0</td><td>Init Drn Ok </td><td>)7(</td>)',
                         lambda m: m.group(1) + str(elected) + m.group(2), html)
    assert count == 1
    return new


class FakeClock(object):
    def __init__(self, times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0)


def drain_polls(pages, times, stale_busy_after=10.0):
    warnings = []
    adapter = ApacheAdapter(FakeClient(pages), stale_busy_after=stale_busy_after,
                            clock=FakeClock(times), warn=warnings.append)
    counts = [adapter.active('app', [GREEN])[GREEN] for dummy in pages]
    return counts, warnings


def test_busy_that_no_counter_explains_counts_as_idle_after_the_quiet_period():
    busy = page('page_draining_busy.html')
    counts, warnings = drain_polls([busy] * 4, [0.0, 5.0, 9.9, 10.0])
    assert counts == [4, 4, 4, 0]
    assert len(warnings) == 1
    assert "Busy 4 for worker 'http://127.0.0.1:18242' of balancer 'app'" in warnings[0]
    assert 'apache_stale_busy_after' in warnings[0]


def test_moving_counters_restart_the_quiet_period():
    busy = page('page_draining_busy.html')
    pages = [busy, busy, with_elected(busy, 8), with_elected(busy, 8), with_elected(busy, 8)]
    counts, warnings = drain_polls(pages, [0.0, 9.0, 10.0, 15.0, 20.0])
    assert counts == [4, 4, 4, 4, 0]
    assert len(warnings) == 1


def test_zero_trusts_busy_alone():
    busy = page('page_draining_busy.html')
    counts, warnings = drain_polls([busy] * 3, [0.0, 100.0, 1000.0], stale_busy_after=0)
    assert counts == [4, 4, 4]
    assert warnings == []


# ---------------------------------------------------------------- restarts

def test_a_restart_is_told_by_a_new_nonce_and_the_page_says_changes_are_not_persisted():
    initial = page('page_initial.html')
    nonce = parse_manager_page(initial)['balancers']['app']['nonce']
    restarted = initial.replace(nonce, '20999cba-8408-ae8b-072f-60928bdc26b6')
    adapter = ApacheAdapter(FakeClient([initial, initial, restarted]))
    seen = [adapter.read('app').generation for dummy in range(3)]
    assert seen == ['nonce %s' % nonce] * 2 + ['nonce 20999cba-8408-ae8b-072f-60928bdc26b6']
    assert adapter.persistence() == 'balancer-manager changes are not persisted on restart'


def test_persistence_unknown_before_a_read_and_on_a_page_without_the_sentence():
    initial = page('page_initial.html').replace('will NOT be persisted on restart', '')
    adapter = ApacheAdapter(FakeClient([initial]))
    assert adapter.persistence() is None
    adapter.read('app')
    assert adapter.persistence() is None
