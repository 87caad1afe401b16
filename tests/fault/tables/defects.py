# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Defects this suite found in code other engineers own. Each is the reason of a strict xfail:
once the defect is fixed the test passes, the strict xfail fails, and the mark must go."""

import pytest

ROLLING_SKIPS_CURRENT_BACKEND = (
    'rolling_restart never re-enables a backend whose container is already current: '
    'roles/rolling_restart/tasks/main.yml runs drain/restart/enable only when the check-mode plan '
    'is changed, so a run interrupted after the redeploy leaves the member drained (or at a part '
    'of its weight ramp) for good, and the re-run reports success')

ROLLING_REUSED_CANDIDATE = (
    'rolling_restart reports "the container of <host> was not replaced" when the redeploy reuses '
    'a candidate left by an interrupted run: roles/rolling_restart/tasks/restart.yml compares the '
    'new active container ID with _rolling_restart_plan.active.id, which is the *predicted* active '
    'after the plan (the reused candidate), not the container before it; the backend stays drained')

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

CA_PATH_OVERRIDDEN_BY_ENVIRONMENT = (
    'balancer_member ignores apache_ca_path when REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) is set in the '
    'module\'s environment: plugins/module_utils/_balancers/_apache.py ManagerClient sets session.verify, '
    'and requests replaces an unset per-request verify with the environment bundle before merging the '
    'session setting; the CA the user named is never used (pass verify= with each request instead)')

APACHE_URL_CREDENTIALS_ECHOED = (
    'balancer_member takes user:password@ in apache_url (requests sends them as basic auth) and '
    'echoes the URL, password included, in its messages and its invocation: plugins/module_utils/'
    '_balancers/_apache.py ManagerClient uses and prints self.url as given; it should refuse '
    'credentials in the URL (as _traffic.Target does: "carries credentials; give them as separate '
    'options") or mask them')

HEADERS_NOT_NO_LOG = (
    'request headers are not no_log although the docs suggest credentials in them (traffic_probe: '
    '"Request headers, for example Host or Authorization"): traffic_probe headers '
    '(plugins/modules/traffic_probe.py ARGUMENT_SPEC), wait_ready checks[].headers and warmup.headers '
    '(plugins/module_utils/_readiness.py) - an Authorization or Cookie value is returned in the '
    'invocation and shown in every log and AWX job')


def xfail(reason):
    """Strict, and only for a broken promise (AssertionError): an error of the harness itself
    must not pass for the defect."""
    return pytest.mark.xfail(strict=True, reason=reason, raises=AssertionError)


def param(value, id, defect=None):
    """A test parameter; a known defect makes it a strict xfail."""
    return pytest.param(value, id=id, marks=[xfail(defect)] if defect else [])
