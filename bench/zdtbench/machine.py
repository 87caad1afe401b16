"""What was measured, on what: the git commit and the machine's cores, memory, kernel, tools."""

import importlib.metadata
import os
import platform
import subprocess

from zdtbench import docker_cli, sysctl
from zdtbench.collection import REPO_ROOT


def _git(*args):
    done = subprocess.run(('git',) + args, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def commit():
    """sha of HEAD, and whether the working tree differs from it (the run measured that tree)."""
    changed = (_git('diff', '--name-only', 'HEAD') or '').splitlines()
    return dict(sha=_git('rev-parse', 'HEAD'), subject=_git('log', '-1', '--format=%s'),
                dirty=bool(changed), changed=changed)


def _memory_gib():
    with open('/proc/meminfo') as handle:
        for line in handle:
            if line.startswith('MemTotal:'):
                return round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
    return None


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine():
    return dict(
        cores=os.cpu_count(),
        memory_gib=_memory_gib(),
        kernel=platform.release(),
        docker=docker_cli.version(),
        python=platform.python_version(),
        ansible_core=_package_version('ansible-core'),
        ansible_runner=_package_version('ansible-runner'),
        loadavg_start=' '.join('%.2f' % value for value in os.getloadavg()),
        tcp_migrate_req_start=sysctl.read() if sysctl.available() else None,
    )
