# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based tests of the balancer parsers (HAProxy 'show stat' CSV and 'show servers state',
Apache balancer-manager HTML, nginx upstream blocks and process listings).

The example-based tests next to this file parse captured output; here hypothesis *generates*
balancers - names, states, weights, counters, column orders, comments, quoting - renders them the
way the balancer prints them, and checks that parsing gives the model back, that every edit
lands where it should and nowhere else, and that a mutated answer fails with BalancerResponseError
naming what is wrong (never another exception, never a silently wrong member). Pure and fast."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest
from hypothesis import assume, given, settings, strategies as st

from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._base import (
    DISABLED, DOWN, DRAINED, ENABLED, BalancerError, BalancerResponseError, Change,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._apache import (
    member_from_worker, parse_manager_page,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._haproxy import (
    member_from_rows, parse_servers_state, parse_show_stat,
)
from ansible_collections.zerodowntime.deploy.plugins.module_utils._balancers._nginx import (
    edit_upstream, parse, parse_processes, tokenize, upstream_servers,
)

# No deadline: a busy CI machine must not turn a slow example into a failure.
PROPERTY = settings(max_examples=100, deadline=None)
MORE = settings(max_examples=150, deadline=None)

NAME = st.text(alphabet='abcdefghijklmnopqrstuvwxyz0123456789_-.', min_size=1, max_size=12).filter(
    lambda n: n not in ('BACKEND', 'FRONTEND'))

# ================================================================ HAProxy

STAT_EXTRA = ['qmax', 'smax', 'stot', 'weight', 'act', 'bck', 'lastchg', 'check_desc', 'addr', 'uweight']
STATE_HEADER = ('be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight '
                'srv_iweight srv_time_since_last_change srv_check_status srv_check_result '
                'srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id '
                'srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr '
                'srv_agent_port').split()

server_model = st.fixed_dictionaries(dict(
    admin=st.integers(min_value=0, max_value=0x3f),
    op_state=st.sampled_from([0, 1, 2, 3]),
    uweight=st.integers(min_value=0, max_value=256),
    iweight=st.integers(min_value=0, max_value=256),
    scur=st.integers(min_value=0, max_value=10 ** 6),
    qcur=st.integers(min_value=0, max_value=10 ** 4),
    checked=st.booleans(),
    rise=st.integers(min_value=1, max_value=10),
    fall=st.integers(min_value=1, max_value=10),
    health=st.integers(min_value=0, max_value=19),
))
haproxy_model = st.dictionaries(NAME, st.dictionaries(NAME, server_model, min_size=1, max_size=4),
                                min_size=1, max_size=3)


def render_stat(model, order):
    """'show stat' as HAProxy prints it: '# ' header, FRONTEND/server/BACKEND rows, trailing comma."""
    rows = []
    for backend, servers in sorted(model.items()):
        for name, srv in sorted(servers.items()):
            row = dict(pxname=backend, svname=name, qcur=srv['qcur'], scur=srv['scur'],
                       status='UP' if srv['op_state'] == 2 else 'DOWN',
                       check_status='L7OK' if srv['checked'] else '',
                       check_rise=srv['rise'] if srv['checked'] else '',
                       check_fall=srv['fall'] if srv['checked'] else '',
                       check_health=srv['health'] if srv['checked'] else '')
            rows.append(row)
        rows.append(dict(pxname=backend, svname='BACKEND', qcur=0, scur=0, status='UP'))
    lines = ['# ' + ','.join(order) + ',']
    lines.append(','.join('web' if c == 'pxname' else 'FRONTEND' if c == 'svname' else '' for c in order) + ',')
    lines += [','.join(str(row.get(c, '')) for c in order) + ',' for row in rows]
    return '\n'.join(lines) + '\n'


def render_state(model):
    lines = ['1', '# ' + ' '.join(STATE_HEADER)]
    for be_id, (backend, servers) in enumerate(sorted(model.items()), 1):
        for srv_id, (name, srv) in enumerate(sorted(servers.items()), 1):
            values = dict(be_id=be_id, be_name=backend, srv_id=srv_id, srv_name=name, srv_addr='127.0.0.1',
                          srv_op_state=srv['op_state'], srv_admin_state=srv['admin'],
                          srv_uweight=srv['uweight'], srv_iweight=srv['iweight'])
            lines.append(' '.join(str(values.get(c, '-')) for c in STATE_HEADER))
    return '\n'.join(lines) + '\n'


def expected_state(admin):
    """HAProxy's enum srv_admin: FMAINT 0x01, IMAINT 0x02, RMAINT 0x20 are maintenance; FDRAIN
    0x08, IDRAIN 0x10 drain; CMAINT 0x04 alone (left by a configured 'disabled') is neither."""
    if admin & 0x23:
        return DISABLED
    if admin & 0x18:
        return DRAINED
    return ENABLED


def stat_order(data):
    wanted = ['pxname', 'svname', 'qcur', 'scur', 'status', 'check_status', 'check_rise', 'check_fall',
              'check_health']
    return data.draw(st.permutations(wanted + data.draw(st.lists(st.sampled_from(STAT_EXTRA), unique=True))))


@MORE
@given(haproxy_model, st.data())
def test_haproxy_members_round_trip_in_any_column_order(model, data):
    servers, backends = parse_show_stat(render_stat(model, stat_order(data)))
    states = parse_servers_state(render_state(model))
    assert sorted(backends) == sorted(model)
    assert sorted(states) == sorted(servers) == sorted((b, s) for b in model for s in model[b])
    for (backend, name), state_row in states.items():
        srv = model[backend][name]
        member = member_from_rows(state_row, servers[(backend, name)])
        assert (member.name, member.weight, member.config_weight) == (name, srv['uweight'], srv['iweight'])
        assert member.state == expected_state(srv['admin'])
        assert member.active == srv['scur'] + srv['qcur']
        if member.state == DISABLED or srv['op_state'] in (0, 3):
            assert not member.serving
        if member.serving:
            assert member.state == ENABLED and member.weight > 0 and member.health != DOWN
        if srv['op_state'] in (0, 3) and member.state != DISABLED:
            assert member.health == DOWN


@PROPERTY
@given(haproxy_model, st.data())
def test_haproxy_a_number_mutated_into_garbage_is_named(model, data):
    garbage = data.draw(st.sampled_from(['', 'x', '1,5', 'nan', '-', '0x10']))
    column = data.draw(st.sampled_from(['srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight']))
    backend = data.draw(st.sampled_from(sorted(model)))
    name = data.draw(st.sampled_from(sorted(model[backend])))
    states = parse_servers_state(render_state(model))
    servers, dummy = parse_show_stat(render_stat(model, stat_order(data)))
    states[(backend, name)][column] = garbage
    with pytest.raises(BalancerResponseError) as info:
        member_from_rows(states[(backend, name)], servers[(backend, name)], 'the HAProxy runtime API at x')
    assert column in str(info.value) and "'%s/%s'" % (backend, name) in str(info.value)


@PROPERTY
@given(haproxy_model, st.data())
def test_haproxy_a_missing_column_is_named(model, data):
    order = stat_order(data)
    dropped = data.draw(st.sampled_from(['qcur', 'scur', 'status', 'check_status', 'check_health']))
    order.remove(dropped)
    with pytest.raises(BalancerResponseError) as info:
        parse_show_stat(render_stat(model, order))
    assert dropped in str(info.value)


@PROPERTY
@given(haproxy_model, st.data())
def test_haproxy_a_cut_servers_state_never_loses_a_server_silently(model, data):
    text = render_state(model)
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    try:
        states = parse_servers_state(text[:cut])
    except BalancerResponseError:
        return
    # Whatever parses is complete: every row it returns has all its fields.
    for row in states.values():
        assert len(row) == len(STATE_HEADER)


# ================================================================ Apache balancer-manager

STATUS_FLAGS = ['Ok', 'Dis', 'Stop', 'Drn', 'Err', 'HcFl', 'Stby', 'Spar', 'Ign', 'Init']
worker_model = st.fixed_dictionaries(dict(
    port=st.integers(min_value=1, max_value=65535),
    path=st.sampled_from(['', '/', '/app', '/a/b_c-d.e']),
    scheme=st.sampled_from(['http', 'https', 'ajp']),
    route=st.sampled_from(['', 'blue', 'green', 'r1']),
    factor=st.integers(min_value=1, max_value=100),
    flags=st.lists(st.sampled_from(STATUS_FLAGS), unique=True, max_size=4),
    busy=st.integers(min_value=0, max_value=10 ** 5),
    elected=st.integers(min_value=0, max_value=10 ** 6),
))
apache_model = st.dictionaries(NAME, st.lists(worker_model, min_size=1, max_size=4, unique_by=lambda w: (w['scheme'], w['port'], w['path'])),
                               min_size=1, max_size=3)


def worker_url(worker):
    return '%s://127.0.0.1:%d%s' % (worker['scheme'], worker['port'], worker['path'])


def render_page(model, server_name='127.0.0.1'):
    """A balancer-manager page laid out like httpd 2.4's (see fixtures/apache/page_initial.html)."""
    parts = ['<html><head><title>Balancer Manager</title></head>',
             '<body><h1>Load Balancer Manager for %s</h1>' % server_name]
    for number, (name, workers) in enumerate(sorted(model.items())):
        nonce = '%08x-nonce-%d' % (number, len(workers))
        parts.append('<hr />\n<h3>LoadBalancer Status for <a href="/balancer-manager?b=%s&amp;nonce=%s">'
                     'balancer://%s</a> [p1_%s]</h3>' % (name, nonce, name, name))
        parts.append('<table><tr><th>MaxMembers</th><th>StickySession</th></tr>\n<tr><td>%d [%d Used]</td>'
                     '<td> (None) </td></tr>\n</table>\n<br />' % (len(workers), len(workers)))
        parts.append('<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th>'
                     '<th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th></tr>')
        for worker in workers:
            url = worker_url(worker)
            parts.append('<tr>\n<td><a href="/balancer-manager?b=%s&amp;w=%s&amp;nonce=%s">%s</a></td><td>%s</td>'
                         '<td></td><td>%d.00</td><td>0</td><td>%s </td><td>%d</td><td>%d</td><td>0</td>'
                         '<td>  0 </td><td>  0 </td></tr>'
                         % (name, url, nonce, url, worker['route'], worker['factor'],
                            ' '.join(worker['flags']), worker['elected'], worker['busy']))
        parts.append('</table>')
    parts.append('<hr /></body></html>')
    return '\n'.join(parts)


def expected_worker_state(flags):
    if 'Dis' in flags or 'Stop' in flags:
        return DISABLED
    if 'Drn' in flags:
        return DRAINED
    return ENABLED


@MORE
@given(apache_model)
def test_apache_workers_round_trip(model):
    parsed = parse_manager_page(render_page(model))
    assert parsed['server_name'] == '127.0.0.1'
    assert sorted(parsed['balancers']) == sorted(model)
    for name, workers in model.items():
        balancer = parsed['balancers'][name]
        assert balancer['nonce'].endswith('-nonce-%d' % len(workers))
        assert [w['url'] for w in balancer['workers']] == [worker_url(w) for w in workers]
        for worker, got in zip(workers, balancer['workers']):
            assert (got['factor'], got['busy'], got['route'], got['flags']) == (
                worker['factor'], worker['busy'], worker['route'], worker['flags'])
            member = member_from_worker(got)
            assert member.state == expected_worker_state(worker['flags'])
            assert (member.health == DOWN) == any(f in worker['flags'] for f in ('Err', 'HcFl'))
            if member.serving:
                assert member.state == ENABLED and not {'Stby', 'Spar'} & set(worker['flags'])


@PROPERTY
@given(apache_model, st.data())
def test_apache_a_worker_row_lost_from_the_page_is_noticed(model, data):
    name = data.draw(st.sampled_from(sorted(model)))
    page = render_page(model)
    victim = worker_url(data.draw(st.sampled_from(model[name])))
    start = page.index('<tr>\n<td><a href="/balancer-manager?b=%s&amp;w=%s&amp;' % (name, victim))
    mutated = page[:start] + page[page.index('</tr>', start) + len('</tr>'):]
    with pytest.raises(BalancerResponseError) as info:
        parse_manager_page(mutated)
    assert "balancer '%s' reports %d members in use but the page lists %d" % (
        name, len(model[name]), len(model[name]) - 1) in str(info.value)


@PROPERTY
@given(apache_model, st.sampled_from(['Factor', 'Busy', 'Status', 'Worker URL']))
def test_apache_a_missing_worker_column_is_named(model, column):
    page = render_page(model).replace('<th>%s</th>' % column, '<th>%s (renamed)</th>' % column)
    with pytest.raises(BalancerResponseError) as info:
        parse_manager_page(page)
    assert column in str(info.value)


@PROPERTY
@given(apache_model, st.data())
def test_apache_garbage_in_a_number_is_named(model, data):
    name = data.draw(st.sampled_from(sorted(model)))
    worker = data.draw(st.sampled_from(model[name]))
    page = render_page({name: [worker]})
    garbage = data.draw(st.sampled_from(['n/a', '', '1,5', 'inf']))
    # Busy is the cell before Load (0) and To ('  0').
    mutated = page.replace('<td>%d</td><td>0</td><td>  0' % worker['busy'], '<td>%s</td><td>0</td><td>  0' % garbage)
    assume(mutated != page)
    with pytest.raises(BalancerResponseError) as info:
        parse_manager_page(mutated)
    assert 'Busy of worker' in str(info.value)


# ================================================================ nginx upstream blocks

ADDRESS = st.one_of(
    st.builds('127.0.0.{0}:{1}'.format, st.integers(min_value=1, max_value=254),
              st.integers(min_value=1, max_value=65535)),
    st.builds('unix:/run/{0}.sock'.format, st.sampled_from(['a', 'app', 'b-1'])),
    st.builds('backend{0}.example:{1}'.format, st.integers(min_value=0, max_value=9),
              st.integers(min_value=1, max_value=65535)),
)
server_line = st.fixed_dictionaries(dict(
    address=ADDRESS,
    weight=st.one_of(st.none(), st.integers(min_value=1, max_value=1000)),
    down=st.booleans(),
    extra=st.lists(st.sampled_from(['max_fails=3', 'fail_timeout=5s', 'max_conns=10', 'backup']),
                   unique=True, max_size=2),
    comment=st.sampled_from(['', ' # blue', ' # } not a brace;', ' #weight=5 down']),
    spacing=st.sampled_from([' ', '  ', '\t']),
))
upstream_model = st.lists(server_line, min_size=1, max_size=5, unique_by=lambda s: s['address'])

NOISE_BEFORE = st.sampled_from([
    '',
    '# upstreams\n',
    'map $x $y { default "a;b}"; }\n',
    'upstream other { server 10.9.9.9:80 down; }\n',
])
NOISE_AFTER = st.sampled_from([
    '',
    'server { listen 127.0.0.1:8080; location / { proxy_pass http://app; set $v "{ down; }"; } }\n',
    '# the end } { ;\n',
])


def render_upstream(servers, before='', after=''):
    lines = [before + 'upstream app {', '    zone app 64k;']
    for srv in servers:
        params = ([] if srv['weight'] is None else ['weight=%d' % srv['weight']]) + srv['extra'] \
            + (['down'] if srv['down'] else [])
        lines.append('    server%s%s;%s' % (srv['spacing'], srv['spacing'].join([srv['address']] + params), srv['comment']))
    lines.append('    keepalive 8;')
    lines.append('}')
    return '\n'.join(lines) + '\n' + after


def _outside(text):
    start = text.index('upstream app {')
    end = text.index('\n}\n', start)
    return text[:start], text[end:]


@MORE
@given(upstream_model, NOISE_BEFORE, NOISE_AFTER)
def test_nginx_upstream_round_trip(servers, before, after):
    lines = upstream_servers(render_upstream(servers, before, after), 'app', 'x')
    assert [line.address for line in lines] == [s['address'] for s in servers]
    for line, srv in zip(lines, servers):
        member = line.member()
        assert member.state == (DISABLED if srv['down'] else ENABLED)
        assert member.weight == (srv['weight'] or 1)
        assert member.serving == (not srv['down'] and 'backup' not in srv['extra'])


@MORE
@given(upstream_model, NOISE_BEFORE, NOISE_AFTER, st.data())
def test_nginx_edits_land_on_their_server_only_and_twice_is_once(servers, before, after, data):
    text = render_upstream(servers, before, after)
    targets = data.draw(st.lists(st.tuples(st.sampled_from([s['address'] for s in servers]),
                                           st.sampled_from([None, ENABLED, DISABLED]),
                                           st.one_of(st.none(), st.integers(min_value=1, max_value=1000))),
                                 unique_by=lambda t: t[0]))
    changes = [Change(a, s, w) for a, s, w in targets]
    edited = edit_upstream(text, 'app', changes)
    assert edit_upstream(edited, 'app', changes) == edited
    assert _outside(edited) == _outside(text)
    after_edit = dict((line.address, line.member()) for line in upstream_servers(edited, 'app', 'x'))
    wanted = dict((a, (s, w)) for a, s, w in targets)
    for srv in servers:
        member = after_edit[srv['address']]
        state, weight = wanted.get(srv['address'], (None, None))
        assert member.state == (state or (DISABLED if srv['down'] else ENABLED))
        assert member.weight == (weight or srv['weight'] or 1)
    # comments stay on their lines, and no line appears or disappears
    assert len(edited.splitlines()) == len(text.splitlines())
    for old, new in zip(text.splitlines(), edited.splitlines()):
        if '#' in old:
            assert new.endswith(old[old.index('#'):])


@MORE
@given(upstream_model, NOISE_BEFORE, NOISE_AFTER, st.data())
def test_nginx_take_out_then_back_gives_the_file_back(servers, before, after, data):
    up = [s for s in servers if not s['down']]
    assume(up)
    address = data.draw(st.sampled_from([s['address'] for s in up]))
    text = render_upstream(servers, before, after)
    out = edit_upstream(text, 'app', [Change(address, DISABLED)])
    assert out != text
    assert edit_upstream(out, 'app', [Change(address, ENABLED)]) == text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('upstream server app{};#"\'\\$ \n\tdown=1:')), max_size=120))
def test_nginx_configuration_garbage_fails_only_as_a_response_error(text):
    try:
        tokenize(text)
        parse(text)
        upstream_servers(text, 'app', 'x')
    except BalancerResponseError:
        pass
    except BalancerError as exc:     # NotFoundError: a parsable file without that upstream
        assert "Upstream 'app' not found" in str(exc)


process_model = st.lists(st.tuples(st.integers(min_value=1, max_value=4 * 10 ** 6),
                                   st.integers(min_value=0, max_value=4 * 10 ** 6),
                                   st.sampled_from(['nginx: master process nginx -g daemon off;',
                                                    'nginx: worker process',
                                                    'nginx: worker process is shutting down',
                                                    'sh -c for d in /proc/[0-9]*; do ...', '']),
                                   st.sampled_from(['nginx', 'sh', 'a) b (c', 'x y'])),
                         max_size=8, unique_by=lambda p: p[0])


@MORE
@given(process_model, st.randoms(use_true_random=False))
def test_nginx_process_listing_round_trip_with_garbage_lines_skipped(procs, rnd):
    lines = ['%d (%s) S %d %d 0 0 -1 4194560\t%s' % (pid, comm, ppid, pid, cmd) for pid, ppid, cmd, comm in procs]
    garbage = ['', 'garbage', '12 (nginx S 1\tx', 'abc (x) S 1\tnginx', '7 (x) S\tshort']
    listing = lines + garbage
    random.Random(rnd.random()).shuffle(listing)
    parsed = dict((p.pid, p) for p in parse_processes('\n'.join(listing)))
    assert sorted(parsed) == sorted(pid for pid, ppid, cmd, comm in procs)
    for pid, ppid, cmd, comm in procs:
        assert (parsed[pid].ppid, parsed[pid].cmdline) == (ppid, cmd.strip())
