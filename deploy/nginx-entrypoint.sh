#!/bin/sh
# nginx's start in deploy/compose.yaml: deploy/nginx.conf as it is, its upstream pointed at
# the replicas' service (Docker's DNS gives nginx every replica's address when it starts;
# after `--scale`, reload it: `docker compose exec nginx nginx -s reload`).
# tests/deploy/test_compose.py runs this same substitution and checks the result with nginx -t.
set -eu
site="${CONVSCOPE_NGINX_SITE:-/etc/convscope/nginx.conf}"
out="${CONVSCOPE_NGINX_OUT:-/etc/nginx/conf.d/default.conf}"
upstream="${CONVSCOPE_UPSTREAM:-convscope:8000}"
sed -e "s/server 127\.0\.0\.1:8000;/server ${upstream} max_fails=1 fail_timeout=5s;/" "$site" > "$out"
grep -q "server ${upstream} " "$out" || { echo "no upstream line in $site" >&2; exit 1; }
if [ "$#" -eq 0 ]; then
  set -- nginx -g 'daemon off;'
fi
exec "$@"
