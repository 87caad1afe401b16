#!/bin/sh
# Debian's environment for apache2 (run user, pid file, run/lock/log dirs), then apache in
# the foreground as PID 1 so that docker's stop signal (SIGWINCH, graceful) reaches it.
set -e
. /etc/apache2/envvars   # (not set -u: envvars reads unset variables)
mkdir -p "$APACHE_RUN_DIR" "$APACHE_LOCK_DIR" "$APACHE_LOG_DIR"
rm -f "$APACHE_PID_FILE"
# APACHE_FORGIVING=yes: the forgiving variant of the sample site (-DFORGIVING, 000-default.conf).
if [ "${APACHE_FORGIVING:-}" = yes ]; then set -- "$@" -DFORGIVING; fi
exec "$@"
