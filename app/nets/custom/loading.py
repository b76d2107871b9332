"""``--model my_module:attr`` and ``--model path/to/file.py:attr``: a user's network from the
command line.

The module is imported (a file by its path, with its folder on ``sys.path`` so that it can
import its neighbours; a dotted module from the current directory or the environment), and
``attr`` (dotted for nested attributes) is a :class:`~app.nets.custom.model.Network` or a
function of no arguments that returns one. convscope itself never unpickles anything: the
user's code loads its weights (safetensors, or ``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from app.nets.custom.model import Network, NetworkError

FORMS = "module:attr or path/to/file.py:attr"


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise NetworkError(f"there is no file {str(path)[:200]!r}")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)  # after the environment: its files shadow no module
    tag = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    name = f"convscope_user_{path.stem}_{tag}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise NetworkError(f"{path} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _import(where: str) -> ModuleType:
    if where.endswith(".py") or os.sep in where or "/" in where:
        return _import_file(Path(where).expanduser().resolve())
    if os.getcwd() not in sys.path:  # `convscope serve --model mine:net` run beside mine.py
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as error:
        if error.name != where.split(".")[0] and error.name != where:
            raise
        raise NetworkError(
            f"no module {where!r} (from {os.getcwd()} or the environment); give {FORMS}"
        ) from None


def load_target(target: str) -> Network:
    """The network ``target`` (``module:attr`` or ``file.py:attr``) names."""
    where, colon, attr = target.rpartition(":")
    if not colon or not where or not attr:
        raise NetworkError(f"--model {target[:200]!r}: give {FORMS}")
    found: Any = _import(where)
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise NetworkError(f"{where} has no attribute {attr!r}") from None
    if not isinstance(found, Network) and callable(found):
        found = found()
    if not isinstance(found, Network):
        raise NetworkError(
            f"{target} is a {type(found).__name__}; it must be a convscope.Network or a "
            "function that returns one"
        )
    return found
