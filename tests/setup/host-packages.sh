#!/usr/bin/env bash
# Debian packages the test run uses on the host: shellcheck (ansible-test sanity), load tools
# (wrk, ab), socat (HAProxy runtime socket by hand), debootstrap (offline base image).
# Installs only what is missing, and only as root; elsewhere it says what to install.
set -euo pipefail

declare -A wanted=([shellcheck]=shellcheck [wrk]=wrk [ab]=apache2-utils [socat]=socat [debootstrap]=debootstrap)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[host-packages] present: ${!wanted[*]}"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[host-packages] missing: ${missing[*]} — install them (apt-get install ${missing[*]}) or run as root" >&2
  exit 1
fi
echo "[host-packages] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
