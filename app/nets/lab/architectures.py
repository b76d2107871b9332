"""The networks the training lab trains from scratch: the zoo's two digit networks (LeNet-5,
SimpleCNN) and the deep plain or residual CNN of a chosen depth (``app.nets.deep_cnn``),
each with or without BatchNorm (Ioffe and Szegedy 2015).

LeNet-5 and SimpleCNN with BatchNorm are the zoo's classes with a BatchNorm after each
convolution, before its activation (``conv1 → bn1 → tanh1``); without it they are the zoo's
classes exactly, so a lab run of LeNet-5 is the network ``convscope train lenet5`` trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from app.nets.deep_cnn import WIDTH, DeepCNN, blocks_for
from app.nets.lenet import LeNet5
from app.nets.preprocess import LENET, MNIST, Preprocess
from app.nets.simple_cnn import SimpleCNN

DEEP = "deep"
#: The networks the lab offers, by the name a request gives.
NETWORKS = ("lenet5", "simple-cnn", DEEP)

HE_2016 = (
    "K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016."
)
IOFFE_2015 = (
    "S. Ioffe, C. Szegedy. Batch Normalization: Accelerating Deep Network Training by "
    "Reducing Internal Covariate Shift. ICML 2015."
)
LECUN_1998 = (
    "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to document "
    "recognition. Proceedings of the IEEE, 1998."
)


class LeNet5BN(LeNet5):
    """LeNet-5 with a BatchNorm after each of its three convolutions."""

    def __init__(self, *, num_classes: int = 10) -> None:
        super().__init__(num_classes=num_classes)
        self.bn1 = nn.BatchNorm2d(6)
        self.bn2 = nn.BatchNorm2d(16)
        self.bn3 = nn.BatchNorm2d(120)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, 32) images → (N, num_classes) logits."""
        x = self.pool1(self.tanh1(self.bn1(self.conv1(x))))  # (N, 6, 14, 14)
        x = self.pool2(self.tanh2(self.bn2(self.conv2(x))))  # (N, 16, 5, 5)
        x = self.flatten(self.tanh3(self.bn3(self.conv3(x))))  # (N, 120)
        return self.fc2(self.tanh4(self.fc1(x)))


class SimpleCNNBN(SimpleCNN):
    """SimpleCNN with a BatchNorm after each of its two convolutions."""

    def __init__(self, *, num_classes: int = 10) -> None:
        super().__init__(num_classes=num_classes)
        self.bn1 = nn.BatchNorm2d(6)
        self.bn2 = nn.BatchNorm2d(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) images → (N, num_classes) logits."""
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))  # (N, 6, 14, 14)
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))  # (N, 16, 7, 7)
        x = self.relu3(self.fc1(self.flatten(x)))
        return self.fc3(self.relu4(self.fc2(x)))


@dataclass(frozen=True)
class Architecture:
    """Which network a run trains: ``network`` (one of :data:`NETWORKS`), and for the deep
    one its ``depth`` and whether it has ``residual`` connections; ``batchnorm`` for all."""

    network: str
    batchnorm: bool = False
    depth: int | None = None  # the deep network's weighted layers
    residual: bool = False

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network is {self.network!r}; the lab trains {', '.join(NETWORKS)}")
        if self.network == DEEP:
            if self.depth is None:
                raise ValueError("the deep network needs a depth")
            blocks_for(self.depth)
        elif self.depth is not None or self.residual:
            raise ValueError(
                f"depth and residual are settings of the deep network; {self.title} has a "
                "fixed architecture"
            )

    @property
    def builder(self) -> Callable[[], nn.Module]:
        """A function that makes the untrained network (PyTorch's default initialisation,
        from torch's global random generator)."""
        if self.network == "lenet5":
            return LeNet5BN if self.batchnorm else LeNet5
        if self.network == "simple-cnn":
            return SimpleCNNBN if self.batchnorm else SimpleCNN
        depth, residual, batchnorm = self.depth, self.residual, self.batchnorm
        assert depth is not None
        return lambda: DeepCNN(depth=depth, residual=residual, batchnorm=batchnorm)

    @property
    def preprocess(self) -> Preprocess:
        """How a digit becomes this network's input: LeNet-5's 32×32, else MNIST's 28×28."""
        return LENET if self.network == "lenet5" else MNIST

    @property
    def side(self) -> int:
        return 32 if self.network == "lenet5" else 28

    @property
    def title(self) -> str:
        """``LeNet-5``, ``SimpleCNN + BatchNorm``, ``Residual CNN, 20 layers``."""
        if self.network == "lenet5":
            base = "LeNet-5"
        elif self.network == "simple-cnn":
            base = "SimpleCNN"
        else:
            base = f"{'Residual' if self.residual else 'Plain'} CNN, {self.depth} layers"
        return f"{base} + BatchNorm" if self.batchnorm else base

    @property
    def paper(self) -> str:
        base = HE_2016 if self.network == DEEP else LECUN_1998
        return f"{base} {IOFFE_2015}" if self.batchnorm else base

    @property
    def description(self) -> str:
        """A sentence or two for a person."""
        if self.network == DEEP:
            blocks = blocks_for(self.depth or 0)
            kind = (
                "each block's input added to its output (a residual connection)"
                if self.residual
                else "no shortcuts (a plain network)"
            )
            text = (
                f"A stride-2 3×3 convolution, {blocks} blocks of two 3×3 convolutions with "
                f"{WIDTH} channels and {kind}, 2×2 average pooling and a dense layer: "
                f"{self.depth} layers with weights."
            )
        elif self.network == "lenet5":
            text = (
                "LeNet-5 as in the lecture notes: three 5×5 convolutions with tanh and "
                "average pooling, two dense layers."
            )
        else:
            text = (
                "The lecture's SimpleCNN: two 3×3 convolutions with ReLU and max pooling, "
                "three dense layers."
            )
        if self.batchnorm:
            text += " BatchNorm after every convolution."
        return text
