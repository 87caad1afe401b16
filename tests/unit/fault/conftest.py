# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault suite's harness (tests/fault/harness) is imported as a top-level package, as the
fault suite does; only its pure-standard-library parts are unit-tested here."""

import os
import sys

FAULT_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fault'))
if FAULT_DIR not in sys.path:
    sys.path.insert(0, FAULT_DIR)
