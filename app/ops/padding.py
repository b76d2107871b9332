"""The settings of a convolution in 1, 2 or 3 dimensions, read as torch reads them: one
integer per axis (stride, dilation), and the padding before and after each axis.

``padding`` is an integer (the same on every side), one per axis, two per axis in axis
order (``[top, bottom, left, right]`` in 2-D; ``[left, right]`` in 1-D; ``[front, back,
top, bottom, left, right]`` in 3-D), ``"valid"`` (none) or ``"same"``, which pads
``d·(k − 1)`` in all, ``⌊·/2⌋`` before and ``⌈·/2⌉`` after, as ``torch.nn.Conv2d`` does
(an even kernel's extra row goes after; seed 000's slide puts it before, which
``[1, 0, ...]`` reproduces). ``padding_mode`` says what fills the padding, as torch's
``padding_mode`` does: ``zeros``, ``reflect`` (mirrored, without the edge: fewer than the
input's size), ``replicate`` (the edge repeated) or ``circular`` (wrapped around, at most
once). Where torch would raise, a ``ValueError`` says why in a sentence.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arithmetic import Axes, SizeFormula, as_axes, check_whole, conv_size_formula
from app.ops.arrays import brief

Pads = tuple[tuple[int, int], ...]  # (before, after) per axis

MODES = ("zeros", "reflect", "replicate", "circular")

#: The axes' names, by number of dimensions.
AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
_SIDES = {
    1: ("left", "right"),
    2: ("top", "bottom", "left", "right"),
    3: ("front", "back", "top", "bottom", "left", "right"),
}
_PER_AXIS = {1: "[length]", 2: "[height, width]", 3: "[depth, height, width]"}
_SPANS = {"L": "positions", "D": "slices", "H": "rows", "W": "columns"}


def padding_amounts(
    value: Any, kernel: Axes, stride: Axes, dilation: Axes, *, maximum: int
) -> Pads:
    """``(before, after)`` per axis from a ``padding`` setting (see the module's docstring)."""
    dims = len(kernel)
    if isinstance(value, str):
        if value == "valid":
            return ((0, 0),) * dims
        if value == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    "padding 'same' needs stride 1 (torch refuses it for strided "
                    "convolutions): give the padding as numbers, or set the stride to 1"
                )
            totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            pads = tuple((t // 2, t - t // 2) for t in totals)
            largest = max(max(p) for p in pads)
            if largest > maximum:
                raise ValueError(
                    f"padding 'same' would add {largest} on one side; the limit is {maximum}: "
                    "use a smaller kernel or dilation"
                )
            return pads
        raise ValueError(
            f"padding {brief(value)} is not known: give a number, one per axis, "
            f"{_two_per_axis(dims)}, 'same' or 'valid'"
        )
    if isinstance(value, list | tuple) and len(value) == 2 * dims:
        flat = [check_whole(v, "padding", 0, maximum) for v in value]
        return tuple((flat[2 * i], flat[2 * i + 1]) for i in range(dims))
    if isinstance(value, list | tuple) and len(value) != dims:
        raise ValueError(
            f"padding must be one integer, {_PER_AXIS[dims]}, {_two_per_axis(dims)}, "
            "'same' or 'valid'"
        )
    per_axis = as_axes(value, "padding", dims, minimum=0, maximum=maximum)
    return tuple((p, p) for p in per_axis)


def _two_per_axis(dims: int) -> str:
    return "[" + ", ".join(_SIDES[dims]) + "]"


def check_mode(mode: Any) -> str:
    """``padding_mode`` if torch knows it."""
    if not isinstance(mode, str) or mode not in MODES:
        shown = "null" if mode is None else brief(mode)
        raise ValueError(f"padding_mode {shown} is not known; use one of {', '.join(MODES)}")
    return mode


def pad(x: torch.Tensor, pads: Pads, mode: str) -> torch.Tensor:
    """(C, *S) padded as ``nn.ConvNd(padding_mode=mode)`` pads it, after torch's checks."""
    names = AXES[len(pads)]
    for size, (before, after), axis in zip(x.shape[1:], pads, names, strict=True):
        side = max(before, after)
        if mode == "reflect" and side >= size:
            raise ValueError(
                f"reflect padding mirrors the input without its edge, so it must be smaller "
                f"than the input: {side} ≥ {size} {_SPANS[axis]} along {axis}; use less "
                "padding or another padding_mode"
            )
        if mode == "circular" and side > size:
            raise ValueError(
                f"circular padding wraps the input around once at most: {side} > {size} "
                f"{_SPANS[axis]} along {axis}; use less padding or another padding_mode"
            )
    amounts = [amount for pair in reversed(pads) for amount in pair]  # F.pad: last axis first
    if mode == "zeros":
        return F.pad(x, amounts)
    return F.pad(x[None], amounts, mode=mode)[0]


def size_formula(
    axis: str, size: int, kernel: int, stride: int, pads: tuple[int, int], dilation: int
) -> SizeFormula:
    """The output-size formula of one axis; with ``p_before + p_after`` when they differ."""
    before, after = pads
    if before == after:
        return conv_size_formula(axis, size, kernel, stride, before, dilation)
    formula = conv_size_formula(axis, size + before + after, kernel, stride, 0, dilation)
    return SizeFormula(
        axis=axis,
        symbolic=f"{axis}' = ⌊({axis} + p_before + p_after − d·(k − 1) − 1) / s⌋ + 1",
        substituted=(
            f"{axis}' = ⌊({size} + {before} + {after} − {dilation}·({kernel} − 1) − 1) / "
            f"{stride}⌋ + 1 = {formula.value}"
        ),
        value=formula.value,
    )
