"""Why pooling buys a little translation invariance: shift the input by one pixel, then
compare, cell by cell, how much a convolution's output changes and how much its max-pooled
output changes. The same engines as the step-by-step pages compute both.

The shift moves the image and lets zeros enter on the other side (nothing wraps around).
The example and its point come from Zhang, Lipton, Li & Smola, "Dive into Deep Learning",
§7.5 (Pooling): a 2×2 max pooling still sees an edge that moved by one pixel.
"""

from __future__ import annotations

from typing import Any

import torch

from app.ops.arrays import brief
from app.ops.conv import conv2d_trace
from app.ops.pool import pool2d_trace

SHIFTS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}

#: The d2l example: a 6×8 image, bright at the sides and dark in the middle, and the
#: [1, −1] kernel that responds to its two vertical edges.
D2L_EDGES = [[1, 1, 0, 0, 0, 0, 1, 1] for _ in range(6)]
D2L_KERNEL = [[1, -1]]
#: Seed 000's own example ("Convolution is sensitive to position"): a 4×5 image bright in
#: its first two columns; [1, −1] gives 1 in the second column of the 4×4 output.
SEED_000_EDGE = [[1, 1, 0, 0, 0] for _ in range(4)]


def shift(x: torch.Tensor, direction: Any) -> torch.Tensor:
    """(H, W) moved one pixel towards ``direction``; zeros fill the vacated row or column."""
    if not isinstance(direction, str) or direction not in SHIFTS:
        raise ValueError(f"unknown shift {brief(direction)}; use one of {', '.join(SHIFTS)}")
    dy, dx = SHIFTS[direction]
    h, w = x.shape
    out = torch.zeros_like(x)
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def change(before: torch.Tensor, after: torch.Tensor) -> dict[str, Any]:
    """How much a map changed: cells that differ (and their fraction), ‖after − before‖ /
    ‖before‖."""
    difference = after - before
    changed = (difference != 0).sum().item()
    norm = before.norm().item()
    return {
        "before": before.tolist(),
        "after": after.tolist(),
        "difference": difference.tolist(),
        "changed": int(changed),
        "total": before.numel(),
        "fraction": changed / before.numel(),
        "relative": difference.norm().item() / norm if norm else None,
    }


def shift_demo(
    x: torch.Tensor,
    kernel: torch.Tensor,
    direction: Any,
    size: Any = 2,
    stride: Any = None,
) -> dict[str, Any]:
    """Convolve and max-pool ``x`` (H×W) and its shifted copy; compare the two stages."""
    if x.dim() != 2:
        raise ValueError("input must be an H×W grid (one channel)")
    if kernel.dim() != 2:
        raise ValueError("kernel must be a kh×kw grid")
    moved = shift(x, direction)
    conv_before = conv2d_trace(x, kernel).output[0]  # (H', W')
    conv_after = conv2d_trace(moved, kernel).output[0]
    pool_before = pool2d_trace(conv_before, "max", size, stride)
    pool_after = pool2d_trace(conv_after, "max", size, stride)
    return {
        "input": x.tolist(),
        "shifted": moved.tolist(),
        "kernel": kernel.tolist(),
        "direction": direction,
        "size": list(pool_before.size),
        "stride": list(pool_before.stride),
        "conv": change(conv_before, conv_after),
        "pooled": change(pool_before.output[0], pool_after.output[0]),
    }
