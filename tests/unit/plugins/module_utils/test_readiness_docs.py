# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The readiness doc fragment (both shapes) and the argspec in _readiness.py change together."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
import yaml

from ansible_collections.zerodowntime.deploy.plugins.doc_fragments.readiness import ModuleDocFragment
from ansible_collections.zerodowntime.deploy.plugins.module_utils import _readiness as r

TOP_LEVEL = ('checks', 'timeout', 'interval', 'success_threshold', 'initial_delay', 'warmup')


def documented(text):
    return yaml.safe_load(text)['options']


def compare(spec, docs, where):
    assert sorted(spec) == sorted(docs), where
    for name, rule in spec.items():
        doc = docs[name]
        here = '%s.%s' % (where, name)
        assert doc['type'] == rule['type'], here
        assert doc.get('default') == rule.get('default'), here
        assert doc.get('choices') == rule.get('choices'), here
        assert doc.get('elements') == rule.get('elements'), here
        assert bool(doc.get('required')) == bool(rule.get('required')), here
        assert doc.get('description'), here
        if 'options' in rule:
            compare(rule['options'], doc['suboptions'], here)
        else:
            assert 'suboptions' not in doc, here


def test_top_level_fragment_matches_the_argspec():
    compare(r.READINESS_ARGS, documented(ModuleDocFragment.DOCUMENTATION), 'readiness')


def test_nested_fragment_matches_the_nested_argspec():
    docs = documented(ModuleDocFragment.NESTED)
    assert list(docs) == ['readiness'] and docs['readiness']['type'] == 'dict'
    assert list(r.READINESS_NESTED_ARGS) == ['readiness']
    assert r.READINESS_NESTED_ARGS['readiness']['options'] is r.READINESS_ARGS
    compare(r.READINESS_ARGS, docs['readiness']['suboptions'], 'readiness.nested')


def test_nested_fragment_is_the_top_level_one_with_prefixed_references():
    top = documented(ModuleDocFragment.DOCUMENTATION)
    pattern = re.compile(r'O\((%s)\b' % '|'.join(TOP_LEVEL))
    expected = yaml.safe_load(pattern.sub(r'O(readiness.\1', yaml.safe_dump(top)))
    assert documented(ModuleDocFragment.NESTED)['readiness']['suboptions'] == expected


@pytest.mark.parametrize('text', [ModuleDocFragment.DOCUMENTATION, ModuleDocFragment.NESTED])
def test_every_check_key_is_documented_with_its_check_types(text):
    # Each type-specific key says which check types read it (the code rejects it elsewhere).
    checks = yaml.safe_load(text)['options']
    checks = checks.get('checks') or checks['readiness']['suboptions']['checks']
    for kind, keys in r._TYPE_KEYS.items():
        for key in keys:
            assert 'V(%s)' % kind in ' '.join(checks['suboptions'][key]['description']), (kind, key)


def test_secrets_are_no_log():
    assert r.CHECK_OPTIONS['url_password']['no_log'] is True
