# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing wrk's output and the cross-check verdict."""

import pytest

from zdtbench import wrk_check

CLEAN = """Running 2s test @ http://127.0.0.1:18600/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.27ms   15.56ms 119.04ms   90.59%
    Req/Sec    15.85k    11.48k   44.98k    67.50%
  Latency Distribution
     50%    1.19ms
     75%    5.07ms
     90%   20.98ms
     99%   79.37ms
  63622 requests in 2.04s, 10.44MB read
Requests/sec:  31241.51
Transfer/sec:      5.12MB
"""

WITH_ERRORS = """Running 1m test @ http://127.0.0.1:18600/
  2 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   850.00us    1.20ms   1.50s    90.00%
  Latency Distribution
     50%  850.00us
     99%    1.20s
  1000 requests in 1.00m, 1.00MB read
  Socket errors: connect 3, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:     16.67
"""


def test_parse_a_clean_run():
    result = wrk_check.parse_wrk(CLEAN)
    assert result['requests'] == 63622
    assert result['seconds'] == pytest.approx(2.04)
    assert result['per_s'] == pytest.approx(63622 / 2.04, rel=1e-3)
    assert result['errors'] == 0
    assert result['latency_ms'] == dict(p50=1.19, p99=79.37, max=119.04)


def test_parse_errors_and_units():
    result = wrk_check.parse_wrk(WITH_ERRORS)
    assert result['seconds'] == 60.0
    assert result['errors'] == 3 + 2 + 1 + 4
    assert result['latency_ms'] == dict(p50=0.85, p99=1200.0, max=1500.0)


def test_parse_refuses_other_text():
    with pytest.raises(ValueError, match='no "N requests in T" line'):
        wrk_check.parse_wrk('unable to connect to 127.0.0.1:18600 Connection refused')


def test_verdict():
    ours = dict(failed=0, consistent=True, per_s=5000.0)
    text, agree = wrk_check.verdict(ours, dict(errors=0, per_s=25000.0))
    assert agree and text.startswith('agree') and '= 20% of wrk' in text
    assert not wrk_check.verdict(dict(ours, consistent=False), dict(errors=0, per_s=1.0))[1]
    assert not wrk_check.verdict(dict(ours, failed=1), dict(errors=0, per_s=1.0))[1]
