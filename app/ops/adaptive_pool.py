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

import numpy as np
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
    values = x.numpy()
    shown = compact(x)  # whole numbers as integers, for the steps' values
    output = np.empty((channels, out_h, out_w))
    steps: list[list[dict[str, Any]]] = [[] for _ in range(channels)]  # per channel
    every = np.arange(channels)
    for i, (r0, r1) in enumerate(rows):
        for j, (c0, c1) in enumerate(cols):
            window = values[:, r0:r1, c0:c1].reshape(channels, -1)  # (C, cells), row-major
            cells = shown[:, r0:r1, c0:c1].reshape(channels, -1)
            if kind == "max":
                at = window.argmax(axis=1)  # the first maximum in row-major order
                pooled = window[every, at]
            else:
                pooled = window.sum(axis=1) / window.shape[1]
            output[:, i, j] = pooled
            for c in range(channels):
                step: dict[str, Any] = {
                    "position": [c, i, j], "rows": [r0, r1], "cols": [c0, c1],
                    "values": cells[c], "count": window.shape[1], "value": float(pooled[c]),
                }  # fmt: skip
                if kind == "max":
                    width = c1 - c0
                    step["winner"] = [r0 + int(at[c]) // width, c0 + int(at[c]) % width]
                steps[c].append(step)
    pooled_all = check_result(torch.from_numpy(output))
    return {
        "input": shown,
        "kind": kind,
        "output": compact(pooled_all),
        "output_shape": [channels, out_h, out_w],
        "rows": rows,
        "cols": cols,
        "steps": [step for channel in steps for step in channel],
    }
