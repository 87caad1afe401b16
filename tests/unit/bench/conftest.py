# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark's library (bench/zdtbench) is imported as a top-level package, as bench/run.py does."""

import os
import sys

BENCH_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'bench')
if BENCH_DIR not in sys.path:
    sys.path.insert(0, os.path.normpath(BENCH_DIR))
