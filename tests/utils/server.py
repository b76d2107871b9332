"""Run the app on a free local port, in a background thread, for browser and server tests:
the same bounded server as ``convscope serve`` (:func:`app.web.server.build_server`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from app.web.server import BoundedServer, build_server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    settings: Settings | None = None, app: FastAPI | None = None
) -> Iterator[BoundedServer]:
    """Serve the app (``app``, or one made with ``settings``) on 127.0.0.1 and a free port,
    with the server bounds of ``settings``, until the block ends; yields the server."""
    port = free_port()
    settings = (settings or Settings(device="cpu")).model_copy(
        update={"host": "127.0.0.1", "port": port}
    )
    server = build_server(app or create_app(settings), settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def live_server(settings: Settings | None = None, app: FastAPI | None = None) -> Iterator[str]:
    """Serve the app (``app``, or one made with ``settings``) until the block ends; yields
    its base URL."""
    with running_server(settings, app) as server:
        yield f"http://127.0.0.1:{server.config.port}"


# Raw clients, for what an HTTP library will not do: connect and send nothing, send half a
# request, or hold a request's body back.


def connect(port: int, source: str = "127.0.0.1", timeout: float = 30.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:``port`` from the loopback address ``source``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def closed_by_peer(sock: socket.socket, wait: float) -> bool:
    """Whether the other side has closed ``sock`` (within ``wait`` seconds); what it sent
    before closing is read and dropped."""
    sock.settimeout(wait)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:  # reset
        return True
    return True


def wait_closed(sock: socket.socket, deadline_s: float, trickle: bytes = b"") -> float:
    """Seconds until the peer closes ``sock``, sending ``trickle`` (when given) every 0.2 s
    meanwhile, as a slow client would; fails after ``deadline_s``."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if trickle:
            try:
                sock.sendall(trickle)
            except OSError:
                return time.monotonic() - start
        if closed_by_peer(sock, 0.2):
            return time.monotonic() - start
    raise AssertionError(f"the connection was still open after {deadline_s} s")


def response_head(sock: socket.socket) -> tuple[int, dict[str, str]]:
    """The status and headers of the response that arrives on ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed after {data!r}")
        data += chunk
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}
