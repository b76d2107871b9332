"""Receptive fields: where in the input each unit of a layer looks, per axis (rows, columns).

The standard recurrence (Araujo, Norris and Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019), from the input (r = 1, j = 1, start = 0)
through every layer with kernel k, stride s, dilation d and padding p_before:

    r_out = r_in + (k − 1)·d·j_in        (size, in input pixels)
    j_out = j_in·s                        (jump: input pixels between neighbouring units)
    start_out = start_in − p_before·j_in  (input coordinate where unit 0's field begins)

so output unit i sees input pixels start + i·j … start + i·j + r − 1 (clipped to the image;
the part outside is padding). That box is exact unless dilation or a stride larger than the
kernel leaves holes in it, or a layer's windows stop short of the last rows of its input.

A node reading several inputs (a residual sum, a concatenation) takes the union of their
fields. Elementwise layers keep the field; a crop moves it; a dense layer, a flatten or a
global pool sees the whole input. Going up (a transposed convolution, an upsampling) the
jump becomes a fraction: output o of a stride-s transposed convolution reads inputs
⌈(o + p − (k−1)·d)/s⌉ … ⌊(o + p)/s⌋, which is not affine in o, so its field is given as the
affine box that contains every unit's: ``size`` follows the recurrence with fractional
jumps, and ``slack`` is what the box adds past it so that it contains every unit's field (0
until the first transposed convolution or upsampling; below j_in each time). After going up,
units differ (in U-Net, by a few pixels either way of ``size``); each unit's true field lies
inside its box (tests/nets/test_architectures.py checks it with a gradient probe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Pair = tuple[int, int]
Num = int | Fraction
NumPair = tuple[Num, Num]


def number(value: Num) -> int | float:
    """An int when whole, else a float (for JSON)."""
    return int(value) if Fraction(value).denominator == 1 else float(value)


@dataclass(frozen=True)
class ReceptiveField:
    """Where one layer's units look in the input, per axis (rows, columns)."""

    size: Pair  # r: may exceed the input, the excess being padding
    jump: NumPair | None  # j; None for a global layer (every unit sees everything)
    start: NumPair  # input coordinate where the field of unit (0, 0) begins; < 0 is padding
    slack: NumPair = (0, 0)  # added to ``size`` by :meth:`box` (after going up; see above)

    @property
    def is_global(self) -> bool:
        return self.jump is None

    def box(self, row: int, col: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom and right exclusive, of unit (row, col)'s field
        clipped to a height×width input."""
        if self.jump is None:
            return 0, 0, height, width
        top = self.start[0] + row * self.jump[0]
        left = self.start[1] + col * self.jump[1]
        bottom = math.ceil(top + self.size[0] + self.slack[0])
        right = math.ceil(left + self.size[1] + self.slack[1])
        top, left = math.floor(top), math.floor(left)
        return max(top, 0), max(left, 0), min(bottom, height), min(right, width)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "jump": None if self.jump is None else [number(v) for v in self.jump],
            "start": [number(v) for v in self.start],
            "global": self.is_global,
        }


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0, 0))


def whole(image: Pair) -> ReceptiveField:
    return ReceptiveField(image, None, (0, 0))


def union(fields: list[ReceptiveField], image: Pair) -> ReceptiveField:
    """The field covering several inputs read at once (a sum, a concatenation). Inputs with
    different jumps cannot be aligned unit for unit: the union of unit 0's boxes is kept
    with the larger jump (an approximation; no network here does that)."""
    if any(f.is_global for f in fields):
        return whole(image)
    starts = [min(f.start[a] for f in fields) for a in (0, 1)]
    ends = [max(f.start[a] + f.size[a] for f in fields) for a in (0, 1)]
    bounds = [max(f.start[a] + f.size[a] + f.slack[a] for f in fields) for a in (0, 1)]
    jump = max((f.jump for f in fields), key=lambda j: j[0] * j[1])  # type: ignore[index]
    size = (math.ceil(ends[0] - starts[0]), math.ceil(ends[1] - starts[1]))
    slack = (bounds[0] - starts[0] - size[0], bounds[1] - starts[1] - size[1])
    return ReceptiveField(size, jump, (starts[0], starts[1]), slack)


def window(
    base: ReceptiveField, kernel: Pair, stride: Pair, dilation: Pair, before: Pair
) -> ReceptiveField:
    """After a sliding window (convolution, pooling)."""
    r, j, s = base.size, base.jump, base.start
    assert j is not None
    return ReceptiveField(
        size=(math.ceil(r[0] + (kernel[0] - 1) * dilation[0] * j[0]),
              math.ceil(r[1] + (kernel[1] - 1) * dilation[1] * j[1])),
        jump=(j[0] * stride[0], j[1] * stride[1]),
        start=(s[0] - before[0] * j[0], s[1] - before[1] * j[1]),
        slack=base.slack,
    )  # fmt: skip


def transposed(
    base: ReceptiveField, kernel: Pair, stride: Pair, dilation: Pair, padding: Pair
) -> ReceptiveField:
    """After a transposed convolution (the module docstring says how it is bounded)."""
    r, j, s = base.size, base.jump, base.start
    assert j is not None

    def axis(a: int) -> tuple[int, Fraction, Fraction, Num]:
        # output o reads the input units in [(o + p − (k−1)·d)/s, (o + p)/s]
        reach = Fraction((kernel[a] - 1) * dilation[a], stride[a])
        size = math.ceil(r[a] + math.floor(reach) * j[a])  # at most ⌊reach⌋ + 1 units
        start = s[a] + (Fraction(padding[a]) / stride[a] - reach) * j[a]
        slack = base.slack[a] + (reach - math.floor(reach)) * j[a]
        return size, Fraction(j[a]) / stride[a], start, slack

    rows, cols = axis(0), axis(1)
    return ReceptiveField(
        (rows[0], cols[0]), (rows[1], cols[1]), (rows[2], cols[2]), (rows[3], cols[3])
    )


def upsample(base: ReceptiveField, factor: Pair, nearest: bool) -> ReceptiveField:
    """After an upsampling by whole factors f: nearest reads input unit ⌊o/f⌋, as an f×f
    stride-f transposed convolution does; other modes (bilinear) read two neighbours, inside
    the inputs a 3f×3f one with padding f reads."""
    if nearest:
        return transposed(base, factor, factor, (1, 1), (0, 0))
    return transposed(base, (3 * factor[0], 3 * factor[1]), factor, (1, 1), factor)


def crop(base: ReceptiveField, top: int, left: int) -> ReceptiveField:
    """After cutting ``top`` rows and ``left`` columns off a map."""
    j = base.jump
    assert j is not None
    start = (base.start[0] + top * j[0], base.start[1] + left * j[1])
    return ReceptiveField(base.size, j, start, base.slack)
