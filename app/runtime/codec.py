"""Results as bytes and back, for the shared state (:mod:`app.runtime.state`): what one
replica computed, another answers.

A job's result is a frozen dataclass of plain values, tensors and pictures (a saliency map,
an activation maximisation, the top digits). :func:`encode` writes it as a small JSON
header (:mod:`orjson`) followed by the raw bytes of its tensors, arrays and pictures;
:func:`decode` builds the same object again, bit for bit. Nothing is unpickled: the header
can only name dataclasses of this app's own modules (``app.*``), built from their fields,
and tensors, arrays and pictures are rebuilt from a dtype, a shape and bytes. A value of
another type cannot be encoded (:class:`TypeError`): such a result is kept in the process
that computed it only.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import struct
from typing import Any

import numpy as np
import orjson
import torch
from PIL import Image

MAGIC = b"CSC1"
_LENGTH = struct.Struct(">I")


class _Writer:
    def __init__(self) -> None:
        self.blobs: list[bytes] = []

    def blob(self, data: bytes) -> int:
        self.blobs.append(data)
        return len(self.blobs) - 1

    def value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"t": "float", "v": repr(value)}
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, tuple):
            return {"t": "tuple", "v": [self.value(item) for item in value]}
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise TypeError("only dicts with string keys can be encoded")
            return {"t": "dict", "v": {key: self.value(item) for key, item in value.items()}}
        if isinstance(value, bytes | bytearray):
            return {"t": "bytes", "b": self.blob(bytes(value))}
        if isinstance(value, torch.Tensor):
            tensor = value.detach().cpu().contiguous()
            array = tensor.numpy() if tensor.dtype != torch.bfloat16 else None
            if array is None:
                raise TypeError("bfloat16 tensors cannot be encoded")
            return {
                "t": "tensor",
                "dtype": str(array.dtype),
                "shape": list(tensor.shape),
                "b": self.blob(array.tobytes()),
            }
        if isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value)
            if array.dtype.hasobject:
                raise TypeError("arrays of objects cannot be encoded")
            return {
                "t": "ndarray",
                "dtype": array.dtype.str,
                "shape": list(array.shape),
                "b": self.blob(array.tobytes()),
            }
        if isinstance(value, np.generic):
            return self.value(value.item())
        if isinstance(value, Image.Image):
            return {
                "t": "image",
                "mode": value.mode,
                "size": list(value.size),
                "b": self.blob(value.tobytes()),
            }
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            cls = type(value)
            if not cls.__module__.startswith("app."):
                raise TypeError(f"{cls.__qualname__} is not one of the app's own types")
            fields = {
                f.name: self.value(getattr(value, f.name))
                for f in dataclasses.fields(value)
                if f.init
            }
            return {"t": "dataclass", "c": f"{cls.__module__}:{cls.__qualname__}", "f": fields}
        raise TypeError(f"a {type(value).__name__} cannot be encoded")


class _Reader:
    def __init__(self, blobs: list[memoryview]) -> None:
        self.blobs = blobs

    def value(self, node: Any) -> Any:
        if not isinstance(node, dict):
            if isinstance(node, list):
                return [self.value(item) for item in node]
            return node
        kind = node["t"]
        if kind == "float":
            return float(node["v"])
        if kind == "tuple":
            return tuple(self.value(item) for item in node["v"])
        if kind == "dict":
            return {key: self.value(item) for key, item in node["v"].items()}
        if kind == "bytes":
            return bytes(self.blobs[node["b"]])
        if kind == "tensor":
            array = np.frombuffer(self.blobs[node["b"]], dtype=np.dtype(node["dtype"]))
            return torch.from_numpy(array.copy()).reshape(node["shape"])
        if kind == "ndarray":
            array = np.frombuffer(self.blobs[node["b"]], dtype=np.dtype(node["dtype"]))
            return array.copy().reshape(node["shape"])
        if kind == "image":
            width, height = node["size"]
            return Image.frombytes(node["mode"], (width, height), bytes(self.blobs[node["b"]]))
        if kind == "dataclass":
            cls = _dataclass(node["c"])
            return cls(**{name: self.value(item) for name, item in node["f"].items()})
        raise ValueError(f"unknown kind {kind!r} in an encoded value")


def _dataclass(name: str) -> type:
    """A dataclass of the app's own modules, by ``module:qualname``; ValueError otherwise."""
    module_name, _, qualname = name.partition(":")
    if not module_name.startswith("app.") or not qualname.isidentifier():
        raise ValueError(f"{name!r} is not one of the app's own types")
    found = getattr(importlib.import_module(module_name), qualname, None)
    if not isinstance(found, type) or not dataclasses.is_dataclass(found):
        raise ValueError(f"{name!r} is not a dataclass of the app")
    return found


def encode(value: Any) -> bytes:
    """``value`` as bytes (:class:`TypeError` for what cannot be encoded)."""
    writer = _Writer()
    header = orjson.dumps(writer.value(value))
    parts = [MAGIC, _LENGTH.pack(len(header)), header]
    for blob in writer.blobs:
        parts += [_LENGTH.pack(len(blob)), blob]
    return b"".join(parts)


def decode(data: bytes) -> Any:
    """The value :func:`encode` wrote (:class:`ValueError` for anything else)."""
    view = memoryview(data)
    if bytes(view[:4]) != MAGIC:
        raise ValueError("not an encoded value")
    offset = 4
    blobs: list[memoryview] = []
    chunks: list[memoryview] = []
    while offset < len(view):
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if offset + length > len(view):
            raise ValueError("an encoded value cut short")
        chunks.append(view[offset : offset + length])
        offset += length
    if not chunks:
        raise ValueError("an encoded value without its header")
    header, blobs = chunks[0], chunks[1:]
    return _Reader(blobs).value(orjson.loads(bytes(header)))
