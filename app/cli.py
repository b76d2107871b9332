"""The ``convscope`` command: ``convscope serve`` (the default) starts the web app.

``convscope train <model>`` retrains one of the MNIST models from its fixed seed and writes
its weights and model card into ``models/``; ``convscope models`` lists the model zoo.
Flags override the ``CONVSCOPE_*`` environment variables, which override the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope", description="Interactive visualizer of convolution and CNN internals."
    )
    parser.add_argument("--version", action="version", version=f"convscope {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the web app (the default command)")
    _serve_flags(serve)
    train = commands.add_parser("train", help="retrain an MNIST model from its fixed seed")
    train.add_argument("model", help="lenet5, simple-cnn or unet-digits")
    train.add_argument("--epochs", type=int, help="passes over the 4,000 training digits")
    train.add_argument("--seed", type=int, help="random seed (default 0, the shipped weights)")
    train.add_argument("--out", type=Path, help="folder for the weights and card (models/)")
    commands.add_parser("models", help="list the models and their accuracy")
    return parser


def _serve_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "mps"],
        help="where torch computes (default auto: CUDA, then MPS, then CPU)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="your own network beside the zoo (repeatable): a convscope.Network, or a function "
        "returning one, as module:attr or path/to/file.py:attr",
    )


def serve(
    host: str | None, port: int | None, device: str | None, models: Sequence[str] = ()
) -> int:
    """Start the bounded uvicorn server (:func:`app.web.server.build_server`) with the app
    and the users' networks ``models`` (``module:attr``) beside the zoo; returns an exit
    status."""
    from app.runtime.memory import retain_freed_memory

    # before torch and numpy start threads: every thread then allocates from the main heap
    retain_freed_memory()  # and model passes reuse their memory instead of faulting it in
    from app.main import create_app
    from app.runtime.device import resolve_device
    from app.runtime.workers import one_thread_by_default
    from app.settings import Settings
    from app.web.server import build_server

    overrides: dict[str, Any] = {
        k: v for k, v in {"host": host, "port": port, "device": device}.items() if v is not None
    }
    settings = Settings(**overrides)
    try:
        chosen = resolve_device(settings.device)
    except ValueError as error:
        print(f"convscope: {error}", file=sys.stderr)
        return 2
    own = _add_models(models)
    if own is None:
        return 2
    one_thread_by_default()  # before torch computes anything here (Cores)
    shown_host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host
    print(
        f"convscope {__version__}: serving on http://{shown_host}:{settings.port} "
        f"(computing on {chosen})",
        flush=True,
    )
    for name, notes in own:
        print(f"  your network: http://{shown_host}:{settings.port}/networks/{name}", flush=True)
        for note in notes:
            print(f"    {note}", flush=True)
    # Ctrl+C: the server shuts down gracefully, then raises it again
    with contextlib.suppress(KeyboardInterrupt):
        build_server(create_app(settings), settings).run()
    return 0


def _add_models(models: Sequence[str]) -> list[tuple[str, list[str]]] | None:
    """Load and serve each ``--model`` (and those a Python caller added): each network's
    name and what was changed in it; ``None`` after printing why one cannot be served."""
    from app.nets.custom import serving
    from app.nets.custom.loading import load_target
    from app.nets.custom.model import NetworkError

    for target in models:
        try:
            serving.add(load_target(target))
        except NetworkError as error:
            print(f"convscope: --model {target}: {error}", file=sys.stderr)
            return None
        except Exception as error:  # the user's code failed as it ran
            print(
                f"convscope: --model {target} failed: {type(error).__name__}: {error}",
                file=sys.stderr,
            )
            return None
    return [(name, serving.notes(name)) for name in serving.served()]


def train(model: str, epochs: int | None, seed: int | None, out: Path | None) -> int:
    """Train ``model`` and write its weights and card; returns an exit status."""
    from dataclasses import replace

    from app.nets import segmentation_training, training

    if model == segmentation_training.NAME:  # the U-Net, on scenes of digits
        log = lambda line: print(line, flush=True)  # noqa: E731
        segmentation_training.train_from_cli(epochs, seed, out, log=log)
        return 0
    if model not in training.TRAINABLE:
        print(
            f"convscope: cannot train {model!r}; trainable models: "
            f"{', '.join((*training.TRAINABLE, segmentation_training.NAME))}",
            file=sys.stderr,
        )
        return 2
    recipe = training.Recipe()
    if epochs is not None:
        recipe = replace(recipe, epochs=epochs)
    if seed is not None:
        recipe = replace(recipe, seed=seed)
    training.train(
        model, recipe, out or training.MODEL_DIR, log=lambda line: print(line, flush=True)
    )
    return 0


def models() -> int:
    """Print the model zoo, one line per model."""
    from app.nets.registry import get_model_spec, list_models

    for name in list_models():
        spec = get_model_spec(name)
        accuracy = f"{spec.accuracy:.1%}" if spec.accuracy is not None else "n/a"
        shape = "×".join(map(str, spec.input_shape))
        print(
            f"{name:20} {spec.title:20} input {shape:11} {spec.num_classes:5} classes "
            f"{spec.parameter_count:>10,} parameters  accuracy {accuracy}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0].startswith("-") and args[0] not in {"-h", "--help", "--version"}):
        args = ["serve", *args]  # plain `convscope` (with or without flags) serves
    parsed = _parser().parse_args(args)
    if parsed.command == "serve":
        return serve(parsed.host, parsed.port, parsed.device, parsed.model)
    if parsed.command == "train":
        return train(parsed.model, parsed.epochs, parsed.seed, parsed.out)
    if parsed.command == "models":
        return models()
    _parser().print_help()
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
