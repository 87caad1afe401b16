# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defects this suite found in code other engineers own. Each is the reason of a strict xfail:
once the defect is fixed the test passes, the strict xfail fails, and the mark must go."""

import pytest

ENABLE_KEEPS_PART_OF_THE_WEIGHT = (
    'rolling_restart killed during the weight ramp leaves the member at that part of its weight for '
    'good: balancer_member state=enabled with a ramp ramps only a member that enters rotation '
    '(plugins/module_utils/_balancers/_base.py make_plan: entering = not enabled yet), and without '
    'weight= an enabled member keeps its current weight, so the re-run finds b1 enabled and changes '
    'nothing; nor does the module return the configured weight (Member.as_dict has no '
    'config_weight), so the role cannot ask for it. A ramp asked for should resume from the current '
    'weight up to the configured one')

RESCUE_STOPS_AT_BALANCER = (
    'blue_green: when the balancer refuses the cutover, the rescue fails too and stops: '
    'roles/blue_green/tasks/balancers.yml rescue starts with the cutover back on the same balancer '
    '(same unknown member / same unreachable socket), which fails, so the candidate is never '
    'removed and the operator gets the second error instead of "failed at ... The balancers were '
    'put back and the candidate removed"')

WATCH_WITHOUT_A_SERVING_MEMBER = (
    'blue_green (haproxy/apache) with blue_green_watch: during the watch the old member is drained, '
    'so when the candidate crashes or turns unhealthy the balancer takes it out (its own health check) '
    'and no member serves until the rescue has put the old one back - HAProxy answers 503 meanwhile. '
    'roles/blue_green/tasks/balancers.yml watches only after the full cutover; watch.yml sees the '
    'container (exit, HEALTHCHECK), and the way back is a race between the rescue and the balancer: '
    'whenever the balancer notices first (it checks /health every 0.5 s; the HEALTHCHECK every 1 s with '
    '2 retries, and the rescue needs two more module runs), users get errors until the rescue is done')

BLUE_GREEN_PHASES_UNLOCKED = (
    'blue_green with a balancer (haproxy/apache) takes the per-service lock only inside each '
    'container_hotswap call (stage, promote), not across stage -> cutover -> promote: a second deploy '
    'started meanwhile does not wait - its stage silently removes the first deploy\'s staged '
    'candidate (roles/blue_green/tasks/balancers.yml; _hotswap.py _ensure_candidate removes a '
    'candidate of another version), and the first deploy then fails at promote with "Nothing staged '
    'to promote" and its rescue moves the traffic back towards a slot whose container the second '
    'deploy retired (refused only by the last-member guard while the balancer already sees it DOWN)')


def xfail(reason):
    """Strict, and only for a broken promise (AssertionError): an error of the harness itself
    must not pass for the defect."""
    return pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)


def param(value, id, defect=None):
    """A test parameter; a known defect makes it a strict xfail."""
    return pytest.param(value, id=id, marks=[xfail(defect)] if defect else [])
