"""What a sliding-window detection found (:mod:`app.services.detection`): the score map of
every window size, the boxes before and after suppression with its steps, and the fully
convolutional maps with their comparison. Plain values and tensors (a job's result, shared
between replicas by :mod:`app.runtime.codec`), with ``to_dict()`` for the JSON answer and
``png()`` (the image with its boxes) for ``format=png``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image, ImageDraw

from app.explain.fully_conv import Rewrite
from app.explain.nms import Box, NmsStep
from app.nets.predict import Prediction


@dataclass(frozen=True)
class Settings:
    """What a request asks for besides the image."""

    sizes: tuple[int, ...]
    stride: int
    threshold: float
    iou: float
    target: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"sizes": list(self.sizes), "stride": self.stride, "threshold": self.threshold,
                "iou": self.iou, "target": self.target}  # fmt: skip


@dataclass(frozen=True)
class ScaleMap:
    """One window size's map of the class probability (rows: window tops, columns: lefts)."""

    size: int
    stride: float  # pixels of the image between neighbouring windows
    tops: list[float]
    lefts: list[float]
    scores: torch.Tensor  # (rows, columns) float32
    seconds: float  # the forward passes' time
    passes: int
    # fully convolutional maps only: the image scaled to this, and the comparison
    scaled: tuple[int, int] = (0, 0)
    matched: int = 0  # positions where a sliding window lies at the same place
    max_difference: float | None = None  # largest |probability difference| there
    exact: bool = False  # whether the architecture makes them equal there
    # sliding windows only: what the classifier says about each window (its top class)
    top: list[list[int]] = field(default_factory=list)
    top_scores: torch.Tensor | None = None  # (rows, columns) its probability

    def to_dict(self) -> dict[str, Any]:
        data = {
            "size": self.size, "stride": self.stride, "tops": self.tops, "lefts": self.lefts,
            "scores": self.scores.tolist(), "max": float(self.scores.max()),
            "seconds": self.seconds, "passes": self.passes,
        }  # fmt: skip
        if self.top_scores is not None:
            data |= {"top": self.top, "top_scores": self.top_scores.tolist()}
        if self.scaled != (0, 0):
            data |= {"scaled": list(self.scaled), "matched": self.matched,
                     "max_difference": self.max_difference, "exact": self.exact}  # fmt: skip
        return data


@dataclass(frozen=True)
class FullyConv:
    """The fully convolutional alternative: how the head was rewritten and its maps."""

    available: bool
    reason: str  # why not, when it is not available
    stride: int = 0  # the network's stride J in its input's pixels
    padded: list[str] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    maps: list[ScaleMap] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available, "reason": self.reason, "stride": self.stride,
            "exact": self.available and not self.padded, "padded": self.padded,
            "rewrites": [r.to_dict() for r in self.rewrites],
            "maps": [m.to_dict() for m in self.maps], "passes": len(self.maps),
            "seconds": sum(m.seconds for m in self.maps),
        }  # fmt: skip


@dataclass(frozen=True)
class Detection:
    """Everything the page shows for one request."""

    model: str
    settings: Settings
    target: Prediction  # the class searched for, with its best window probability
    width: int
    height: int
    maps: list[ScaleMap]
    candidates: list[Box]  # the windows at or above the threshold, best first
    kept: list[int]  # indices into candidates after suppression, best first
    steps: list[NmsStep]
    fully: FullyConv
    picture: Image.Image = field(repr=False)
    labels: tuple[str, ...] = field(default=(), repr=False)  # the network's, by class index
    image_id: str = ""

    @property
    def passes(self) -> int:
        return sum(m.passes for m in self.maps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "settings": self.settings.to_dict(),
            "target": self.target.to_dict(),
            "image": {"id": self.image_id, "width": self.width, "height": self.height},
            "maps": [m.to_dict() for m in self.maps],
            "boxes": [self.candidates[i].to_dict() for i in self.kept],
            "candidates": [box.to_dict() for box in self.candidates],
            "nms": {
                "iou": self.settings.iou,
                "kept": self.kept,
                "steps": [step.to_dict() for step in self.steps],
            },
            "passes": self.passes,
            "seconds": sum(m.seconds for m in self.maps),
            "fully_convolutional": self.fully.to_dict(),
            "labels": {
                str(i): self.labels[i]
                for i in sorted(
                    {index for m in self.maps for row in m.top for index in row}
                    | {self.target.index}
                )
            },
        }

    def png(self) -> bytes:
        """The image with the boxes kept drawn on it, the best in the thickest line."""
        picture = self.picture.convert("RGB")
        draw = ImageDraw.Draw(picture)
        for rank, index in enumerate(self.kept):
            box = self.candidates[index]
            line = max(1, round(max(self.width, self.height) / 150)) * (2 if rank == 0 else 1)
            corner = (box.x + box.width - 1, box.y + box.height - 1)
            draw.rectangle(((box.x, box.y), corner), outline=(250, 204, 21), width=line)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()
