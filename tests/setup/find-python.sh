#!/usr/bin/env bash
# Print the path of a working Python interpreter of one of the given versions (first found wins):
#   tests/setup/find-python.sh 3.12 3.13      -> /root/.pyenv/versions/3.12.1/bin/python3.12
# Looks on PATH (a pyenv shim of a version that is not selected does not count: the candidate
# must run), then under pyenv's versions directory, then /usr/bin and /usr/local/bin.
# Nothing found: a message naming the versions and how to get one, on stderr, and exit 1.
# The caller's label (WHO=...) says what needs it, e.g. "the ansible-core 2.16 leg".
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 VERSION [VERSION...]" >&2; exit 2; }
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for version in "$@"; do
  candidates=("python$version")
  for dir in "$pyenv_root"/versions/"$version".*/bin "$pyenv_root"/versions/"$version"/bin; do
    [ -d "$dir" ] && candidates+=("$dir/python$version")
  done
  candidates+=("/usr/local/bin/python$version" "/usr/bin/python$version")
  for candidate in "${candidates[@]}"; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    # The interpreter must run, be that version, and make virtual environments.
    if "$path" -c "import sys, ssl, venv, ensurepip; sys.exit(sys.version[:len('$version') + 1] != '$version.')" >/dev/null 2>&1; then
      echo "$path"
      exit 0
    fi
  done
done
versions="$*"
echo "ERROR: no Python ${versions// / or } found${WHO:+ for $WHO} (looked on PATH, in $pyenv_root/versions, /usr/local/bin, /usr/bin)." >&2
echo "       Get one with 'pyenv install $1' (or your distribution's python$1 package with venv)," >&2
echo "       or put a python$1 on PATH (the primary environment also takes make ... PYTHON=/path/to/python)." >&2
exit 1
