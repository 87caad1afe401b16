# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swaps and phases from ansible-runner task events; when a playbook strategy is pending."""

import pytest

from zdtbench import playbook
from zdtbench.strategy import BenchEnv, StrategyError


def event(kind, task, start=None, end=None, facts=None, action='ansible.builtin.command'):
    data = dict(task=task, task_action=action)
    if start is not None:
        data.update(start='2026-11-22T00:00:%06.3f+00:00' % start, end='2026-11-22T00:00:%06.3f+00:00' % end,
                    res=dict(ansible_facts=facts) if facts else {})
    return dict(event=kind, event_data=data)


BASE = playbook.parse_event_time('2026-11-22T00:00:00+00:00')
SPECS = BenchEnv(1, (), {'v1': 'app:v1', 'v2': 'app:v2'}, 'x-', 3).swap_specs(2)


def swap_events(index, at):
    return [
        event('playbook_on_task_start', 'Bench swap starts'),
        event('runner_on_ok', 'Bench swap starts', at, at + 0.1, {playbook.START_MARK: str(index)},
              action='ansible.builtin.set_fact'),
        event('runner_on_ok', 'Swap', at + 0.1, at + 0.11, action='ansible.builtin.include_tasks'),
        event('runner_on_ok', 'Start new', at + 0.2, at + 1.0),
        event('runner_on_skipped', 'Optional step', at + 1.0, at + 1.1),
        event('runner_on_ok', 'Stop old', at + 1.1, at + 2.0),
        event('runner_on_ok', 'Bench swap ends', at + 2.05, at + 2.1, {playbook.END_MARK: str(index)}),
        event('runner_on_ok', 'Steady load until the next swap', at + 2.1, at + 3.1),
    ]


def test_event_times_are_utc_epochs():
    assert playbook.parse_event_time('2026-11-22T00:00:01.5+00:00') - BASE == pytest.approx(1.5)
    assert playbook.parse_event_time('2026-11-22T00:00:01.5') - BASE == pytest.approx(1.5)


def test_tasks_between_markers_are_the_phases():
    events = [event('runner_on_ok', 'Gathering', 0.0, 1.0)] + swap_events(0, 10.0) + swap_events(1, 20.0)
    swaps = playbook.swaps_from_events(events, SPECS, lambda epoch: epoch - BASE)
    assert [(swap.index, swap.old_version, swap.new_version) for swap in swaps] == [(0, 'v1', 'v2'), (1, 'v2', 'v1')]
    first = swaps[0]
    assert first.start == pytest.approx(10.1) and first.end == pytest.approx(12.05)
    assert [phase.name for phase in first.phases] == ['Start new', 'Optional step', 'Stop old']
    assert first.phases[0].start == pytest.approx(10.2)


def rolling_events(index, at, members=3):
    """A rolling restart: each member between member markers, 2 s apart."""
    events = [event('runner_on_ok', 'Bench swap starts', at, at + 0.1, {playbook.START_MARK: str(index)},
                    action='ansible.builtin.set_fact')]
    for member in range(members):
        begin = at + 0.2 + 2 * member
        events += [
            event('runner_on_ok', 'Bench member swap starts', begin, begin + 0.1,
                  {playbook.MEMBER_START_MARK: str(member)}, action='ansible.builtin.set_fact'),
            event('runner_on_ok', 'Drain', begin + 0.1, begin + 0.5),
            event('runner_on_ok', 'Restart', begin + 0.5, begin + 1.5),
            event('runner_on_ok', 'Bench member swap ends', begin + 1.6, begin + 1.7,
                  {playbook.MEMBER_END_MARK: str(member)}, action='ansible.builtin.set_fact'),
        ]
    events.append(event('runner_on_ok', 'Bench swap ends', at + 7.0, at + 7.1, {playbook.END_MARK: str(index)}))
    return events


def test_members_of_a_swap_are_swaps_of_their_own():
    events = rolling_events(0, 10.0) + rolling_events(1, 20.0)
    swaps = playbook.swaps_from_events(events, SPECS, lambda epoch: epoch - BASE)
    assert [(swap.index, swap.group, swap.new_version) for swap in swaps] == [
        (0, 0, 'v2'), (1, 0, 'v2'), (2, 0, 'v2'), (3, 1, 'v1'), (4, 1, 'v1'), (5, 1, 'v1')]
    second = swaps[1]
    assert second.start == pytest.approx(12.3) and second.end == pytest.approx(13.8)
    assert [phase.name for phase in second.phases] == ['Drain', 'Restart']
    assert swaps[0].group is not None and playbook.swaps_from_events(swap_events(0, 1.0), SPECS, float)[0].group is None


def test_a_swap_without_its_end_marker_fails():
    events = swap_events(0, 10.0)[:5]
    with pytest.raises(StrategyError, match='swap 0 started but never ended'):
        playbook.swaps_from_events(events, SPECS, lambda epoch: epoch)


def test_pending_until_role_and_playbook_exist(tmp_path, monkeypatch):
    monkeypatch.setattr(playbook, 'ROLES_DIR', str(tmp_path / 'roles'))
    monkeypatch.setattr(playbook, 'PLAYBOOK_DIR', str(tmp_path / 'playbooks'))
    strategy = playbook.PlaybookStrategy('blue_green-nginx', 'blue_green.yml', role='blue_green')
    assert strategy.pending_reason() == 'role roles/blue_green does not exist yet'
    (tmp_path / 'roles' / 'blue_green').mkdir(parents=True)
    assert 'does not exist yet' in strategy.pending_reason()
    (tmp_path / 'playbooks').mkdir()
    (tmp_path / 'playbooks' / 'blue_green.yml').write_text('---\n')
    assert strategy.pending_reason() is None


def test_failure_message_is_the_last_failed_task():
    events = [
        dict(event='runner_on_failed', event_data=dict(task='Probe', ignore_errors=True, res=dict(msg='ignored'))),
        dict(event='runner_on_failed', event_data=dict(task='Cut over', res=dict(msg='drain timed out'))),
        dict(event='runner_on_failed', event_data=dict(task='Fail with the reason', res=dict(msg='rolled back'))),
        dict(event='playbook_on_stats', event_data={}),
    ]
    assert playbook.failure_message(events) == 'Fail with the reason: rolled back'
    assert playbook.failure_message(events[:1]) is None


def test_failure_message_of_a_loop_is_its_first_failed_item():
    items = [dict(failed=False, msg='fine'), dict(failed=True, msg='drain timed out')]
    result = dict(msg='One or more items failed', results=items)
    events = [dict(event='runner_on_failed', event_data=dict(task='Drain', res=result))]
    assert playbook.failure_message(events) == 'Drain: drain timed out'
