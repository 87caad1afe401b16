#!/usr/bin/env bash
# Provide debian:bookworm-slim, the base of every test image.
# Present → nothing to do. Pullable → pull it. Otherwise (no registry) build it with debootstrap
# from the Debian mirror this machine's apt already uses, and import it under the same name.
set -euo pipefail

IMAGE=debian:bookworm-slim
log() { echo "[base-image] $*"; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE present"
  exit 0
fi
if timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE pulled"
  exit 0
fi

mirror=$(grep -hoE '^URIs: *[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hoE '^deb +[^ ]+' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  log "cannot pull $IMAGE and found no Debian mirror in the apt sources to build it from" >&2
  exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
log "building $IMAGE with debootstrap from the configured mirror (about 30 s)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/zerodowntime-debootstrap.log 2>&1 || {
  tail -n 20 /tmp/zerodowntime-debootstrap.log >&2; exit 1; }
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "$IMAGE" >/dev/null
log "$IMAGE imported"
