"""Users' own networks for the tests, written the way people write them, traps included.

:class:`Tricky` has a residual sum written ``y += x`` (in place, on BatchNorm's output), an
in-place ``nn.ReLU`` (one module called twice: rows ``relu`` and ``relu (2)``) and an
``F.relu(..., inplace=True)``, a concatenation (``torch.cat``), a functional global pool and
a dropout, and reads a grayscale 24×40 input; it is left in train mode.
:class:`SoftmaxDigits` ends in ``nn.Softmax`` and reads 28×28 digits. :func:`tricky` loads
its weights from the safetensors file named by ``TRICKY_WEIGHTS`` when that is set (as a
user's code would), else from a fixed seed.

Used by the Python API tests and by ``convscope serve --model`` (by path and by module).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

import convscope

LABELS = ("circle", "square", "star", "line", "dot")
INPUT = (1, 24, 40)


class Tricky(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv_a = nn.Conv2d(6, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv_b = nn.Conv2d(6, 4, 1)
        self.pool = nn.MaxPool2d(2)
        self.conv_c = nn.Conv2d(10, 8, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(8, len(LABELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.stem(x))
        y = self.bn(self.conv_a(x))
        y += x  # the residual sum, in place
        y = F.relu(y, inplace=True)
        z = torch.cat([y, self.conv_b(y)], dim=1)  # the concatenation
        z = self.relu(self.conv_c(self.pool(z)))  # the same ReLU module, called again
        z = F.adaptive_avg_pool2d(z, 1).flatten(1)
        return self.head(self.drop(z))


def tricky_module(seed: int = 0) -> Tricky:
    """A Tricky with random weights and BatchNorm statistics, left in train mode."""
    torch.manual_seed(seed)
    model = Tricky()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.3, 0.3)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.weight.uniform_(0.5, 2.0)
    return model.train()


def tricky() -> convscope.Network:
    model = tricky_module()
    weights = os.environ.get("TRICKY_WEIGHTS")
    if weights:
        model.load_state_dict(load_file(weights))
    return convscope.Network(
        model,
        name="tricky",
        title="Tricky shapes",
        input_shape=INPUT,
        labels=LABELS,
        preprocess={"mean": 0.5, "std": 0.25},
    )


class SoftmaxDigits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU()
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10), nn.Softmax(dim=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def softmax_digits() -> convscope.Network:
    torch.manual_seed(1)
    return convscope.Network(
        SoftmaxDigits(), name="softmax-digits", input_shape=(1, 28, 28), preprocess="mnist"
    )


DIGITS = softmax_digits()
