"""Several convscope replicas on this machine behind nginx, sharing their state through Redis:
what ``python -m bench load --replicas N`` measures and what ``tests/deploy/test_replicas.py``
checks, run the way the README's one-machine deployment runs them.

:class:`Cluster` starts, in a folder of its own and on free loopback ports: one
``redis-server`` (no persistence, ``maxmemory`` with ``volatile-lru``, as
``deploy/compose.yaml``), N ``convscope serve`` processes with ``CONVSCOPE_REDIS_URL`` set,
and one ``nginx`` running ``deploy/nginx.conf`` as it is but for its ``listen`` line and
its upstream, which lists the N replicas. It can kill a replica (SIGKILL, mid-job if need
be), start it again, and stop and start Redis. Everything stops with it.

Only loopback addresses are used. ``redis-server`` and ``nginx`` are Debian's packages
(``make test`` installs them; ``CONVSCOPE_REDIS_SERVER`` and ``CONVSCOPE_NGINX`` name others).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
LISTEN = "listen 80;"
UPSTREAM = "server 127.0.0.1:8000;"


class Missing(RuntimeError):
    """redis-server or nginx is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str, variable: str, *paths: str) -> str:
    for candidate in (os.environ.get(variable), *paths, shutil.which(name)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise Missing(f"{name} is not installed: `make test` installs it (scripts/ensure-*.sh)")


def render_nginx(directory: Path, port: int, upstreams: list[int], *, one_address: bool) -> Path:
    """deploy/nginx.conf listening on 127.0.0.1:``port`` in front of ``upstreams``, inside a
    main config whose pid, logs and temporary files are in ``directory``. ``one_address``:
    every client comes from 127.0.0.1 (a load test), so the per-address limits are raised as
    the README says for a class behind one NAT address."""
    site = NGINX_CONF.read_text()
    for placeholder in (LISTEN, UPSTREAM):
        assert site.count(placeholder) == 1, f"deploy/nginx.conf should say {placeholder!r} once"
    site = site.replace(LISTEN, f"listen 127.0.0.1:{port};")
    servers = "\n    ".join(f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in upstreams)
    site = site.replace(UPSTREAM, servers)
    if one_address:
        for pattern, value in (
            (r"limit_conn convscope_conn \d+;", "limit_conn convscope_conn 4000;"),
            (r"rate=\d+r/s;", "rate=5000r/s;"),
            (r"burst=\d+", "burst=5000"),
        ):
            site, count = re.subn(pattern, value, site)
            assert count == 1, pattern
    (directory / "convscope.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""  # workers write the temporary files here
    temp = "\n".join(
        f"    {kind}_temp_path {directory}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = directory / "nginx.conf"
    main.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {directory}/nginx.pid;
error_log {directory}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
{temp}
    include {directory}/convscope.conf;
}}
"""
    )
    return main


def wait_for(condition: Any, what: str, timeout: float = 120.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


class Cluster:
    """Redis, ``replicas`` convscope processes and nginx on loopback ports (see the module)."""

    def __init__(
        self,
        directory: Path,
        replicas: int = 3,
        *,
        env: dict[str, str] | None = None,
        one_address: bool = False,
    ) -> None:
        self.redis_server = binary(
            "redis-server", "CONVSCOPE_REDIS_SERVER", "/usr/bin/redis-server"
        )
        self.nginx_binary = binary("nginx", "CONVSCOPE_NGINX", "/usr/sbin/nginx")
        self.directory = directory
        self.env = env or {}
        self.one_address = one_address
        self.redis_port = free_port()
        self.ports = [free_port() for _ in range(replicas)]
        self.port = free_port()
        self.redis: subprocess.Popen[bytes] | None = None
        self.nginx: subprocess.Popen[bytes] | None = None
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * replicas
        self._logs: list[IO[bytes]] = []

    @property
    def url(self) -> str:
        """The balancer's URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def log(self, index: int) -> str:
        """What replica ``index`` has written to its log so far (every start of it)."""
        return (self.directory / f"replica-{index}.log").read_text("utf-8", "replace")

    # --- starting and stopping --------------------------------------------------------------

    def start(self) -> Cluster:
        self.start_redis()
        for index in range(len(self.ports)):
            self.start_replica(index, wait=False)
        for index in range(len(self.ports)):
            self.wait_ready(index)
        self.start_nginx()
        return self

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *_: object) -> None:
        self.close()

    def start_redis(self) -> None:
        command = [
            self.redis_server, "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            "--maxmemory", "256mb", "--maxmemory-policy", "volatile-lru", "--loglevel", "warning",
        ]  # fmt: skip
        self.redis = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers() -> bool:
            assert self.redis is not None and self.redis.poll() is None, "redis-server stopped"
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, "redis-server answering", 30)

    def stop_redis(self) -> None:
        self._stop(self.redis)
        self.redis = None

    def start_replica(self, index: int, *, wait: bool = True) -> None:
        log = (self.directory / f"replica-{index}.log").open("ab")
        self._logs.append(log)
        env = {
            **os.environ,
            "CONVSCOPE_REDIS_URL": self.redis_url,
            "CONVSCOPE_HOST": "127.0.0.1",
            "CONVSCOPE_PORT": str(self.ports[index]),
            **self.env,
        }
        self.processes[index] = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        if wait:
            self.wait_ready(index)

    def wait_ready(self, index: int, timeout: float = 180.0) -> None:
        """Until replica ``index`` answers /readyz with 200 (its models loaded)."""
        process = self.processes[index]

        def ready() -> bool:
            if process is None or process.poll() is not None:
                raise RuntimeError(f"replica {index} stopped: {self.log(index)[-2000:]}")
            try:
                return httpx.get(f"{self.replica_url(index)}/readyz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, f"replica {index} ready", timeout, every=0.2)

    def kill_replica(self, index: int) -> None:
        """SIGKILL: no clean shutdown, its lease is left to expire."""
        process = self.processes[index]
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        self.processes[index] = None

    def start_nginx(self) -> None:
        main = render_nginx(self.directory, self.port, self.ports, one_address=self.one_address)
        command = [self.nginx_binary, "-p", str(self.directory), "-c", str(main)]
        checked = subprocess.run(
            [*command, "-e", str(self.directory / "nginx-error.log"), "-t"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t: {checked.stderr}")
        self.nginx = subprocess.Popen(
            [*command, "-e", str(self.directory / "nginx-error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def listening() -> bool:
            assert self.nginx is not None and self.nginx.poll() is None, "nginx stopped"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, "nginx listening", 30)

    @staticmethod
    def _stop(process: subprocess.Popen[bytes] | None) -> None:
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)

    def close(self) -> None:
        self._stop(self.nginx)
        for process in self.processes:
            self._stop(process)
        self.stop_redis()
        for log in self._logs:
            log.close()
