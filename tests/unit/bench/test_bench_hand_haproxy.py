# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HAProxy hand script's reading of `show stat` (the runtime API answer)."""

from zdtbench import baselines, catalog

SHOW_STAT = '\n'.join([
    '# pxname,svname,qcur,qmax,scur,smax,slim,',
    'web,FRONTEND,,,12,40,4096,',
    'app,blue,0,0,3,9,,',
    'app,green,0,0,0,4,,',
    'app,BACKEND,0,0,3,12,410,',
    '',
])


def test_sessions_of_a_server():
    assert baselines.sessions(SHOW_STAT, 'app', 'blue') == 3
    assert baselines.sessions(SHOW_STAT, 'app', 'green') == 0


def test_sessions_of_an_unknown_server_or_an_error_answer():
    assert baselines.sessions(SHOW_STAT, 'app', 'red') is None
    assert baselines.sessions('Unknown command.\n', 'app', 'blue') is None


def test_blue_green_haproxy_is_measured_against_the_hand_script():
    hand = dict((strategy.name, strategy) for strategy in baselines.all_baselines())
    ours = dict((strategy.name, strategy) for strategy in catalog.ours())
    assert ours['blue_green-haproxy'].hand_script == 'haproxy-runtime-api' and 'haproxy-runtime-api' in hand
    assert ours['blue_green-reuseport'].hand_script == 'reuseport-sigquit-migrate-on'
    assert 'reuseport-sigquit-migrate-on' in hand
    assert ours['blue_green-nginx'].hand_script is None
