# -*- coding: utf-8 -*-
# Copyright: zerodowntime.deploy contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this package is internal to zerodowntime.deploy. It is not a public API
# and may change without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type
