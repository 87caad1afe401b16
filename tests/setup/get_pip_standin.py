"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test creates one virtual environment per sanity test and bootstraps pip in it by
downloading get-pip.py from a host our machines cannot reach. Saved in ansible-test's cache
(~/.ansible/test/cache/get_pip_<version>.py), this script does the same job offline: it installs
the pip bundled with Python (ensurepip), makes that pip trust the system CA bundle (ansible-test
runs pip with PIP_CONFIG_FILE=/dev/null, so the machine's pip settings are ignored), then installs
the requested packages from the package index.
"""

import glob
import os
import shutil
import subprocess
import sys

SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
# Options of the real get-pip.py that plain 'pip install' does not know.
GET_PIP_ONLY_OPTIONS = {'--no-setuptools', '--no-wheel'}


def main():
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
    if os.path.exists(SYSTEM_CA_BUNDLE):
        for bundle in glob.glob(os.path.join(sys.prefix, 'lib', 'python*', 'site-packages', 'pip',
                                             '_vendor', 'certifi', 'cacert.pem')):
            shutil.copyfile(SYSTEM_CA_BUNDLE, bundle)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)


if __name__ == '__main__':
    main()
