#!/usr/bin/env bash
# Make sure a Docker engine answers. Where one already answers (a user's machine), do nothing.
# On a fresh Debian box with no engine (our CI), install Debian's docker.io and start dockerd.
set -euo pipefail

log() { echo "[docker-engine] $*"; }

if docker info >/dev/null 2>&1; then
  log "engine answers: $(docker info --format '{{.ServerVersion}}' 2>/dev/null)"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  log "no Docker engine answers and we are not root: start one, or run as root so we can install it" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io (no engine on this machine)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

log "starting dockerd (log: /var/log/zerodowntime-dockerd.log)"
# Every inherited descriptor above 2 closed: run under `flock LOCK make setup`, dockerd would
# otherwise inherit the locked one and hold the lock for as long as it lives.
(
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  exec nohup dockerd >/var/log/zerodowntime-dockerd.log 2>&1
) &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "engine answers: $(docker info --format '{{.ServerVersion}}')"
    exit 0
  fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; last lines of its log:" >&2
tail -n 20 /var/log/zerodowntime-dockerd.log >&2
exit 1
