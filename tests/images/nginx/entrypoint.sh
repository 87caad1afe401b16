#!/bin/sh
# Write the 64-byte version page and enable the demo site unless configuration was mounted.
set -eu
version=${NGINX_PAGE_VERSION:-nginx}
mkdir -p /var/www/zdt /etc/nginx/zdt/enabled
printf '%-63.63s\n' "version=$version" > /var/www/zdt/index.txt
printf 'add_header X-App-Version "%s" always;\n' "$version" > /etc/nginx/zdt/version-header.conf
rm -f /etc/nginx/zdt/enabled/*.conf
if ! ls /etc/nginx/conf.d/*.conf >/dev/null 2>&1; then
    sed "s|@LISTEN@|${NGINX_LISTEN:-127.0.0.1:8080}|" /etc/nginx/zdt/demo-site.conf \
        > /etc/nginx/zdt/enabled/demo-site.conf
fi
exec "$@"
