"""A real redis-server on a free loopback port, for the shared-state tests: a memory bound, no
persistence unless asked (then a snapshot written on stop and read on start, as a Redis
that restarts from its dump), started, stopped and restarted by the test.

`make test` installs Debian's redis-server (scripts/ensure-redis.sh). Without it the tests
that need it fail in CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.utils.server import free_port


def redis_binary() -> str:
    """The redis-server to run, or a failure (CI) or skip (elsewhere) saying how to get it."""
    for candidate in (
        os.environ.get("CONVSCOPE_REDIS_SERVER"),
        "/usr/bin/redis-server",
        shutil.which("redis-server"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "redis-server is not installed: `make test` installs it (scripts/ensure-redis.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class RedisServer:
    """One redis-server process on 127.0.0.1 (``url``), which the test may stop and start
    again on the same port (a restart: a new run_id, nothing kept)."""

    def __init__(self, directory: Path, maxmemory: str = "256mb", persist: bool = False) -> None:
        self.binary = redis_binary()
        self.persist = persist  # keep a snapshot (written on stop, read on start)
        self.directory = directory
        self.port = free_port()
        self.maxmemory = maxmemory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "3600 1" if self.persist else "",
            "--appendonly", "no", "--dir", str(self.directory), "--maxmemory", self.maxmemory,
            "--maxmemory-policy", "volatile-lru", "--loglevel", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        try:
            while True:
                assert self.process.poll() is None, "redis-server stopped at once"
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
