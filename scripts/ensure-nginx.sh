#!/usr/bin/env bash
# Make sure nginx is present for the reverse-proxy tests (tests/deploy/): Debian's package,
# installed with apt when missing (as root, or through sudo). The tests start their own nginx
# on a loopback port with the repo's deploy/nginx.conf; the package's own service is not used.
exec "$(dirname "$0")/ensure-package.sh" nginx "the reverse-proxy tests" CONVSCOPE_NGINX \
  --no-service /usr/sbin/nginx nginx
