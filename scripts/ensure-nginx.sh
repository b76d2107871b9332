#!/usr/bin/env bash
# Make sure nginx is present for the reverse-proxy tests (tests/deploy/): Debian's package,
# installed with apt when missing (as root, or through sudo). The tests start their own nginx
# on a loopback port with the repo's deploy/nginx.conf; the package's own service is not used.
set -euo pipefail
for candidate in "${CONVSCOPE_NGINX:-}" /usr/sbin/nginx "$(command -v nginx || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is needed for the reverse-proxy tests: install it, or set CONVSCOPE_NGINX to its path." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing Debian's nginx package for the reverse-proxy tests"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package's own service is not started (there may be no init, and port
# 80 may be taken); the tests run nginx themselves.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  added_policy=1
fi
cleanup() { if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get install -y --no-install-recommends nginx >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends nginx >/dev/null; }
