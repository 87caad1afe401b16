"""Import the collection's request engine (plugins/module_utils/_traffic.py) from this checkout.

The engine is only importable as ``ansible_collections.zerodowntime.deploy...``. ``make bench``
sets PYTHONPATH to the copy made by ``make collection``; run by hand, the checkout is linked under
.tmp/bench-import/ansible_collections/zerodowntime/deploy (git-ignored) so edits are picked up.
"""

import importlib
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = 'ansible_collections.zerodowntime.deploy.plugins.module_utils'


def _link_checkout():
    base = os.path.join(REPO_ROOT, '.tmp', 'bench-import')
    link = os.path.join(base, 'ansible_collections', 'zerodowntime', 'deploy')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO_ROOT, link)
    sys.path.insert(0, base)


def module_util(name):
    """The collection's module_utils module ``name`` (e.g. '_traffic')."""
    try:
        return importlib.import_module('%s.%s' % (PACKAGE, name))
    except ImportError:
        _link_checkout()
        return importlib.import_module('%s.%s' % (PACKAGE, name))


traffic = module_util('_traffic')
