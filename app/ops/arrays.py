"""Turn JSON-like nested lists into float64 tensors, refusing anything ragged or non-finite.

Errors name the offending element (``input[2][1]``) so the page can show them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

_DIM_NAMES = {1: "a list", 2: "an H×W grid", 3: "a C×H×W stack", 4: "an O×C×H×W stack"}


def _describe(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the text {shown!r}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def brief(value: Any, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: error messages never echo a huge value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def nested_shape(value: Any, name: str, max_dims: int) -> tuple[int, ...]:
    """The shape of a rectangular nested list of finite numbers; ``ValueError`` otherwise."""
    shape: list[int] = []
    probe = value
    while isinstance(probe, list):
        if not probe:
            raise ValueError(f"{name} is empty: give at least one number in every row")
        shape.append(len(probe))
        if len(shape) > max_dims:
            raise ValueError(f"{name} has more than {max_dims} levels of nesting")
        probe = probe[0]
    if not shape:
        raise ValueError(f"{name} must be a list of numbers, not {_describe(value)}")
    _check(value, shape, 0, name)
    return tuple(shape)


def _check(value: list[Any], shape: list[int], depth: int, path: str) -> None:
    if len(value) != shape[depth]:
        raise ValueError(
            f"{path} has {len(value)} entries where {shape[depth]} were expected: "
            "every row must have the same length"
        )
    last = depth == len(shape) - 1
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if last:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise ValueError(f"{where} is {_describe(item)}, not a number")
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"{where} is {item}: only finite numbers are allowed")
        elif not isinstance(item, list):
            raise ValueError(f"{where} is {_describe(item)} where a list was expected")
        else:
            _check(item, shape, depth + 1, where)


def to_tensor(value: Any, name: str, dims: Sequence[int]) -> torch.Tensor:
    """A float64 tensor from nested lists whose depth is one of ``dims``."""
    shape = nested_shape(value, name, max(dims))
    if len(shape) not in dims:
        wanted = " or ".join(_DIM_NAMES.get(d, f"{d}-D") for d in dims)
        raise ValueError(f"{name} must be {wanted}; it has {len(shape)} levels of nesting")
    return torch.tensor(value, dtype=torch.float64)


def to_vector(value: float | list[Any], name: str, length: int) -> torch.Tensor:
    """A length-``length`` float64 vector from one number (repeated) or a list of numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | list):
        raise ValueError(f"{name} must be a number or a list of numbers")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{name} is {value}: only finite numbers are allowed")
        return torch.full((length,), float(value), dtype=torch.float64)
    vector = to_tensor(value, name, dims=(1,))
    if vector.numel() != length:
        raise ValueError(
            f"{name} has {vector.numel()} values but there are {length} "
            f"output channels: give one value per output channel"
        )
    return vector


def as_stack(x: torch.Tensor, name: str, *, max_channels: int, max_size: int) -> torch.Tensor:
    """An H×W or C×H×W tensor as C×H×W, refused when it exceeds the given limits."""
    if x.dim() == 2:
        x = x[None]
    if x.dim() != 3:
        raise ValueError(f"{name} must be H×W or C×H×W")
    c, h, w = x.shape
    if c > max_channels:
        raise ValueError(f"{name} has {c} channels; the limit is {max_channels}")
    if max(h, w) > max_size:
        raise ValueError(f"{name} is {h}×{w}; the limit is {max_size}×{max_size} per channel")
    return x


def compact(values: torch.Tensor) -> np.ndarray:
    """A numpy view for orjson; whole numbers become int64 so they are written as 3, not 3.0.

    Non-finite entries (−∞ marks padding that max pooling ignores) are written as null.
    """
    if values.numel() and values.abs().max() < 2**53 and torch.equal(values, values.trunc()):
        return values.to(torch.int64).numpy()
    return values.numpy()
