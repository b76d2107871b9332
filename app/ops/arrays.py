"""Turn JSON-like nested lists into float64 tensors, refusing anything ragged, non-finite or
too large.

Every number a request gives must be finite in float32, the precision the networks and the
pages' colour scales work in: ``|x| ≤ 3.4e38`` (:func:`check_number`); a 400-digit integer
is refused with a sentence that shows it shortened, never echoed whole. A result computed
from such numbers can still overflow (``1e30 × 1e30``): :func:`check_result` refuses it.
Errors name the offending element (``input[2][1]``) so the page can show them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

#: The largest magnitude a number may have: float32's largest finite value.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)

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
    if isinstance(value, int) and not isinstance(value, bool):
        return shown(value)
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: int | float) -> str:
    """A number as an error message shows it: a huge integer shortened to its first and last
    digits and its length (``123456…7890 (400 digits)``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = str(abs(value))
        if len(digits) > 20:
            sign = "−" if value < 0 else ""
            return f"{sign}{digits[:6]}…{digits[-4:]} ({len(digits)} digits)"
        return str(value)
    return f"{value:g}"


def check_number(value: Any, name: str) -> float:
    """``value`` as a float if it is a finite number within float32's range; otherwise a
    ``ValueError`` naming it (``kernel[0][0] is 1e+39: too large …``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is {_describe(value)}, not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is {value}: only finite numbers are allowed")
    if abs(value) > FLOAT32_MAX:
        raise ValueError(
            f"{name} is {shown(value)}: too large; numbers must lie within ±3.4e38 (float32)"
        )
    return float(value)


def check_result(values: torch.Tensor, name: str = "the output") -> torch.Tensor:
    """``values`` if every one is finite in float32; otherwise a ``ValueError`` saying the
    computation overflowed (the inputs were too large for each other)."""
    if values.numel() == 0:
        return values
    top = float(values.detach().abs().max())
    if not math.isfinite(top) or top > FLOAT32_MAX or values.isnan().any():
        reached = "infinity" if not math.isfinite(top) else f"{top:.3g}"
        raise ValueError(
            f"{name} overflows: a value reaches {reached}, beyond float32's ±3.4e38; "
            "use smaller numbers"
        )
    return values


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
    if depth == len(shape) - 1:
        for index, item in enumerate(value):
            # floats are checked at once in to_tensor; ints here, before torch reads them
            if type(item) is not float:
                check_number(item, f"{path}[{index}]")
        return
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(item, list):
            raise ValueError(f"{where} is {_describe(item)} where a list was expected")
        _check(item, shape, depth + 1, where)


def to_tensor(value: Any, name: str, dims: Sequence[int]) -> torch.Tensor:
    """A float64 tensor from nested lists whose depth is one of ``dims``."""
    shape = nested_shape(value, name, max(dims))
    if len(shape) not in dims:
        wanted = " or ".join(_DIM_NAMES.get(d, f"{d}-D") for d in dims)
        raise ValueError(f"{name} must be {wanted}; it has {len(shape)} levels of nesting")
    tensor = torch.tensor(value, dtype=torch.float64)
    outside = ~(tensor.abs() <= FLOAT32_MAX)  # NaN, ±inf, and too large: all at once
    if outside.any():
        index = [int(i) for i in outside.nonzero()[0]]
        item = value
        for i in index:
            item = item[i]
        check_number(item, name + "".join(f"[{i}]" for i in index))
    return tensor


def to_vector(value: float | list[Any], name: str, length: int) -> torch.Tensor:
    """A length-``length`` float64 vector from one number (repeated) or a list of numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | list):
        raise ValueError(f"{name} must be a number or a list of numbers")
    if isinstance(value, int | float):
        return torch.full((length,), check_number(value, name), dtype=torch.float64)
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
