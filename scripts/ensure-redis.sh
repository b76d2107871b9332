#!/usr/bin/env bash
# Make sure redis-server is present for the replica tests (tests/deploy/test_replicas.py and
# the shared-state tests under tests/runtime/): Debian's package, installed with apt when
# missing (as root, or through sudo). The tests start their own redis-server on a loopback
# port with no persistence; the package's own service is not used.
exec "$(dirname "$0")/ensure-package.sh" redis-server "the replica tests" CONVSCOPE_REDIS_SERVER \
  --no-service /usr/bin/redis-server redis-server
