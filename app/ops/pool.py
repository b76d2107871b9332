"""Step-by-step 2D pooling (max, average, sum): every window, its values, and what won.

``pool2d_trace`` pads the input once and unfolds it per channel (im2col): column ``l`` of
``columns[c]`` holds the kh·kw values that output position ``l`` of channel ``c`` pools, in
row-major window order. Pooling never mixes channels.

- max pads with −∞ (padding never wins) and records which element won; it equals
  ``F.max_pool2d``, and the winner equals the index ``F.max_pool2d(..., return_indices=True)``
  reports (the first maximum in row-major order when values tie).
- avg pads with zeros that count (``count_include_pad=True``, torch's default): the sum of
  the window divided by its full area kh·kw. It equals ``F.avg_pool2d``.
- sum is what torch does not have: average pooling times the window area, padded cells
  counting as zeros, so ``sum = F.avg_pool2d(x, k, s, p) · kh·kw``.

Every setting ``torch`` refuses is refused here first, with a sentence: padding beyond half
the window (a window could then hold only padding), a window larger than the padded input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arithmetic import Pair, SizeFormula, as_pair, pool_size_formula
from app.ops.arrays import as_stack, brief, compact
from app.ops.checks import VALUES_READ, check_terms

KINDS = ("max", "avg", "sum")


@dataclass(frozen=True)
class PoolLimits:
    """The largest pooling trace the app computes; lecture-size examples always fit."""

    max_channels: int = 16
    max_size: int = 64  # input height and width, per channel
    max_window: int = 16  # window height and width
    max_stride: int = 64
    max_padding: int = 8  # and never more than half the window (torch's rule)
    max_terms: int = 300_000  # output elements × cells per window


LIMITS = PoolLimits()


@dataclass(frozen=True)
class PoolTrace:
    """A computed pooling, ready to be stepped through."""

    input: torch.Tensor  # (C, H, W)
    padded_input: torch.Tensor  # (C, Hp, Wp): −∞ in the padding for max, 0 otherwise
    kind: str
    size: Pair
    stride: Pair
    padding: Pair
    columns: torch.Tensor  # (C, kh·kw, L): the values each output position pools
    output: torch.Tensor  # (C, H', W')
    winners: torch.Tensor | None  # (C, L) offset of the maximum inside its window (max only)
    formulas: tuple[SizeFormula, SizeFormula]

    @property
    def area(self) -> int:
        """Cells per window, padded cells included: the divisor of average pooling."""
        return self.size[0] * self.size[1]

    @property
    def windows(self) -> torch.Tensor:
        """(L, 2) top-left [row, col] of each window in the padded input, row-major."""
        out_h, out_w = self.output.shape[1:]
        rows = torch.arange(out_h).repeat_interleave(out_w) * self.stride[0]
        cols = torch.arange(out_w).repeat(out_h) * self.stride[1]
        return torch.stack((rows, cols), dim=1)

    def winner_positions(self) -> torch.Tensor:
        """(C, L, 2) [row, col] of each window's maximum in the padded input (max only)."""
        if self.winners is None:
            raise ValueError(f"{self.kind} pooling has no winners; only max pooling does")
        kw = self.size[1]
        offsets = torch.stack((self.winners // kw, self.winners % kw), dim=-1)  # (C, L, 2)
        return self.windows[None] + offsets

    def indices(self) -> torch.Tensor:
        """(C, H', W') flat index of each maximum in its input channel, as torch reports it."""
        rows_cols = self.winner_positions() - torch.tensor(self.padding)
        width = self.input.shape[2]
        return (rows_cols[..., 0] * width + rows_cols[..., 1]).reshape(self.output.shape)

    def to_dict(self) -> dict[str, Any]:
        """The layout of ``POST /api/pooling``. Each step's ``values`` is a numpy view
        (serialise with ``orjson.OPT_SERIALIZE_NUMPY``); padding that max ignores is null.
        """
        channels, out_h, out_w = self.output.shape
        length = out_h * out_w
        values = compact(self.columns.transpose(1, 2).contiguous())  # (C, L, K)
        results = self.output.reshape(channels, length).tolist()
        windows = self.windows.tolist()
        winners = self.winner_positions().tolist() if self.winners is not None else None
        steps = []
        for c in range(channels):
            for l in range(length):  # noqa: E741
                step = {
                    "position": [c, l // out_w, l % out_w],
                    "window": windows[l],
                    "values": values[c, l],
                    "value": results[c][l],
                }
                if winners is not None:
                    step["winner"] = winners[c][l]
                steps.append(step)
        return {
            "output": self.output.tolist(),
            "output_shape": list(self.output.shape),
            "padded_input": self.padded_input.tolist(),  # −∞ is written as null
            "kind": self.kind,
            "size": list(self.size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "area": self.area,
            "formula": {f.axis: f.to_dict() for f in self.formulas},
            "steps": steps,
        }


def pool2d_trace(
    x: torch.Tensor,
    kind: str,
    size: int | Pair | list[int],
    stride: int | Pair | list[int] | None = None,
    padding: int | Pair | list[int] = 0,
    *,
    limits: PoolLimits = LIMITS,
) -> PoolTrace:
    """Pool ``x`` (H×W or C×H×W) with a ``size`` window and record every window.

    ``stride`` defaults to the window size, as in torch.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {brief(kind)}: use max, avg or sum")
    x = as_stack(x, "input", max_channels=limits.max_channels, max_size=limits.max_size)
    k = as_pair(size, "size", minimum=1, maximum=limits.max_window)
    s = k if stride is None else as_pair(stride, "stride", minimum=1, maximum=limits.max_stride)
    p = as_pair(padding, "padding", minimum=0, maximum=limits.max_padding)
    for window, pad, axis in ((k[0], p[0], "tall"), (k[1], p[1], "wide")):
        if 2 * pad > window:
            raise ValueError(
                f"padding must be at most half the window ({window // 2} for a window "
                f"{window} {axis}; got {pad}): with more, a window could hold only padding"
            )
    channels, h, w = x.shape
    padded_h, padded_w = h + 2 * p[0], w + 2 * p[1]
    if k[0] > padded_h or k[1] > padded_w:
        raise ValueError(
            f"the {k[0]}×{k[1]} window is larger than the padded input "
            f"({padded_h}×{padded_w}): use a smaller window or more padding"
        )
    formulas = (
        pool_size_formula("H", h, k[0], s[0], p[0]),
        pool_size_formula("W", w, k[1], s[1], p[1]),
    )
    out_h, out_w = formulas[0].value, formulas[1].value
    check_terms(
        channels * out_h * out_w * k[0] * k[1], limits.max_terms, counted=VALUES_READ,
        advice="use a smaller input or window, fewer channels or a larger stride",
    )  # fmt: skip

    fill = float("-inf") if kind == "max" else 0.0
    padded = F.pad(x, (p[1], p[1], p[0], p[0]), value=fill)  # (C, Hp, Wp)
    columns = F.unfold(padded[:, None], k, stride=s)  # (C, kh·kw, L)
    winners = None
    if kind == "max":
        pooled, winners = columns.max(dim=1)  # (C, L): the first maximum on ties
    elif kind == "avg":
        pooled = columns.sum(dim=1) / (k[0] * k[1])
    else:
        pooled = columns.sum(dim=1)
    return PoolTrace(
        input=x,
        padded_input=padded,
        kind=kind,
        size=k,
        stride=s,
        padding=p,
        columns=columns,
        output=pooled.reshape(channels, out_h, out_w),
        winners=winners,
        formulas=formulas,
    )
