"""Deep CNNs for MNIST of a chosen depth, plain or with residual connections, with or
without BatchNorm: the training lab's networks for showing why deep networks need skip
connections (He, Zhang, Ren and Sun 2016, whose CIFAR-10 "plain-20" and "ResNet-20" these
follow at MNIST's size).

    input 1×28×28
    stem     conv 16@3×3 stride 2 pad 1 [BatchNorm], ReLU                 → 16×14×14
    block ×n conv 3×3 [BN], ReLU, conv 3×3 [BN] (+ the block's input), ReLU → 16×14×14
    pool     average 2×2                                                    → 16×7×7
    flatten, dense 10                                                       → 10 logits

The depth counts the layers with weights as He et al. count them: the stem, two per block
and the dense layer (ResNet-20: nine blocks), so it is even. A residual block adds its
input to the second convolution's output before the last ReLU (He et al. 2016, Fig. 2); the
plain network is the same without that sum. With BatchNorm (Ioffe and Szegedy 2015) every
convolution is followed by one and has no bias of its own.

The weights start from PyTorch's default initialisation (``kaiming_uniform_`` with
a = √5: variance 1 / (3·fan_in), a sixth of what He et al. 2015 recommend for ReLU layers, a
third of Glorot and Bengio 2010's). Through a plain stack of ReLU layers so initialised,
each layer multiplies a signal's mean square by about 1/6, and the gradient on its way back
as much: by the first layer of a 20-layer plain network it is many orders of magnitude
smaller than at the last, and the network does not learn. The residual network's sums
carry the signal and the gradient past every block; BatchNorm rescales each layer's output
to unit variance. Every step is a module of its own (the ReLUs and the sum too), so that
the explorer shows each as a layer.

K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016.
S. Ioffe, C. Szegedy. Batch Normalization: Accelerating Deep Network Training by Reducing
Internal Covariate Shift. ICML 2015.
X. Glorot, Y. Bengio. Understanding the difficulty of training deep feedforward neural
networks. AISTATS 2010.
"""

from __future__ import annotations

import torch
from torch import nn

from app.nets.layers import ResidualAdd

WIDTH = 16  # channels of every convolution (ResNet's first stage on CIFAR-10)
MIN_DEPTH = 4  # the stem, one block, the dense layer


def blocks_for(depth: int) -> int:
    """How many two-convolution blocks a network of ``depth`` weighted layers has."""
    if depth < MIN_DEPTH or depth % 2:
        raise ValueError(
            f"depth is {depth}; it counts the stem, two convolutions per block and the dense "
            f"layer, so it must be even and at least {MIN_DEPTH}"
        )
    return (depth - 2) // 2


class Block(nn.Module):
    """Two 3×3 convolutions at constant width; with ``residual``, plus the block's input."""

    def __init__(self, width: int, *, residual: bool, batchnorm: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1, bias=not batchnorm)
        self.bn1 = nn.BatchNorm2d(width) if batchnorm else None
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, padding=1, bias=not batchnorm)
        self.bn2 = nn.BatchNorm2d(width) if batchnorm else None
        self.add = ResidualAdd() if residual else None
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)  # (N, W, H, W)
        y = self.relu1(y if self.bn1 is None else self.bn1(y))
        y = self.conv2(y)
        y = y if self.bn2 is None else self.bn2(y)
        return self.relu2(y if self.add is None else self.add(y, x))


class Stem(nn.Module):
    """The first convolution (stride 2: 28×28 → 14×14), its BatchNorm and ReLU."""

    def __init__(self, width: int, *, batchnorm: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, stride=2, padding=1, bias=not batchnorm)
        self.bn = nn.BatchNorm2d(width) if batchnorm else None
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (N, W, 14, 14)
        return self.relu(y if self.bn is None else self.bn(y))


class DeepCNN(nn.Module):
    """A plain or residual CNN of ``depth`` weighted layers for 1×28×28 digits."""

    def __init__(
        self,
        *,
        depth: int = 20,
        residual: bool = False,
        batchnorm: bool = False,
        width: int = WIDTH,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.stem = Stem(width, batchnorm=batchnorm)
        self.blocks = nn.Sequential(
            *(
                Block(width, residual=residual, batchnorm=batchnorm)
                for _ in range(blocks_for(depth))
            )
        )
        self.pool = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(width * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) digits in [0, 1] → (N, num_classes) logits."""
        x = self.blocks(self.stem(x))  # (N, W, 14, 14)
        return self.fc(self.flatten(self.pool(x)))  # (N, W·7·7) → (N, classes)
