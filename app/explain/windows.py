"""Sliding-window detection: a classifier asked about every window of a photo, at several
window sizes (scales), giving a map of scores per size.

The classic detector before fully convolutional networks (Sermanet et al. 2014 describe
both): cut the photo into overlapping square windows ``size`` pixels wide, one every
``stride`` pixels, resize each to the classifier's input, and ask the classifier for the
probability of one class. Every window is a forward pass: a 448×224 photo with 160-pixel
windows every 32 pixels is 30 passes for one scale.

:func:`plan` lays the windows out (the windows that fit inside the image, in rows from the
top-left), refusing sizes, strides and counts beyond the caps with a sentence;
:func:`score` runs them through the network in batches (under ``torch.inference_mode``),
reporting progress before each batch, and returns one probability map per size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from app.explain.params import Param
from app.explain.progress import Progress, report
from app.explain.saliency.base import BATCH_ELEMENTS, network_layout

STRIDE = Param("stride", int, 32, 1, 1024, doc="pixels between neighbouring windows")
THRESHOLD = Param("threshold", float, 0.3, 0.0, 1.0, doc="the least probability a box needs")
#: The smallest window side, and how many sizes one request may ask for.
MIN_SIZE = 8
MAX_SIZES = 6
#: Most windows (forward passes) of one request, over all its sizes.
MAX_WINDOWS = 2048


@dataclass(frozen=True)
class Grid:
    """The windows of one size: their top rows and left columns in image pixels."""

    size: int
    stride: int
    tops: list[int]
    lefts: list[int]

    @property
    def count(self) -> int:
        return len(self.tops) * len(self.lefts)


def starts(extent: int, size: int, stride: int) -> list[int]:
    """Where the windows start along one axis: every ``stride`` pixels while they fit."""
    return list(range(0, extent - size + 1, stride))


def parse_sizes(text: str) -> list[int]:
    """Window sides from ``"224,160"``; ``ValueError`` with a sentence for anything else."""
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError("sizes is empty: give window sides in pixels, e.g. 224,160")
    sizes = []
    for part in parts:
        if not part.isdigit():
            raise ValueError(
                f"sizes must be whole numbers of pixels separated by commas (got {part!r})"
            )
        sizes.append(int(part))
    return sizes


def plan(height: int, width: int, sizes: list[int], stride: int) -> list[Grid]:
    """The windows of every size over a ``height``×``width`` image; ``ValueError`` for a
    size smaller than :data:`MIN_SIZE` or larger than the image, repeated sizes, more than
    :data:`MAX_SIZES` sizes, a stride out of range or more than :data:`MAX_WINDOWS`."""
    stride = STRIDE.check(stride)
    if len(sizes) > MAX_SIZES:
        raise ValueError(f"{len(sizes)} window sizes were given; at most {MAX_SIZES} are allowed")
    repeated = sorted({size for size in sizes if sizes.count(size) > 1})
    if repeated:
        raise ValueError(f"the window size {repeated[0]} is given twice")
    grids = []
    for size in sizes:
        if size < MIN_SIZE:
            raise ValueError(f"a window must be at least {MIN_SIZE} pixels wide (got {size})")
        if size > min(height, width):
            raise ValueError(
                f"a window of {size} pixels does not fit in the {width}×{height} image: the "
                f"largest is {min(height, width)}"
            )
        grids.append(Grid(size, stride, starts(height, size, stride), starts(width, size, stride)))
    total = sum(grid.count for grid in grids)
    if total > MAX_WINDOWS:
        raise ValueError(
            f"these sizes with stride {stride} make {total:,} windows on the {width}×{height} "
            f"image; at most {MAX_WINDOWS:,} are allowed: use a larger stride or fewer sizes"
        )
    return grids


def crops(x: torch.Tensor, grid: Grid, index: slice, side: tuple[int, int]) -> torch.Tensor:
    """(k, C, h, w) the windows ``index`` of ``grid`` (in row order) cut from ``x`` (C, H, W)
    and resized to the network's input ``side`` (bilinear with antialiasing; a window that
    already has the input's size is passed as it is)."""
    size, columns = grid.size, len(grid.lefts)
    pieces = []
    for k in range(index.start, index.stop):
        top, left = grid.tops[k // columns], grid.lefts[k % columns]
        pieces.append(x[:, top : top + size, left : left + size])
    batch = torch.stack(pieces)
    if (size, size) == side:
        return batch
    return F.interpolate(batch, size=side, mode="bilinear", antialias=True, align_corners=False)


@dataclass(frozen=True)
class Scored:
    """One size's map: every window's logits (rows, columns, classes) and how long the
    forward passes took."""

    grid: Grid
    logits: torch.Tensor  # (rows, columns, classes) float32 on the CPU
    seconds: float


def score(
    model: nn.Module,
    x: torch.Tensor,
    grids: list[Grid],
    side: tuple[int, int],
    *,
    progress: Progress | None = None,
    batch_size: int | None = None,
) -> list[Scored]:
    """Every window of every grid through ``model`` (one forward pass per window, in
    batches of ``batch_size``; by default as many as 8 EfficientNet-Lite0 inputs): the logits
    per size, in the grids' order. ``x`` is the preprocessed image (C, H, W) on the model's
    device. Progress (windows done) is reported before each batch, 1.0 at the end."""
    per_batch = batch_size or max(1, BATCH_ELEMENTS // (x.shape[0] * side[0] * side[1]))
    total = sum(grid.count for grid in grids)
    done = 0
    found = []
    with torch.inference_mode():
        for grid in grids:
            logits, seconds = [], 0.0
            for start in range(0, grid.count, per_batch):
                report(progress, done / total)
                index = slice(start, min(start + per_batch, grid.count))
                began = time.perf_counter()
                out = model(network_layout(crops(x, grid, index, side)))
                seconds += time.perf_counter() - began
                logits.append(out.float().cpu())
                done += index.stop - index.start
            rows, columns = len(grid.tops), len(grid.lefts)
            found.append(Scored(grid, torch.cat(logits).view(rows, columns, -1), seconds))
    report(progress, 1.0)
    return found
