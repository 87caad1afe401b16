# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _docker


def params(**overrides):
    values = {name: spec.get('default') for name, spec in _docker.DOCKER_CONNECTION_ARGS.items()}
    values.update(overrides)
    return values


class FakeTLSConfig:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class FakeClient:
    instances = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        FakeClient.instances.append(self)

    def ping(self):
        return True


class FakeAPIClient:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


@pytest.fixture
def fake_sdk(monkeypatch):
    FakeClient.instances = []
    monkeypatch.setattr(_docker.docker, 'DockerClient', FakeClient)
    monkeypatch.setattr(_docker, 'TLSAPIClient', FakeAPIClient)
    monkeypatch.setattr(_docker.docker.tls, 'TLSConfig', FakeTLSConfig)
    return FakeClient


def test_plain_socket_uses_no_tls(fake_sdk):
    client = _docker.docker_client(params())
    assert client.kwargs['base_url'] == 'unix:///var/run/docker.sock'
    assert client.kwargs['tls'] is False
    assert client.kwargs['version'] == 'auto'
    assert client.kwargs['timeout'] == 60


def test_client_certificate_implies_verified_tls(fake_sdk):
    client = _docker.docker_client(params(docker_host='tcp://engine:2376', docker_client_cert='/c.pem',
                                          docker_client_key='/k.pem', docker_ca_path='/ca.pem'))
    tls = client.api.kwargs['tls']
    assert tls.kwargs == {'client_cert': ('/c.pem', '/k.pem'), 'ca_cert': '/ca.pem', 'verify': True}


def test_tls_verification_can_be_turned_off_explicitly(fake_sdk):
    client = _docker.docker_client(params(docker_tls=True, docker_validate_certs=False))
    assert client.api.kwargs['tls'].kwargs['verify'] is False
    assert client.api.kwargs['tls'].kwargs['client_cert'] is None


@pytest.mark.parametrize('variable', ['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'])
@pytest.mark.parametrize('validate', [True, False])
def test_the_ca_the_user_named_wins_over_the_environment(tmp_path, monkeypatch, variable, validate):
    """requests' own merge of a request's settings (no engine needed with a fixed API version):
    an environment bundle must not replace docker_ca_path nor turn verification back on."""
    ca = tmp_path.joinpath('ca.pem')
    ca.write_text('not read here')
    monkeypatch.setenv(variable, '/environment/bundle.pem')
    tls = _docker.docker.tls.TLSConfig(ca_cert=str(ca), verify=validate)
    api = _docker.TLSAPIClient(base_url='tcp://engine:2376', version='1.41', tls=tls)
    settings = api.merge_environment_settings('https://engine:2376/v1.41/_ping', {}, None, None, None)
    assert settings['verify'] == (str(ca) if validate else False)


@pytest.mark.parametrize('overrides, warned', [
    (dict(docker_host='tcp://engine:2375'), True),
    (dict(docker_host='TCP://engine:2375'), True),
    (dict(docker_host='tcp://engine:2376', docker_tls=True), False),
    (dict(docker_host='tcp://engine:2376', docker_ca_path='/ca.pem'), False),
    (dict(), False),
    (dict(docker_host='ssh://user@engine'), False),
])
def test_plain_tcp_is_warned_about(overrides, warned):
    warning = _docker.plaintext_tcp_warning(params(**overrides))
    assert bool(warning) is warned
    if warned:
        assert warning.startswith('docker_host %s is reached over TCP without TLS' % overrides['docker_host'])


def test_unreachable_engine_names_the_address_and_cause(tmp_path):
    missing = 'unix://%s' % tmp_path.joinpath('no-such.sock')
    with pytest.raises(_docker.DockerConnectionError) as caught:
        _docker.docker_client(params(docker_host=missing, docker_timeout=2))
    message = str(caught.value)
    assert message.startswith('Cannot reach the Docker engine at %s: ' % missing)
    assert 'No such file or directory' in message


def test_connection_options_match_their_documentation():
    import yaml
    from ansible_collections.zerodowntime.deploy.plugins.doc_fragments.docker import ModuleDocFragment

    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    assert set(documented) == set(_docker.DOCKER_CONNECTION_ARGS)
    for name, spec in _docker.DOCKER_CONNECTION_ARGS.items():
        assert documented[name]['type'] == spec['type'], name
        assert documented[name].get('default') == spec.get('default'), name


# ---------------------------------------------------------------- the standard environment

def cert_dir(tmp_path, *names):
    for name in names:
        tmp_path.joinpath(name).write_text('pem')
    return str(tmp_path)


def resolved(environ, home='/nonexistent-home', **overrides):
    return _docker.resolve_connection(params(**overrides), environ=environ, home=home)


@pytest.mark.parametrize('variable', ['DOCKER_TLS_VERIFY', 'DOCKER_TLS'])
def test_tls_variables_turn_tls_on_for_a_tcp_engine_with_the_files_of_docker_cert_path(tmp_path, variable):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    got = resolved({variable: '1', 'DOCKER_CERT_PATH': path}, docker_host='tcp://engine:2376')
    assert got['docker_tls'] is True
    assert got['docker_validate_certs'] is True          # the environment never turns it off
    assert (got['docker_ca_path'], got['docker_client_cert'], got['docker_client_key']) == (
        path + '/ca.pem', path + '/cert.pem', path + '/key.pem')


def test_docker_cert_path_defaults_to_dot_docker_in_the_home(tmp_path):
    tmp_path.joinpath('.docker').mkdir()
    cert_dir(tmp_path.joinpath('.docker'), 'ca.pem')
    got = resolved({'DOCKER_TLS_VERIFY': 'yes'}, home=str(tmp_path), docker_host='tcp://engine:2376')
    assert got['docker_ca_path'] == str(tmp_path.joinpath('.docker', 'ca.pem'))
    assert got['docker_client_cert'] is None and got['docker_client_key'] is None


def test_a_client_certificate_is_only_taken_as_a_pair(tmp_path):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem')
    got = resolved({'DOCKER_TLS_VERIFY': '1', 'DOCKER_CERT_PATH': path}, docker_host='tcp://engine:2376')
    assert got['docker_ca_path'] == path + '/ca.pem'
    assert got['docker_client_cert'] is None and got['docker_client_key'] is None


@pytest.mark.parametrize('value', ['', '0', 'false', 'no', 'off', 'FALSE'])
def test_false_or_empty_tls_variables_leave_tls_off(tmp_path, value):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    got = resolved({'DOCKER_TLS_VERIFY': value, 'DOCKER_CERT_PATH': path}, docker_host='tcp://engine:2376')
    assert got['docker_tls'] is False and got['docker_ca_path'] is None


@pytest.mark.parametrize('host', ['unix:///var/run/docker.sock', 'ssh://deploy@engine'])
def test_tls_variables_do_not_apply_to_a_socket_or_ssh_engine(tmp_path, host):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    got = resolved({'DOCKER_TLS_VERIFY': '1', 'DOCKER_CERT_PATH': path}, docker_host=host)
    assert got['docker_tls'] is False and got['docker_ca_path'] is None


def test_options_win_over_the_environment(tmp_path):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    environ = {'DOCKER_TLS_VERIFY': '1', 'DOCKER_CERT_PATH': path}
    off = resolved(environ, docker_host='tcp://engine:2376', docker_tls=False)
    assert off['docker_tls'] is False and off['docker_ca_path'] is None
    named = resolved(environ, docker_host='tcp://engine:2376', docker_ca_path='/mine/ca.pem')
    assert named['docker_tls'] is True
    assert (named['docker_ca_path'], named['docker_client_cert']) == ('/mine/ca.pem', None)


def test_explicit_tls_reads_docker_cert_path_like_the_cli(tmp_path):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    got = resolved({'DOCKER_CERT_PATH': path}, docker_host='tcp://engine:2376', docker_tls=True)
    assert got['docker_client_key'] == path + '/key.pem'


def test_resolution_leaves_the_params_alone(tmp_path):
    given = params(docker_host='tcp://engine:2376')
    _docker.resolve_connection(given, environ={'DOCKER_TLS_VERIFY': '1', 'DOCKER_CERT_PATH': cert_dir(tmp_path, 'ca.pem')})
    assert given['docker_tls'] is None and given['docker_ca_path'] is None


@pytest.mark.parametrize('variable, option, value, expected', [
    ('DOCKER_HOST', 'docker_host', 'tcp://engine:2376', 'tcp://engine:2376'),
    ('DOCKER_TIMEOUT', 'docker_timeout', '7', 7),
    ('DOCKER_API_VERSION', 'docker_api_version', '1.41', '1.41'),
])
def test_host_timeout_and_api_version_fall_back_to_the_environment(monkeypatch, variable, option, value, expected):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    monkeypatch.setenv(variable, value)
    validated = ArgumentSpecValidator(_docker.DOCKER_CONNECTION_ARGS).validate({})
    assert validated.validated_parameters[option] == expected
    given = ArgumentSpecValidator(_docker.DOCKER_CONNECTION_ARGS).validate({option: expected})
    assert given.validated_parameters[option] == expected


def test_the_tls_environment_reaches_the_client(fake_sdk, tmp_path, monkeypatch):
    path = cert_dir(tmp_path, 'ca.pem', 'cert.pem', 'key.pem')
    monkeypatch.setenv('DOCKER_TLS_VERIFY', '1')
    monkeypatch.setenv('DOCKER_CERT_PATH', path)
    client = _docker.docker_client(params(docker_host='tcp://engine:2376'))
    assert client.api.kwargs['tls'].kwargs == {
        'client_cert': (path + '/cert.pem', path + '/key.pem'), 'ca_cert': path + '/ca.pem', 'verify': True}
    assert _docker.plaintext_tcp_warning(params(docker_host='tcp://engine:2376')) is None


# ---------------------------------------------------------------- messages that name the fix

def test_permission_denied_names_the_user_the_group_and_the_fix(tmp_path, monkeypatch):
    sock = tmp_path.joinpath('docker.sock')
    sock.write_text('')
    monkeypatch.setattr(_docker, 'running_as', lambda: 'deploy (uid 1001)')
    monkeypatch.setattr(_docker, 'running_as_name', lambda: 'deploy')
    monkeypatch.setattr(_docker, '_socket_group', lambda path: 'docker')
    msg = _docker.explain_failure('unix://%s' % sock, "('Connection aborted.', PermissionError(13, 'Permission denied'))")
    assert msg == (
        "Cannot reach the Docker engine at unix://%s: ('Connection aborted.', PermissionError(13, 'Permission denied'))."
        " The module runs as deploy (uid 1001), which may not open %s (owned by group docker): add the user to that"
        " group (usermod -aG docker deploy; it applies from the next login) or run the task with become: true"
        % (sock, sock))


def test_ssh_without_paramiko_names_the_library():
    msg = _docker.explain_failure('ssh://deploy@engine', 'Install paramiko package to enable ssh:// support')
    assert 'apt-get install python3-paramiko, or pip install paramiko' in msg


def test_a_certificate_from_another_ca_is_named():
    msg = _docker.explain_failure('tcp://engine:2376', "SSLError(... [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert msg.endswith("The engine's certificate was not signed by the CA in use (docker_ca_path, or ca.pem in DOCKER_CERT_PATH)")


def test_other_causes_are_passed_on_as_they_are():
    assert _docker.explain_failure('unix:///x.sock', 'boom') == 'Cannot reach the Docker engine at unix:///x.sock: boom'
