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
