"""Size arithmetic shared by the traces: (h, w) pairs (one integer per axis, in 1 to 3
dimensions) and output-size formulas.

The formulas are returned twice, symbolically and with the current numbers filled in, so a
page can show ``H' = ⌊(5 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3`` without computing anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.ops.arrays import brief

Pair = tuple[int, int]
Axes = tuple[int, ...]


def as_pair(value: Any, name: str, *, minimum: int, maximum: int) -> Pair:
    """An ``int`` or ``[h, w]`` setting as a validated ``(h, w)`` tuple."""
    h, w = as_axes(value, name, 2, minimum=minimum, maximum=maximum)
    return (h, w)


_PER_AXIS = {1: "[length]", 2: "[height, width]", 3: "[depth, height, width]"}
_COUNTS = {2: "two", 3: "three"}


def as_axes(value: Any, name: str, dims: int, *, minimum: int, maximum: int) -> Axes:
    """An ``int`` or a list of one per axis as a validated tuple of ``dims`` integers."""
    if isinstance(value, list | tuple):
        if len(value) != dims:
            wanted = "one integer" if dims == 1 else f"one integer or {_COUNTS[dims]}"
            raise ValueError(f"{name} must be {wanted}, {_PER_AXIS[dims]}")
        items = tuple(value)
    else:
        items = (value,) * dims
    for item in items:
        check_whole(item, name, minimum, maximum)
    return items


def check_whole(item: Any, name: str, minimum: int, maximum: int) -> int:
    """``item`` if it is a whole number from ``minimum`` to ``maximum``; else a sentence."""
    if isinstance(item, bool) or not isinstance(item, int):
        raise ValueError(f"{name} must be a whole number, not {brief(item)}")
    if item < minimum:
        raise ValueError(f"{name} must be at least {minimum} (got {item})")
    if item > maximum:
        raise ValueError(f"{name} must be at most {maximum} (got {item})")
    return item


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """H' = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1 (``torch.nn.Conv2d``'s formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class SizeFormula:
    """One axis of an output-size formula: symbols, the numbers substituted, the result."""

    axis: str
    symbolic: str
    substituted: str
    value: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conv_size_formula(
    axis: str, size: int, kernel: int, stride: int, padding: int, dilation: int
) -> SizeFormula:
    """The convolution output-size formula for one axis (``axis`` is ``"H"`` or ``"W"``)."""
    value = conv_output_size(size, kernel, stride, padding, dilation)
    return SizeFormula(
        axis=axis,
        symbolic=f"{axis}' = ⌊({axis} + 2p − d·(k − 1) − 1) / s⌋ + 1",
        substituted=(
            f"{axis}' = ⌊({size} + 2·{padding} − {dilation}·({kernel} − 1) − 1) / {stride}⌋ + 1"
            f" = {value}"
        ),
        value=value,
    )


def pool_output_size(size: int, window: int, stride: int, padding: int) -> int:
    """H' = ⌊(H + 2p − k) / s⌋ + 1 (``torch.nn.MaxPool2d`` / ``AvgPool2d``, floor mode)."""
    return (size + 2 * padding - window) // stride + 1


def pool_size_formula(axis: str, size: int, window: int, stride: int, padding: int) -> SizeFormula:
    """The pooling output-size formula for one axis, with the numbers filled in."""
    value = pool_output_size(size, window, stride, padding)
    return SizeFormula(
        axis=axis,
        symbolic=f"{axis}' = ⌊({axis} + 2p − k) / s⌋ + 1",
        substituted=f"{axis}' = ⌊({size} + 2·{padding} − {window}) / {stride}⌋ + 1 = {value}",
        value=value,
    )


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """H' = (H − 1)·s − 2p + d(k − 1) + output_padding + 1 (``torch.nn.ConvTranspose2d``)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def transposed_size_formula(
    axis: str,
    size: int,
    kernel: int,
    stride: int,
    padding: int,
    output_padding: int,
    dilation: int,
) -> SizeFormula:
    """The transposed-convolution output-size formula for one axis, numbers filled in."""
    value = transposed_output_size(size, kernel, stride, padding, output_padding, dilation)
    return SizeFormula(
        axis=axis,
        symbolic=f"{axis}' = ({axis} − 1)·s − 2p + d·(k − 1) + output_padding + 1",
        substituted=(
            f"{axis}' = ({size} − 1)·{stride} − 2·{padding} + {dilation}·({kernel} − 1)"
            f" + {output_padding} + 1 = {value}"
        ),
        value=value,
    )
