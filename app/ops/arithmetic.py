"""Size arithmetic shared by the traces: (h, w) pairs and output-size formulas.

The formulas are returned twice, symbolically and with the current numbers filled in, so a
page can show ``H' = ⌊(5 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3`` without computing anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

Pair = tuple[int, int]


def as_pair(value: Any, name: str, *, minimum: int, maximum: int) -> Pair:
    """An ``int`` or ``[h, w]`` setting as a validated ``(h, w)`` tuple."""
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"{name} must be one integer or two, [height, width]")
        items = tuple(value)
    else:
        items = (value, value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{name} must be a whole number, not {item!r}")
        if item < minimum:
            raise ValueError(f"{name} must be at least {minimum} (got {item})")
        if item > maximum:
            raise ValueError(f"{name} must be at most {maximum} (got {item})")
    return (items[0], items[1])


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
