"""The ``convscope`` command: ``convscope serve`` (the default) starts the web app.

Flags override the ``CONVSCOPE_*`` environment variables, which override the defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Interactive visualizer of convolution and CNN internals."
    )
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the web app (the default command)")
    _serve_flags(serve)
    return parser


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        help="where torch computes (default auto: CUDA, then MPS, then CPU)",
    )


def serve(host: str | None, port: int | None, device: str | None) -> int:
    """Start uvicorn with the app; returns an exit status."""
    import uvicorn

    from app.device import resolve_device
    from app.main import create_app
    from app.settings import Settings

    overrides = {
        k: v for k, v in {"host": host, "port": port, "device": device}.items() if v is not None
    }
    settings = Settings(**overrides)
    try:
        chosen = resolve_device(settings.device)
    except ValueError as error:
        print(f"convscope: {error}", file=sys.stderr)
        return 2
    shown_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    print(
        f"convscope {__version__}: serving on http://{shown_host}:{settings.port} "
        f"(computing on {chosen})",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0].startswith("-") and args[0] not in {"-h", "--help", "--version"}):
        args = ["serve", *args]  # plain `convscope` (with or without flags) serves
    parsed = _parser().parse_args(args)
    if parsed.command == "serve":
        return serve(parsed.host, parsed.port, parsed.device)
    _parser().print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
