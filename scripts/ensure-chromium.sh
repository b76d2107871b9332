#!/usr/bin/env bash
# Make sure a Chromium for the browser tests is present: Debian's package, installed with apt
# when missing (as root, or through sudo). Playwright drives it; it never downloads a browser.
exec "$(dirname "$0")/ensure-package.sh" chromium "the browser tests" CONVSCOPE_CHROMIUM \
  /usr/bin/chromium chromium chromium-browser
