"""Boxes and non-maximum suppression (NMS), written out step by step for the detection page.

A detector that slides windows over a photo finds the same object many times: every window
that overlaps it well scores high. Greedy NMS keeps the best box, removes every remaining box
that overlaps it by more than an IoU threshold, and repeats with the best box left
(Felzenszwalb et al. 2010, as in Dalal and Triggs's and every sliding-window detector since).

IoU (intersection over union) of two boxes is the area they share divided by the area they
cover together: 1 for the same box, 0 for boxes that do not touch.

:func:`suppress` returns the boxes kept (best first) and its :class:`NmsStep` record: at each
step the box kept and, for every box still in play, its IoU with it and whether that
removed it, so that a page can replay the decisions one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.explain.params import Param

IOU = Param("iou", float, 0.3, 0.0, 1.0, doc="boxes overlapping a kept one by more are removed")


@dataclass(frozen=True)
class Box:
    """A window in image pixels (top-left ``x``, ``y``; ``width``, ``height``) and its score;
    ``size``: the side of the sliding window that found it."""

    x: float
    y: float
    width: float
    height: float
    score: float
    size: int

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def to_dict(self) -> dict[str, float | int]:
        return {
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "score": self.score,
            "size": self.size,
        }


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty or they do not touch)."""
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    shared = width * height
    union = a.area + b.area - shared
    return shared / union if union > 0 else 0.0


@dataclass(frozen=True)
class NmsStep:
    """One step of NMS: the box kept (an index into the candidates) and, for each box still
    in play after it, ``[index, IoU with the kept box, removed]``."""

    kept: int
    compared: list[tuple[int, float, bool]]

    def to_dict(self) -> dict[str, object]:
        return {
            "kept": self.kept,
            "compared": [
                {"index": index, "iou": overlap, "removed": removed}
                for index, overlap, removed in self.compared
            ],
        }


def ranked(boxes: list[Box]) -> list[Box]:
    """Best score first; ties keep their order (a stable sort), so results are repeatable."""
    return sorted(boxes, key=lambda box: -box.score)


def suppress(candidates: list[Box], threshold: float) -> tuple[list[int], list[NmsStep]]:
    """Greedy NMS over ``candidates`` (taken in the order given: rank them first, see
    :func:`ranked`). A box is removed when its IoU with a kept box is above ``threshold``.
    Returns the indices kept (in the order kept, best first) and the steps."""
    threshold = IOU.check(threshold)
    alive = list(range(len(candidates)))
    kept: list[int] = []
    steps: list[NmsStep] = []
    while alive:
        best, rest = alive[0], alive[1:]
        kept.append(best)
        compared = []
        survivors = []
        for index in rest:
            overlap = iou(candidates[best], candidates[index])
            removed = overlap > threshold
            compared.append((index, overlap, removed))
            if not removed:
                survivors.append(index)
        steps.append(NmsStep(best, compared))
        alive = survivors
    return kept, steps
