"""The docker commands a hand-written deploy script types, run from Python.

The baselines are meant to be what operators script today, so they go through the docker CLI
(one process per command, like a shell script) rather than the SDK. Every container is on the
host network, named with the bench prefix, and removed by the strategy that started it.
"""

import subprocess

PREFIX = 'zdt-bench-'
COMMAND_TIMEOUT = 60.0


class DockerError(RuntimeError):
    """A docker command failed; the text has the command and what it printed."""


def docker(*args, timeout=COMMAND_TIMEOUT, check=True):
    """Run ``docker args...``; returns its stdout (stripped)."""
    command = ('docker',) + tuple(str(arg) for arg in args)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DockerError('%s: no answer within %gs' % (' '.join(command), timeout))
    if check and done.returncode != 0:
        raise DockerError('%s: exit %d: %s' % (' '.join(command), done.returncode,
                                               (done.stderr or done.stdout).strip()))
    return done.stdout.strip()


def run_app(name, image, port, reuseport=False, extra=()):
    """Start the demo app detached on 127.0.0.1:port (host network); ``extra``: more docker run
    flags (the app profile's, zdtbench.profile.docker_run_args)."""
    env = ['-e', 'APP_PORT=%d' % port, '-e', 'APP_HOST=127.0.0.1']
    if reuseport:
        env += ['-e', 'APP_REUSEPORT=1']
    return docker('run', '-d', '--name', name, '--network', 'host', *env, *extra, image)


def remove(name):
    """docker rm -f: kill (SIGKILL) and remove; a missing container is fine."""
    docker('rm', '-f', name, check=False)


def send_signal(name, signal):
    docker('kill', '--signal', signal, name)


def wait_exit(name, timeout):
    """Block until the container has exited (docker wait), at most ``timeout`` seconds."""
    return docker('wait', name, timeout=timeout)


def version():
    return docker('version', '--format', '{{.Server.Version}}', check=False) or None
