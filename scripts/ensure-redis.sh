#!/usr/bin/env bash
# Make sure redis-server is present for the replica tests (tests/deploy/test_replicas.py and
# the shared-state tests under tests/runtime/): Debian's package, installed with apt when
# missing (as root, or through sudo). The tests start their own redis-server on a loopback
# port with no persistence; the package's own service is not used.
set -euo pipefail
for candidate in "${CONVSCOPE_REDIS_SERVER:-}" /usr/bin/redis-server "$(command -v redis-server || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "redis-server is needed for the replica tests: install it, or set CONVSCOPE_REDIS_SERVER to its path." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing Debian's redis-server package for the replica tests"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d 101: the package's own service is not started (there may be no init, and port
# 6379 may be taken); the tests run redis-server themselves.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  added_policy=1
fi
cleanup() { if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get install -y --no-install-recommends redis-server >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends redis-server >/dev/null; }
