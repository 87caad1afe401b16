# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Invalid inputs of the four modules: wrong types and ranges, unknown members and backends,
unreachable endpoints, wrong credentials, TLS failures, mutated balancer answers, missing images,
taken ports, the last member. Each: (id, env -> (module, args), regular expressions the message
must match - the object or option it names, and the cause)."""

from harness.bad_input_env import FOREIGN, SERVICE, BadInput
from tables import defects

NOTHING = r'Nothing was ((checked|requested) or )?changed'
TLS_REFUSED = r'CERTIFICATE_VERIFY_FAILED|certificate verify failed'
# The environment of a machine whose tools are pointed at a CA bundle (this one's are).
NO_CA_BUNDLE = {'REQUESTS_CA_BUNDLE': None, 'CURL_CA_BUNDLE': None}
SYSTEM_CA_BUNDLE = {'REQUESTS_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt', 'CURL_CA_BUNDLE': None}


def ready(**args):
    args.setdefault('timeout', 2)
    args.setdefault('interval', 0.2)
    return 'wait_ready', args


def probe(env, **args):
    args.setdefault('duration', 1)
    args.setdefault('urls', [env.url('blue')])
    return 'traffic_probe', args


WAIT_READY = [
    BadInput('wait_ready-port-out-of-range', lambda env: ready(checks=[{'type': 'tcp', 'port': 70000}]),
             r'checks\[0\]\.port', r'between 1 and 65535', NOTHING),
    BadInput('wait_ready-url-without-scheme', lambda env: ready(checks=[{'type': 'http', 'url': '127.0.0.1:80/'}]),
             r'checks\[0\]\.url', r'http:// or https://'),
    BadInput('wait_ready-negative-timeout', lambda env: ready(checks=[{'type': 'tcp', 'port': 80}], timeout=-1),
             r'timeout', r'-1'),
    BadInput('wait_ready-zero-threshold', lambda env: ready(checks=[{'type': 'tcp', 'port': 80}], success_threshold=0),
             r'success_threshold', r'\b0\b'),
    BadInput('wait_ready-unknown-check-type', lambda env: ready(checks=[{'type': 'ping'}]),
             r'type', r'ping', r'http'),
    BadInput('wait_ready-untrusted-certificate', lambda env: ready(checks=[{'type': 'http', 'url': env.url('tls', 'https')}]),
             r'https://127\.0\.0\.1:%d/' % 18762, TLS_REFUSED),
    BadInput('wait_ready-wrong-credentials', lambda env: ready(checks=[{
        'type': 'http', 'url': env.url('auth'), 'url_username': 'admin', 'url_password': 'wrong-password-9c1'}]),
        r'http://127\.0\.0\.1:18759/', r'401'),
    BadInput('wait_ready-unreachable-engine', lambda env: ready(
        checks=[{'type': 'container', 'container': SERVICE}], docker_host='unix:///nonexistent/docker.sock'),
        r'unix:///nonexistent/docker\.sock', r'Cannot reach the Docker engine'),
    BadInput('wait_ready-missing-container', lambda env: ready(checks=[{'type': 'container', 'container': 'zdt-fault-bad-nope'}]),
             r'zdt-fault-bad-nope', r'does not exist'),
    BadInput('wait_ready-missing-url-file', lambda env: ready(warmup={'url_file': '/nonexistent/urls.txt'}),
             r'warmup\.url_file', r'/nonexistent/urls\.txt'),
    BadInput('wait_ready-closed-port', lambda env: ready(checks=[{'type': 'http', 'url': env.url('closed')}]),
             r'http://127\.0\.0\.1:18764/', r'[Rr]efused'),
]

HOTSWAP = [
    BadInput('container_hotswap-invalid-name', lambda env: ('container_hotswap', env.service_args(name='bad name!')),
             r"name: 'bad name!' is not a valid container name", NOTHING),
    BadInput('container_hotswap-missing-image', lambda env: ('container_hotswap', env.service_args(
        image='zerodowntime-test/app:no-such-version', pull='never')),
        r'zerodowntime-test/app:no-such-version', NOTHING),
    BadInput('container_hotswap-zero-lock-ttl', lambda env: ('container_hotswap', env.service_args(lock_ttl=0)),
             r'lock_ttl', NOTHING),
    BadInput('container_hotswap-reuseport-on-bridge', lambda env: ('container_hotswap', env.service_args(network_mode='bridge')),
             r'strategy=reuseport', r"'bridge'", NOTHING),
    BadInput('container_hotswap-unknown-placeholder', lambda env: ('container_hotswap', env.service_args(
        image='zerodowntime-test/app:v2',
        readiness={'checks': [{'type': 'http', 'url': 'http://127.0.0.1:${NOPE}/'}]})),
        r'readiness\.checks\[0\]\.url', r'\$\{NOPE\}', NOTHING),
    BadInput('container_hotswap-taken-port', lambda env: ('container_hotswap', dict(
        name='zdt-fault-bad-ports', image='zerodowntime-test/app:v1', slots={
            'blue': {'published_ports': ['127.0.0.1:18763:8080']},
            'green': {'published_ports': ['127.0.0.1:18765:8080']}})),
        r'slots\.blue\.published_ports', r'18763', r'taken', NOTHING),
    BadInput('container_hotswap-missing-network', lambda env: ('container_hotswap', dict(
        name='zdt-fault-bad-net', image='zerodowntime-test/app:v1', networks=[{'name': 'zdt-fault-no-such-net'}])),
        r'network zdt-fault-no-such-net does not exist', NOTHING),
    BadInput('container_hotswap-unreachable-engine', lambda env: ('container_hotswap', env.service_args(
        docker_host='tcp://127.0.0.1:18764')),
        r'tcp://127\.0\.0\.1:18764', r'Cannot reach the Docker engine', NOTHING),
    BadInput('container_hotswap-unknown-stop-signal', lambda env: ('container_hotswap', env.service_args(
        image='zerodowntime-test/app:v2', stop_signal='SIGFOO')),
        r'stop_signal', r'SIGFOO'),
    BadInput('container_hotswap-memory-not-a-size', lambda env: ('container_hotswap', env.service_args(memory='lots')),
             r'memory', r"'lots'", NOTHING),
    BadInput('container_hotswap-nothing-to-promote', lambda env: ('container_hotswap', env.service_args(
        image='zerodowntime-test/app:v2', state='promoted')),
        r'Nothing staged to promote for service %s' % SERVICE, NOTHING),
    BadInput('container_hotswap-foreign-container', lambda env: ('container_hotswap', dict(
        name=FOREIGN, image='zerodowntime-test/app:v1')),
        r'container %s .* not managed by this module' % FOREIGN, NOTHING),
    BadInput('container_hotswap-env-value-dict', lambda env: ('container_hotswap', env.service_args(
        env={'APP_PORT': {'nested': 1}})),
        r'env\.APP_PORT', r'string', NOTHING),
    BadInput('container_hotswap-healthcheck-not-a-duration', lambda env: ('container_hotswap', env.service_args(
        healthcheck={'interval': 'soon'})),
        r'healthcheck\.interval', r"'soon'", NOTHING),
    BadInput('container_hotswap-ports-with-host-network', lambda env: ('container_hotswap', env.service_args(
        slots={'blue': {'published_ports': ['18766:8080']}})),
        r'published_ports', r'host', NOTHING),
    BadInput('container_hotswap-relative-bind-source', lambda env: ('container_hotswap', env.service_args(
        mounts=[{'type': 'bind', 'source': 'relative/dir', 'target': '/data'}])),
        r'mounts\[0\]', r'relative/dir', NOTHING),
    BadInput('container_hotswap-staged-without-image', lambda env: ('container_hotswap', dict(
        name=SERVICE, state='staged')),
        r'state is staged', r'image'),
]

BALANCER = [
    BadInput('balancer_member-unknown-backend', lambda env: ('balancer_member', env.haproxy_args(backend='nope')),
             r"Backend 'nope' not found", r'Backends there: app, solo', NOTHING),
    BadInput('balancer_member-unknown-member', lambda env: ('balancer_member', env.haproxy_args(member='nope')),
             r"Member 'nope' not found in backend 'app'", r'blue, green', NOTHING),
    BadInput('balancer_member-last-member', lambda env: ('balancer_member', env.haproxy_args(backend='solo', member='only')),
             r"Refusing to take 'only' out of rotation in backend 'solo'", r'min_active=1', NOTHING),
    BadInput('balancer_member-cutover-leaving-nobody', lambda env: ('balancer_member', env.haproxy_args(
        member=None, state=None, members=[{'name': 'blue', 'state': 'drained'}, {'name': 'green', 'state': 'disabled'}])),
        r"Refusing to take 'blue', 'green' out of rotation", NOTHING),
    # The runtime API runs every ';'-separated command of a line: a name must never carry one in.
    BadInput('balancer_member-command-in-member-name', lambda env: ('balancer_member', env.haproxy_args(
        member='blue;set server app/green state maint')),
        r"Member 'blue;set server app/green state maint' not found", NOTHING),
    BadInput('balancer_member-command-in-backend-name', lambda env: ('balancer_member', env.haproxy_args(
        backend='app;set server app/green state maint')),
        r"Backend 'app;set server app/green state maint' not found", NOTHING),
    BadInput('balancer_member-relative-socket', lambda env: ('balancer_member', env.haproxy_args(haproxy_socket='admin.sock')),
             r"haproxy_socket 'admin\.sock'", r'absolute unix socket path', NOTHING),
    BadInput('balancer_member-missing-socket', lambda env: ('balancer_member', env.haproxy_args(
        haproxy_socket=env.front.socket + '.missing')),
        r'admin\.sock\.missing', r'socket file does not exist', NOTHING),
    BadInput('balancer_member-weight-out-of-range', lambda env: ('balancer_member', env.haproxy_args(
        state='enabled', weight=300)),
        r"weight 300 for member 'blue'", r'0\.\.256', NOTHING),
    BadInput('balancer_member-member-and-members', lambda env: ('balancer_member', env.haproxy_args(
        members=[{'name': 'green', 'state': 'enabled'}])),
        r'mutually exclusive', r'member'),
    BadInput('balancer_member-member-twice', lambda env: ('balancer_member', env.haproxy_args(
        member=None, state=None, members=[{'name': 'blue', 'state': 'enabled'}, {'name': 'blue', 'state': 'drained'}])),
        r"'blue' is listed twice", NOTHING),
    BadInput('balancer_member-member-without-state', lambda env: ('balancer_member', env.haproxy_args(state=None)),
             r'state', r'member'),
    BadInput('balancer_member-unknown-balancer', lambda env: ('balancer_member', env.haproxy_args(balancer='traefik')),
             r'balancer', r'traefik', r'haproxy'),
    BadInput('balancer_member-runtime-api-without-header', lambda env: ('balancer_member', env.fake_runtime_args('no_header')),
             r"Unexpected 'show stat' output", r'127\.0\.0\.1:18755', NOTHING),
    BadInput('balancer_member-runtime-api-truncated', lambda env: ('balancer_member', env.fake_runtime_args('truncated')),
             r'ended its answer', r'early', NOTHING),
    BadInput('balancer_member-runtime-api-user-level', lambda env: ('balancer_member', env.fake_runtime_args('user_level')),
             r'Permission denied', r'level admin', NOTHING),
    BadInput('balancer_member-runtime-api-silent', lambda env: ('balancer_member', env.fake_runtime_args('silent')),
             r'did not answer', r'within 2', NOTHING),
    BadInput('balancer_member-apache-wrong-credentials', lambda env: ('balancer_member', env.apache_args(
        18759, apache_username='admin', apache_password='wrong-password-4f2')),
        r'refused the credentials', r'401', r'apache_username/apache_password', NOTHING),
    BadInput('balancer_member-apache-untrusted-certificate', lambda env: ('balancer_member', env.apache_args(18762, 'https')),
             r'TLS handshake with the balancer-manager at https://127\.0\.0\.1:18762', TLS_REFUSED, r'apache_ca_path',
             NOTHING),
    BadInput('balancer_member-apache-missing-ca-bundle', lambda env: ('balancer_member', env.apache_args(
        18762, 'https', apache_ca_path='/nonexistent/ca.pem'), NO_CA_BUNDLE),
        r'/nonexistent/ca\.pem', NOTHING),
    BadInput('balancer_member-apache-ca-path-beside-requests-ca-bundle', lambda env: ('balancer_member', env.apache_args(
        18762, 'https', apache_ca_path='/nonexistent/ca.pem'), SYSTEM_CA_BUNDLE),
        r'/nonexistent/ca\.pem', NOTHING),
    BadInput('balancer_member-apache-other-page', lambda env: ('balancer_member', env.apache_args(18760)),
             r'did not return a balancer-manager page', r'apache_url', NOTHING),
    BadInput('balancer_member-apache-ignores-the-change', lambda env: ('balancer_member', env.apache_args(18761)),
             r'did not take', r'nonce or Referer', NOTHING),
    BadInput('balancer_member-apache-unreachable', lambda env: ('balancer_member', env.apache_args(18764)),
             r'Cannot reach the balancer-manager at http://127\.0\.0\.1:18764', r'[Rr]efused', NOTHING),
    BadInput('balancer_member-nginx-missing-file', lambda env: ('balancer_member', dict(
        balancer='nginx', nginx_config='/nonexistent/app.conf', backend='app', member='127.0.0.1:18751', state='drained')),
        r'/nonexistent/app\.conf', r'No such file', NOTHING),
    BadInput('balancer_member-nginx-missing-container', lambda env: ('balancer_member', dict(
        balancer='nginx', nginx_container='zdt-fault-bad-no-nginx', nginx_config='/etc/nginx/conf.d/app.conf',
        backend='app', member='127.0.0.1:18751', state='drained')),
        r"container 'zdt-fault-bad-no-nginx'", NOTHING),
    BadInput('balancer_member-nginx-unknown-upstream', lambda env: ('balancer_member', dict(
        balancer='nginx', nginx_config=env.nginx_config, backend='nope', member='127.0.0.1:18751', state='drained')),
        r"Upstream 'nope' not found", r'Upstreams there: app', NOTHING),
    BadInput('balancer_member-nginx-broken-file', lambda env: ('balancer_member', dict(
        balancer='nginx', nginx_config=env.nginx_broken, backend='app', member='127.0.0.1:18751', state='drained')),
        r'broken\.conf', r'unexpected end of file', NOTHING),
]

PROBE = [
    BadInput('traffic_probe-not-a-url', lambda env: probe(env, urls=['not a url']),
             r"'not a url'", NOTHING),
    BadInput('traffic_probe-zero-duration', lambda env: probe(env, duration=0), r'duration', NOTHING),
    BadInput('traffic_probe-zero-concurrency', lambda env: probe(env, concurrency=0), r'concurrency', NOTHING),
    BadInput('traffic_probe-stale-stop-file', lambda env: probe(env, stop_file=env.stale_stop_file),
             r'stop_file', r'stale\.stop', r'exists'),
    BadInput('traffic_probe-untrusted-certificate', lambda env: probe(env, urls=[env.url('tls', 'https')]),
             r'https://127\.0\.0\.1:18762/', TLS_REFUSED),
    BadInput('traffic_probe-missing-unix-socket', lambda env: probe(env, urls=['/'], unix_socket='/nonexistent/app.sock'),
             r'/nonexistent/app\.sock', r'other'),
]

ALL = WAIT_READY + HOTSWAP + BALANCER + PROBE


def params():
    return [defects.param(case, case.id, case.defect) for case in ALL]
