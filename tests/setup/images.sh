#!/usr/bin/env bash
# Build the test images from tests/images/ (see tests/images/README.md).
# Assumes a Docker engine answers and debian:bookworm-slim exists (tests/setup/base-image.sh;
# `make images` runs both). Docker's layer cache makes a run with nothing changed take seconds.
# One line per image: built (new image ID) or cached (same ID), and the time it took.
# On a failed build the tail of its log is printed and the script exits 1.
#
#   ZDT_IMAGES=app,nginx bash tests/setup/images.sh    # only these groups (app nginx haproxy apache caddy)
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../images" && pwd)
log() { echo "[images] $*"; }

# group  tag  build-args (space-separated NAME=VALUE)
TABLE=(
  "app      zerodowntime-test/app:v1                APP_VERSION=v1"
  "app      zerodowntime-test/app:v2                APP_VERSION=v2"
  "app      zerodowntime-test/app:v3                APP_VERSION=v3"
  "app      zerodowntime-test/app:never-ready       APP_VERSION=never APP_NEVER_READY=1"
  "app      zerodowntime-test/app:slow-start        APP_VERSION=v2s APP_READY_DELAY=3"
  "app      zerodowntime-test/app:crash-after-ready APP_VERSION=v2c APP_CRASH_AFTER=4"
  "app      zerodowntime-test/app:cold-503          APP_VERSION=v2 APP_COLD_503=0.3"
  "nginx    zerodowntime-test/nginx:latest"
  "haproxy  zerodowntime-test/haproxy:latest"
  "apache   zerodowntime-test/apache:latest"
  "caddy    zerodowntime-test/caddy:latest"
)

wanted=",${ZDT_IMAGES:-app,nginx,haproxy,apache,caddy},"
for group in ${wanted//,/ }; do
  [ -d "$IMAGES_DIR/$group" ] || { log "unknown image group '$group' in ZDT_IMAGES (app, nginx, haproxy, apache, caddy)" >&2; exit 2; }
done

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  log "debian:bookworm-slim is missing: run tests/setup/base-image.sh first (make images does)" >&2
  exit 1
fi

buildlog=$(mktemp)
trap 'rm -f "$buildlog"' EXIT
# The legacy builder's deprecation notice and the step output go to $buildlog, shown on failure only.
export DOCKER_BUILDKIT=0

total_start=$(date +%s.%N)
count=0
for row in "${TABLE[@]}"; do
  read -r group tag args <<<"$row"
  case "$wanted" in *",$group,"*) ;; *) continue ;; esac
  build_args=()
  for arg in $args; do build_args+=(--build-arg "$arg"); done
  before=$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  start=$(date +%s.%N)
  if ! docker build --network host --rm --force-rm -t "$tag" "${build_args[@]}" \
      "$IMAGES_DIR/$group" >"$buildlog" 2>&1; then
    log "FAILED $tag (docker build $IMAGES_DIR/$group ${args}); last lines of the build log:" >&2
    tail -n 30 "$buildlog" >&2
    exit 1
  fi
  after=$(docker image inspect -f '{{.Id}}' "$tag")
  elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$before" = "$after" ]; then state=cached; else state=built; fi
  printf '[images] %-40s %-6s %5ss  %s\n' "$tag" "$state" "$elapsed" "$(echo "${after#sha256:}" | cut -c1-12)"
  count=$((count + 1))
done
log "$count image(s) ready in $(awk -v a="$total_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
