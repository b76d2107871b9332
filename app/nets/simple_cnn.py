"""The lecture's SimpleCNN: two 3×3 convolutions with ReLU and max pooling, three dense layers.

    input 1×28×28
    conv 6@3×3 pad 1, ReLU, max pool 2    → 6×14×14
    conv 16@3×3 pad 1, ReLU, max pool 2   → 16×7×7
    flatten                               → 784
    dense 120, ReLU; dense 84, ReLU       → 84
    dense 10                              → 10 logits

Written as in the lecture notes, with the functional calls (``F.relu``, ``F.max_pool2d``,
``x.view``) turned into modules so that every step is a layer with a name, a row in the
architecture table and a feature map the explorer can show.
"""

from __future__ import annotations

import torch
from torch import nn


class SimpleCNN(nn.Module):
    """The lecture's small MNIST network."""

    def __init__(self, *, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=3, stride=1, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=3, stride=1, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 7 * 7, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) images → (N, num_classes) logits."""
        x = self.pool1(self.relu1(self.conv1(x)))  # (N, 6, 14, 14)
        x = self.pool2(self.relu2(self.conv2(x)))  # (N, 16, 7, 7)
        x = self.flatten(x)  # (N, 784)
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)
