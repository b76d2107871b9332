"""Occlusion sensitivity (Zeiler and Fergus 2014, "Visualizing and Understanding
Convolutional Networks", §4.2): cover part of the image and see how much the class score
drops.

A ``patch``×``patch`` square of the baseline value (gray in the paper) slides over the image
with ``stride``; for every position the class logit is computed with the square in place.
A pixel's attribution is the mean, over the squares that cover it, of

    logit(image) − logit(image with the square)

so it is positive where hiding the pixel lowers the score. Positions are Captum's: one
every ``stride`` pixels starting at 0, with a last one that may stick out past the border
(cropped), ⌈(H − patch) / stride⌉ + 1 per axis; the square covers every channel. Captum:
``Occlusion(model).attribute(x, sliding_window_shapes=(C, patch, patch), strides=stride,
baselines=value, target=target)``.

Captum evaluates one position per forward pass by default; here a batch of positions goes
through the network at once (under ``torch.inference_mode``), with progress reported
before each batch; for one image of a network with a plan (EfficientNet-Lite0), its first
layers are recomputed only near the square (:mod:`app.explain.saliency.incremental`). The
per-pixel sums are two small matrix products: with R (positions, H) and K (positions, W)
the rows and columns each square covers, the total of a score change d over the squares is
Rᵀ diag(d) K, and the number of squares over each pixel RᵀK.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from app.explain.params import Param
from app.explain.progress import Progress, batches
from app.explain.saliency.base import (
    Target,
    as_baseline,
    as_targets,
    network_layout,
    target_scores,
)
from app.explain.saliency.baselines import WithBaseline, baseline_param
from app.explain.saliency.incremental import Incremental, plan_for
from app.nets.network import Network

MAX_PATCH = 112
PATCH = Param("patch", int, 32, 1, MAX_PATCH, doc="side of the square that covers the image")
STRIDE = Param("stride", int, 16, 1, 112, doc="pixels between neighbouring squares")
#: Most positions of the square (forward passes) one request may ask for.
MAX_POSITIONS = 4096


def starts(size: int, patch: int, stride: int) -> list[int]:
    """Where the squares start along one axis (Captum's positions)."""
    return [i * stride for i in range(math.ceil((size - patch) / stride) + 1)]


class Occlusion(WithBaseline):
    name = "occlusion"
    title = "Occlusion sensitivity"
    paper = (
        "M. D. Zeiler, R. Fergus. Visualizing and Understanding Convolutional Networks. ECCV 2014."
    )
    reduction = "the drop of the class score when the pixel is covered (signed)"
    signed = True
    params = (PATCH, STRIDE)

    @classmethod
    def model_for(cls, network: Network, settings: Mapping[str, Any]) -> nn.Module:
        """The folded module itself: the incremental passes read its layers."""
        return network.folded.module

    def __init__(
        self,
        model: nn.Module,
        *,
        patch: int = PATCH.default,
        stride: int = STRIDE.default,
        batch_size: int | None = None,
        incremental: bool = True,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.incremental = incremental
        self.patch = PATCH.check(patch)
        self.stride = STRIDE.check(stride)
        if self.stride > self.patch:
            raise ValueError(
                f"the stride ({stride}) must not exceed the patch ({patch}): pixels between "
                "the squares would never be covered"
            )

    @classmethod
    def settings_for(cls, network: Network) -> tuple[Param, ...]:
        """Patch and stride scaled to the input (a seventh of its side and half of that: 32
        and 16 at 224×224, 4 and 2 for a digit), and what covers the pixels: gray on photos
        (Zeiler and Fergus's gray square), black (the background) on digits."""
        channels, height, width = network.input_shape
        side = min(height, width)
        patch = max(1, side // 7)
        return (
            Param("patch", int, patch, 1, min(MAX_PATCH, side), doc=PATCH.doc),
            Param("stride", int, max(1, patch // 2), 1, STRIDE.maximum, doc=STRIDE.doc),
            baseline_param("gray" if channels == 3 else "black", "what covers the pixels"),
        )

    def positions(self, height: int, width: int) -> tuple[list[int], list[int]]:
        """The squares' top rows and left columns; ``ValueError`` if too many or too big."""
        if self.patch > min(height, width):
            raise ValueError(f"the patch ({self.patch}) is larger than the {height}×{width} image")
        rows = starts(height, self.patch, self.stride)
        cols = starts(width, self.patch, self.stride)
        if len(rows) * len(cols) > MAX_POSITIONS:
            raise ValueError(
                f"a {self.patch}-pixel patch with stride {self.stride} needs "
                f"{len(rows) * len(cols):,} positions on a {height}×{width} image; at most "
                f"{MAX_POSITIONS:,} are allowed: use a larger stride or patch"
            )
        return rows, cols

    def _cover(self, first: list[int], size: int, like: torch.Tensor) -> torch.Tensor:
        """(positions, size) in ``like``'s dtype: 1 where the square starting at each
        position lies."""
        index = torch.arange(size, device=like.device)
        start = torch.tensor(first, device=like.device)[:, None]
        return ((index >= start) & (index < start + self.patch)).to(like.dtype)

    def _incremental(self, x: torch.Tensor, rows: list[int], cols: list[int]) -> Incremental | None:
        """The incremental passes for one image of a network with a plan, when they save work
        (:mod:`app.explain.saliency.incremental`); ``None``: every pass in full."""
        plan = plan_for(self.model) if self.incremental and x.shape[0] == 1 else None
        if plan is None:
            return None
        passes = Incremental(plan, network_layout(x), self.patch, rows, cols)
        return passes if passes.saves else None

    def attribute(
        self,
        x: torch.Tensor,
        target: Target,
        *,
        baseline: torch.Tensor | float = 0.0,
        progress: Progress | None = None,
    ) -> torch.Tensor:
        """(N, C, H, W) the mean score drop over the squares covering each pixel (the same
        for every channel)."""
        x = self.prepare(x)
        n, channels, height, width = x.shape
        rows, cols = self.positions(height, width)
        targets = as_targets(target, n)
        base = as_baseline(baseline, x)
        row_cover = self._cover(rows, height, x)  # (nr, H)
        col_cover = self._cover(cols, width, x)  # (nc, W)
        # every position as (row index, column index), rows varying fastest as in Captum
        r_of = torch.arange(len(rows)).repeat(len(cols))
        c_of = torch.arange(len(cols)).repeat_interleave(len(rows))
        total = torch.zeros(n, height, width, dtype=x.dtype, device=x.device)
        per_batch = max(1, self.images_per_batch(x) // n)
        with torch.inference_mode():
            reference = target_scores(self.model(network_layout(x)), targets)  # (N,)
            incremental = self._incremental(x, rows, cols)
            values = network_layout(torch.broadcast_to(base, x.shape))
            for part in batches(len(r_of), per_batch, progress):
                r, c = row_cover[r_of[part]], col_cover[c_of[part]]  # (k, H), (k, W)
                if incremental is not None:
                    tops = [rows[i] for i in r_of[part].tolist()]
                    lefts = [cols[i] for i in c_of[part].tolist()]
                    logits = incremental.logits(tops, lefts, values)
                else:
                    covered = (r[:, :, None] * c[:, None, :]).bool()[:, None, None]  # (k,1,1,H,W)
                    hidden = torch.where(covered, base, x).flatten(0, 1)  # (k·N, C, H, W)
                    logits = self.model(network_layout(hidden))
                drop = reference - target_scores(logits, targets.repeat(len(r))).view(len(r), n)
                total += torch.einsum("kn,kh,kw->nhw", drop, r, c)  # (N, H, W)
        # squares over each pixel: every (row, column) pair is a position, so RᵀK factorises
        count = row_cover.sum(0)[:, None] * col_cover.sum(0)[None, :]  # (H, W)
        return (total / count)[:, None].expand(n, channels, height, width).clone()

    @staticmethod
    def to_map(attribution: torch.Tensor) -> torch.Tensor:
        """(N, H, W): the attribution is the same in every channel."""
        return attribution[:, 0]
