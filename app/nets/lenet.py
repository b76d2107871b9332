"""LeNet-5 as the lecture notes write it in PyTorch (LeCun, Bottou, Bengio and Haffner, 1998).

    input 1×32×32
    C1 conv 6@5×5, tanh      → 6×28×28
    S2 average pool 2×2      → 6×14×14
    C3 conv 16@5×5, tanh     → 16×10×10
    S4 average pool 2×2      → 16×5×5
    C5 conv 120@5×5, tanh    → 120×1×1
    F6 dense 84, tanh        → 84
    output dense 10          → 10 logits (softmax applied by the caller)

C5 needs a 32×32 input, as in the paper: MNIST's 28×28 digits are extended to 32×32 with
background pixels (``app.nets.preprocess.LENET``), the way LeCun et al. fed the network.
Like the lecture's version (and unlike the paper) S2 and S4 are plain average pools, C3
sees all six C1 maps, and the output layer is a dense layer, not Euclidean RBF units.

Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document
recognition. Proceedings of the IEEE 86(11), 1998.
"""

from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    """LeNet-5; every layer is an attribute, named as it reads in the architecture table."""

    def __init__(self, *, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
        self.tanh1 = nn.Tanh()
        self.pool1 = nn.AvgPool2d(kernel_size=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.tanh2 = nn.Tanh()
        self.pool2 = nn.AvgPool2d(kernel_size=2)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5)
        self.tanh3 = nn.Tanh()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(120, 84)
        self.tanh4 = nn.Tanh()
        self.fc2 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) images → (N, num_classes) logits."""
        x = self.pool1(self.tanh1(self.conv1(x)))  # (N, 6, 14, 14)
        x = self.pool2(self.tanh2(self.conv2(x)))  # (N, 16, 5, 5)
        x = self.flatten(self.tanh3(self.conv3(x)))  # (N, 120)
        return self.fc2(self.tanh4(self.fc1(x)))
