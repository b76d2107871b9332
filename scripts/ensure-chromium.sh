#!/usr/bin/env bash
# Make sure a Chromium for the browser tests is present: Debian's package, installed with apt
# when missing (as root, or through sudo). Playwright drives it; it never downloads a browser.
set -euo pipefail
for candidate in "${CONVSCOPE_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)" "$(command -v chromium-browser || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is needed for the browser tests: install it, or set CONVSCOPE_CHROMIUM to its path." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing Debian's chromium package for the browser tests"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends chromium >/dev/null \
  || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends chromium >/dev/null; }
