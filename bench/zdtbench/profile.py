"""How the app under test behaves: the realistic profile (the default) and the kind one.

realistic — what the apps users run do: the process needs APP_STARTUP_DELAY seconds before it
listens (loading code, opening pools), closes a keep-alive connection idle for APP_IDLE_TIMEOUT
seconds (Node 5 s, gunicorn 2 s, Go's and uvicorn's 5 s), and has a Docker HEALTHCHECK with
common settings: every second, a start period. The readiness checks of the collection's playbooks
poll every READINESS_INTERVAL (the peers use their modules' own pace).
kind — the test app as it was before (ready 0.15 s after start, keep-alive 75 s, the playbooks'
own health checks: blue_green every 0.25 s, rolling_restart none, readiness polled every 0.05 s).

Every strategy gets the same profile in a run: the hand scripts through ``docker_run_args``, the
playbooks (ours and the peers) through ``extravars``.
"""

import collections

AppProfile = collections.namedtuple('AppProfile', 'name env healthcheck readiness_interval description')

# The image's own test (/opt/app/healthcheck.py) with these timings; Docker's durations.
REALISTIC_HEALTHCHECK = dict(interval='1s', timeout='2s', retries=3, start_period='10s')
PROFILES = dict(
    realistic=AppProfile(
        'realistic', env=dict(APP_STARTUP_DELAY='1.5', APP_IDLE_TIMEOUT='5'),
        healthcheck=REALISTIC_HEALTHCHECK, readiness_interval=0.25,
        description='starts listening 1.5 s after start, closes keep-alive connections idle for 5 s, '
                    'Docker HEALTHCHECK every 1 s (timeout 2 s, 3 retries, start period 10 s); '
                    "our readiness polls every 0.25 s"),
    kind=AppProfile(
        'kind', env={}, healthcheck=None, readiness_interval=0.05,
        description='listens at once, keep-alive idle 75 s, the playbooks\' own health checks '
                    '(blue_green every 0.25 s, rolling_restart none), readiness polled every 0.05 s'),
)
DEFAULT = 'realistic'
# docker run flags of the healthcheck timings (the CLI has no flag for the test alone: the
# image's test stays).
_HEALTH_FLAGS = (('interval', '--health-interval'), ('timeout', '--health-timeout'),
                 ('retries', '--health-retries'), ('start_period', '--health-start-period'))


def get(name):
    """The profile called ``name``; ValueError naming the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError('unknown app profile %r (known: %s)' % (name, ', '.join(sorted(PROFILES))))


def docker_run_args(profile):
    """``docker run`` flags that give a container the profile's env and healthcheck."""
    args = []
    for key in sorted(profile.env):
        args += ['-e', '%s=%s' % (key, profile.env[key])]
    for key, flag in _HEALTH_FLAGS:
        if profile.healthcheck and key in profile.healthcheck:
            args += [flag, str(profile.healthcheck[key])]
    return args


def extravars(profile):
    """The bench_app_* extra vars every playbook gets (bench/playbooks/README.md); healthcheck
    None: the playbook's own."""
    return dict(bench_app_profile=profile.name, bench_app_env=dict(profile.env),
                bench_app_healthcheck=dict(profile.healthcheck) if profile.healthcheck else None,
                bench_app_readiness_interval=profile.readiness_interval)
