# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared builders of the container_hotswap unit tests: module parameters with their defaults,
the desired version, and states found on a fake engine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.zerodowntime.deploy.plugins.module_utils import _hotswap as hs
from ansible_collections.zerodowntime.deploy.plugins.module_utils._container_spec import build_spec
from ansible_collections.zerodowntime.deploy.plugins.module_utils._hotswap_run import (
    REQUIRED_IF, argument_spec)

from fake_engine import FakeAPI, service_labels

SERVICE = 'web'
OLD_IMAGE, OLD_ID = 'app:v1', 'sha256:v1'
NEW_IMAGE, NEW_ID = 'app:v2', 'sha256:v2'


def params(**overrides):
    """Module parameters as AnsibleModule would give them (defaults applied)."""
    values = dict(name=SERVICE, image=NEW_IMAGE)
    values.update(overrides)
    result = ArgumentSpecValidator(argument_spec(), required_if=REQUIRED_IF).validate(values)
    if result.error_messages:
        raise ValueError(result.error_messages)
    return result.validated_parameters


def desired(spec=None, image=NEW_IMAGE, image_id=NEW_ID):
    spec = spec or build_spec(params())
    return hs.Desired(image, image_id, dict((s, spec.config(s)) for s in hs.SLOTS),
                      dict((s, spec.config_hash(s)) for s in hs.SLOTS))


def engine_with(found, want=None, api=None):
    """A FakeAPI holding the containers of ``found``: role -> (slot, status, matches desired
    [, health]).
    A container that does not match runs the old image."""
    want = want or desired()
    api = api or FakeAPI(images={OLD_IMAGE: OLD_ID, NEW_IMAGE: NEW_ID})
    for role, spec in sorted(found.items()):
        slot, status, matches = spec[:3]
        health = spec[3] if len(spec) > 3 else None
        image, image_id = (NEW_IMAGE, NEW_ID) if matches else (OLD_IMAGE, OLD_ID)
        labels = service_labels(SERVICE, slot, want.hashes[slot])
        labels[hs.LABEL_IMAGE] = image
        api.add(hs.container_name(SERVICE, role), labels=labels, image_id=image_id, image=image,
                status=status, health=health)
    return api


def state_of(api):
    infos = [api._find(c['Id']) for c in api.containers(all=True)]
    return hs.read_state(SERVICE, infos)
