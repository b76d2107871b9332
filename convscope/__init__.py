"""convscope for your own PyTorch model.

Describe the model with :class:`Network` and serve the app with it beside the zoo::

    import convscope
    net = convscope.Network(model, name="my-net", input_shape=(1, 28, 28), preprocess="mnist")
    convscope.serve(net)              # blocks, like `convscope serve --model mine:net`
    url = convscope.explore(net)      # from a notebook: a server on a background thread

Every page (explorer, learned filters, saliency, /compare) then works on it. The module is
copied and made safe first (eval mode, in-place operations out of place, a final softmax
recognised); ``Network(...).prepared.notes`` says what was changed.
"""

from __future__ import annotations

import dataclasses
import threading

from app.nets.custom.model import Network, NetworkError
from app.nets.custom.serving import add, fresh_name, remove, served, wait_started

__all__ = ["Network", "NetworkError", "explore", "serve", "stop"]

_lock = threading.Lock()
_running: dict[str, object] = {}  # "server", "thread", "url": the explore() server
_explored: list[str] = []  # the networks explore() added


def serve(
    *networks: Network, host: str | None = None, port: int | None = None, device: str | None = None
) -> int:
    """Serve the app with ``networks`` beside the zoo until Ctrl+C (as ``convscope serve``);
    returns the exit status."""
    from app.cli import serve as serve_app

    for network in networks:
        add(network)
    return serve_app(host, port, device)


def explore(network: Network, *, port: int | None = None, device: str | None = None) -> str:
    """Serve ``network`` from a running Python session (a notebook) on a background thread
    and return the URL of its page. The server is started once and shared by later calls;
    a changed model given the name of one already served gets a fresh name (``-2``…)."""
    if not isinstance(network, Network):
        raise NetworkError(f"expected a convscope.Network, not {type(network).__name__}")
    name = fresh_name(network)
    if name != network.name:
        network = dataclasses.replace(network, name=name)
    new = network.name not in served()
    add(network)
    if new:
        _explored.append(network.name)
    return f"{_start(port, device)}/networks/{network.name}"


def _start(port: int | None, device: str | None) -> str:
    with _lock:
        if "url" in _running:
            return str(_running["url"])
        import socket

        from app.main import create_app
        from app.settings import Settings
        from app.web.server import build_server

        if port is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
        # The zoo loads on first use: a notebook need not hold every network in memory
        overrides = {"host": "127.0.0.1", "port": port, "preload_models": False}
        if device:
            overrides["device"] = device
        settings = Settings(**overrides)  # type: ignore[arg-type]
        server = build_server(create_app(settings), settings)
        thread = threading.Thread(target=server.run, name="convscope-explore", daemon=True)
        thread.start()
        wait_started(server, thread)
        _running.update(server=server, thread=thread, url=f"http://127.0.0.1:{port}")
        return str(_running["url"])


def stop() -> None:
    """Stop the server :func:`explore` started and stop serving the networks it added."""
    with _lock:
        server, thread = _running.pop("server", None), _running.pop("thread", None)
        _running.pop("url", None)
    if server is not None:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)  # type: ignore[attr-defined]
    while _explored:
        remove(_explored.pop())
