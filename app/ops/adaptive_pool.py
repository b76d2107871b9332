"""Adaptive average and max pooling: any input size to a fixed output size, with the windows
torch chooses (seed 003: "pool different shaped images to get same size output").

Output row i pools input rows ``start = ⌊i·H / H'⌋`` to ``end = ⌈(i + 1)·H / H'⌉``
(exclusive), and the same for columns. The windows cover the input and may differ in size
and overlap by a row when H' does not divide H; with H' > H rows repeat. Equal to
``F.adaptive_avg_pool2d`` and ``F.adaptive_max_pool2d`` (whose index is the first maximum
of a window in row-major order, as here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.ops.arithmetic import as_pair
from app.ops.arrays import as_stack, brief, check_result, compact, to_tensor

KINDS = ("max", "avg")


@dataclass(frozen=True)
class AdaptiveLimits:
    """The largest adaptive pooling the page steps through."""

    max_channels: int = 8
    max_size: int = 32  # input height and width
    max_output: int = 16  # output height and width
    # so at most 8·16·16 = 2,048 steps and 8·32·32 = 8,192 values read (every window
    # holds at most ⌈H/H'⌉ + 1 rows: the windows of a row overlap by at most one)


LIMITS = AdaptiveLimits()


def bounds(size: int, out: int) -> list[tuple[int, int]]:
    """[start, end) of each of ``out`` windows over ``size`` cells, as torch chooses them."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def adaptive_pool(
    *, input: Any, kind: Any, output_size: Any, limits: AdaptiveLimits = LIMITS
) -> dict[str, Any]:
    """``POST /api/pooling/adaptive``: the windows, each step's values and the output."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {brief(kind)}: adaptive pooling is max or avg")
    x = as_stack(
        to_tensor(input, "input", dims=(2, 3)), "input",
        max_channels=limits.max_channels, max_size=limits.max_size,
    )  # fmt: skip
    out_h, out_w = as_pair(output_size, "output_size", minimum=1, maximum=limits.max_output)
    channels, h, w = x.shape
    rows, cols = bounds(h, out_h), bounds(w, out_w)
    output = torch.empty(channels, out_h, out_w, dtype=x.dtype)
    steps = []
    for c in range(channels):
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                window = x[c, r0:r1, c0:c1]
                flat = window.reshape(-1)
                step: dict[str, Any] = {"position": [c, i, j], "rows": [r0, r1], "cols": [c0, c1]}
                if kind == "max":
                    at = int(flat.argmax())  # the first maximum in row-major order
                    value = flat[at]
                    step["winner"] = [r0 + at // window.shape[1], c0 + at % window.shape[1]]
                else:
                    value = flat.sum() / flat.numel()
                output[c, i, j] = value
                step["values"] = compact(flat)
                step["count"] = flat.numel()
                step["value"] = float(value)
                steps.append(step)
    check_result(output)
    return {
        "input": compact(x),
        "kind": kind,
        "output": compact(output),
        "output_shape": [channels, out_h, out_w],
        "rows": rows,
        "cols": cols,
        "steps": steps,
    }
