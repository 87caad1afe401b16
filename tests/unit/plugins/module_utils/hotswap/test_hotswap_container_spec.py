# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Container options -> normalized per-slot configuration, its hash, and Docker create arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import docker
import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _container_spec as cs

from hotswap_helpers import params

API = docker.APIClient(base_url='unix:///nonexistent.sock', version='1.41')


@pytest.mark.parametrize('given, expected', [
    ('SIGQUIT', 'SIGQUIT'), ('quit', 'SIGQUIT'), ('sigterm', 'SIGTERM'), ('3', 'SIGQUIT'), ('15', 'SIGTERM'),
    ('SIGRTMIN+3', 'SIGRTMIN+3'), ('WINCH', 'SIGWINCH'), ('9', 'SIGKILL'),
])
def test_signal_names_as_the_engine_parses_them(given, expected):
    assert cs.parse_signal(given) == expected


@pytest.mark.parametrize('given, message', [
    ('SIGFOO', "stop_signal: 'SIGFOO' is not a signal name the Docker engine knows"),
    ('QUITT', "stop_signal: 'QUITT' is not a signal name"),
    ('0', 'stop_signal: signal number 0 is out of range (1-64)'),
    ('65', 'stop_signal: signal number 65 is out of range (1-64)'),
])
def test_unknown_signals_are_refused(given, message):
    with pytest.raises(cs.SpecError) as err:
        cs.parse_signal(given)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize('given, ns', [
    ('1s', 10 ** 9), ('500ms', 5 * 10 ** 8), ('1m30s', 90 * 10 ** 9), (2, 2 * 10 ** 9), ('0.5', 5 * 10 ** 8),
    ('1h', 3600 * 10 ** 9),
])
def test_durations(given, ns):
    assert cs.parse_duration(given, 'x') == ns


@pytest.mark.parametrize('given', ['1x', 's1', '1s 2', '', '-1'])
def test_bad_durations(given):
    with pytest.raises(cs.SpecError):
        cs.parse_duration(given, 'healthcheck.interval')


@pytest.mark.parametrize('given, size', [('512m', 512 * 1024 ** 2), ('1g', 1024 ** 3), ('1024', 1024),
                                         ('64MB', 64 * 1024 ** 2), ('1.5k', 1536)])
def test_sizes(given, size):
    assert cs.parse_size(given, 'memory') == size


@pytest.mark.parametrize('given, expected', [
    ('8080', ('8080/tcp', '0.0.0.0', None)),
    ('18301:8080', ('8080/tcp', '0.0.0.0', 18301)),
    ('127.0.0.1:18301:8080/udp', ('8080/udp', '127.0.0.1', 18301)),
])
def test_ports(given, expected):
    assert cs.parse_port(given, 'p') == expected


@pytest.mark.parametrize('given', ['80:', 'a:80', '1.2.3.999:80:80', '70000:80', '80/icmp'])
def test_bad_ports(given):
    with pytest.raises(cs.SpecError):
        cs.parse_port(given, 'slots.blue.published_ports[0]')


@pytest.mark.parametrize('given, expected', [
    ('/srv/data:/data', dict(type='bind', source='/srv/data', target='/data', read_only=False, tmpfs_size=None)),
    ('cache:/cache:ro', dict(type='volume', source='cache', target='/cache', read_only=True, tmpfs_size=None)),
    ('/scratch', dict(type='volume', source=None, target='/scratch', read_only=False, tmpfs_size=None)),
])
def test_short_volumes(given, expected):
    assert cs.parse_volume(given, 'volumes[0]') == expected


@pytest.mark.parametrize('given', ['a:b:c:d', '/x:/y:zz', ':/y', '/x:'])
def test_bad_short_volumes(given):
    with pytest.raises(cs.SpecError):
        cs.parse_volume(given, 'volumes[0]')


def build(**options):
    return cs.build_spec(params(**options))


@pytest.mark.parametrize('options, message', [
    (dict(labels={'zerodowntime.slot': 'x'}), "labels: zerodowntime.slot use the reserved prefix"),
    (dict(env={'FLAG': True}), 'env.FLAG: True is a boolean; quote it'),
    (dict(env={'APP_PORT': {'nested': 1}}), 'env.APP_PORT: got a mapping; must be a string or a number'),
    (dict(env={'HOSTS': ['a', 'b']}), 'env.HOSTS: got a list; must be a string or a number'),
    (dict(slots=dict(blue=dict(env={'APP_PORT': {'secret': 's3cret'}}))),
     'slots.blue.env.APP_PORT: got a mapping; must be a string or a number'),
    (dict(env={'BAD NAME': 'x'}), "env: 'BAD NAME' is not a valid variable name"),
    (dict(mounts=[dict(type='bind', source='relative', target='/x')]), 'mounts[0].source: a bind mount needs an absolute host path'),
    (dict(mounts=[dict(type='volume', target='relative')]), "mounts[0].target: 'relative' must be an absolute path"),
    (dict(mounts=[dict(type='tmpfs', source='/x', target='/t')]), 'mounts[0].source: a tmpfs mount has no source'),
    (dict(mounts=[dict(type='volume', source='/a/b', target='/t')]), "mounts[0].source: '/a/b' is a path"),
    (dict(mounts=[dict(type='volume', target='/t', tmpfs_size='1m')]), 'mounts[0].tmpfs_size: only applies to tmpfs'),
    (dict(volumes=['/a:/t', 'b:/t']), 'mounts/volumes: more than one mount on /t'),
    (dict(network_mode='host', networks=[dict(name='n')]), 'networks: cannot join networks with network_mode=host'),
    (dict(network_mode='other', networks=[dict(name='n')]), "network_mode: 'other' is not among networks (n)"),
    (dict(network_mode='host', slots=dict(blue=dict(published_ports=['80:80']))),
     'slots.blue.published_ports[0]: ports cannot be published with network_mode=host'),
    (dict(slots=dict(blue=dict(published_ports=['80:80']), green=dict(published_ports=['80:8080']))),
     'slots.green.published_ports[0]: host port 80 is also published by slot blue'),
    (dict(restart_retries=3), 'restart_retries: only applies to restart_policy=on-failure'),
    (dict(cpus=0.0), 'cpus: must be greater than 0'),
    (dict(log_options={'max-size': '1m'}), 'log_options: give log_driver too'),
    (dict(healthcheck=dict(test='true', interval='fast')), "healthcheck.interval: 'fast' is not a duration"),
    (dict(stop_signal='SIGNOPE'), "stop_signal: 'SIGNOPE' is not a signal name"),
    (dict(env_files=['/nonexistent/zdt.env']), 'env_files[0]: cannot read /nonexistent/zdt.env'),
])
def test_invalid_options_name_the_option(options, message):
    with pytest.raises(cs.SpecError) as err:
        build(**options)
    assert message in str(err.value)


def test_env_files_then_env_then_slot_env(tmp_path):
    env_file = tmp_path / 'app.env'
    env_file.write_text('# comment\n\nA=from-file\nB=file=with=equals\n')
    spec = build(env_files=[str(env_file)], env={'A': 'from-env', 'PORT': 1},
                 slots=dict(green=dict(env={'PORT': 18302})))
    assert spec.config('blue')['env'] == {'A': 'from-env', 'B': 'file=with=equals', 'PORT': '1'}
    assert spec.config('green')['env'] == {'A': 'from-env', 'B': 'file=with=equals', 'PORT': '18302'}


def test_env_file_line_without_equals_is_refused(tmp_path):
    env_file = tmp_path / 'bad.env'
    env_file.write_text('GOOD=1\nJUSTAKEY\n')
    with pytest.raises(cs.SpecError) as err:
        build(env_files=[str(env_file)])
    assert str(err.value) == "env_files[0]: %s line 2 is not KEY=VALUE: 'JUSTAKEY'" % env_file


def test_hash_is_stable_and_per_slot():
    one = build(env={'A': '1', 'B': '2'}, volumes=['/b:/b', '/a:/a'])
    two = build(env={'B': '2', 'A': '1'}, volumes=['/a:/a', '/b:/b'])
    assert one.config_hash('blue') == two.config_hash('blue') == one.config_hash('green')
    three = build(env={'A': '1', 'B': '2'}, volumes=['/a:/a', '/b:/b'], slots=dict(green=dict(env={'P': '2'})))
    assert three.config_hash('blue') == one.config_hash('blue') != three.config_hash('green')
    assert build(stop_timeout=11).config_hash('blue') != build().config_hash('blue')


def test_placeholders_are_env_then_vars_then_slot():
    spec = build(env={'APP_PORT': '1', 'X': 'env'}, slots=dict(blue=dict(vars={'X': 'var'})))
    assert spec.placeholders('blue') == {'APP_PORT': '1', 'X': 'var', 'SLOT': 'blue'}
    assert spec.placeholders('green') == {'APP_PORT': '1', 'X': 'env', 'SLOT': 'green'}


def test_networks_default_the_network_mode_to_the_first():
    spec = build(networks=[dict(name='front', aliases=['web', 'web']), dict(name='back')])
    assert spec.common['network_mode'] == 'front'
    assert spec.common['networks'] == [dict(name='back', aliases=[]), dict(name='front', aliases=['web'])]


def test_create_args():
    spec = build(command='app --port 1', entrypoint=['/init'], env={'B': '2', 'A': '1'}, labels={'team': 'x'},
                 volumes=['/srv:/srv:ro'], mounts=[dict(type='tmpfs', target='/tmp', tmpfs_size='16m')],
                 networks=[dict(name='front', aliases=['web']), dict(name='back', aliases=['api'])],
                 user='1000:1000', working_dir='/app', restart_policy='on-failure', restart_retries=3,
                 memory='256m', cpus=1.5, pids_limit=100, log_driver='json-file', log_options={'max-size': '1m'},
                 healthcheck=dict(test=['curl', '-f', 'http://127.0.0.1/'], interval='2s', retries=3),
                 stop_signal='QUIT', stop_timeout=20,
                 slots=dict(blue=dict(published_ports=['127.0.0.1:18301:8080'])))
    kwargs, networks = cs.create_args(API, spec.config('blue'), 'app:v2', 'web-candidate', {'zerodowntime.slot': 'blue'})
    assert kwargs['image'] == 'app:v2' and kwargs['name'] == 'web-candidate'
    assert kwargs['command'] == ['app', '--port', '1'] and kwargs['entrypoint'] == ['/init']
    assert kwargs['environment'] == ['A=1', 'B=2']
    assert kwargs['labels'] == {'team': 'x', 'zerodowntime.slot': 'blue'}
    assert kwargs['healthcheck'] == dict(test=['CMD', 'curl', '-f', 'http://127.0.0.1/'], interval=2 * 10 ** 9,
                                         retries=3)
    assert kwargs['stop_signal'] == 'SIGQUIT' and kwargs['stop_timeout'] == 20
    assert kwargs['ports'] == [(8080, 'tcp')]
    host = kwargs['host_config']
    assert host['NetworkMode'] == 'front'
    assert host['PortBindings'] == {'8080/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '18301'}]}
    assert host['RestartPolicy'] == {'Name': 'on-failure', 'MaximumRetryCount': 3}
    assert host['Memory'] == 256 * 1024 ** 2 and host['NanoCpus'] == 1500000000 and host['PidsLimit'] == 100
    assert host['LogConfig'] == {'Type': 'json-file', 'Config': {'max-size': '1m'}}
    assert [(m['Type'], m['Target'], m['ReadOnly']) for m in host['Mounts']] == [
        ('bind', '/srv', True), ('tmpfs', '/tmp', False)]
    assert kwargs['networking_config'] == {'EndpointsConfig': {'front': {'Aliases': ['web']}}}
    assert networks == [('back', ['api'])]


def test_disabled_healthcheck():
    kwargs = cs.create_args(API, build(healthcheck=dict(disable=True)).config('blue'), 'i', 'n', {})[0]
    assert kwargs['healthcheck'] == dict(test=['NONE'])


def test_shell_healthcheck_and_no_zero_durations():
    spec = build(healthcheck=dict(test='curl -f http://127.0.0.1/ || exit 1', start_period='0s'))
    assert spec.common['healthcheck'] == dict(test=['CMD-SHELL', 'curl -f http://127.0.0.1/ || exit 1'])


def test_healthcheck_timings_alone_keep_the_images_test():
    assert build(healthcheck=dict(interval='200ms')).common['healthcheck'] == dict(interval=2 * 10 ** 8)
    assert build(healthcheck=dict()).common['healthcheck'] is None
