#!/usr/bin/env bash
# Make sure a program the tests need is present: Debian's package, installed with apt when
# missing (as root, or through sudo). Used by ensure-chromium.sh, ensure-nginx.sh and
# ensure-redis.sh:
#   ensure-package.sh PACKAGE "WHAT IT IS FOR" ENV_VAR [--no-service] PATH_OR_COMMAND...
# The program is there when $ENV_VAR, or one of the paths or commands, is an executable.
# --no-service: the package's own service is not started (policy-rc.d 101: there may be no
# init, and its port may be taken); the tests run the program themselves.
set -euo pipefail
package=$1 purpose=$2 variable=$3
shift 3
no_service=""
if [ "${1:-}" = "--no-service" ]; then
  no_service=1
  shift
fi
for candidate in "${!variable:-}" "$@"; do
  case "$candidate" in
    */*) ;;
    ?*) candidate="$(command -v "$candidate" || true)" ;;
  esac
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$package is needed for $purpose: install it, or set $variable to its path." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing Debian's $package package for $purpose"
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ -n "$no_service" ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  added_policy=1
fi
cleanup() { if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT
$sudo apt-get install -y --no-install-recommends "$package" >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "$package" >/dev/null; }
