"""ResNet-18 and ResNet-50 (He, Zhang, Ren and Sun, CVPR 2016), as torchvision builds them
(version 1.5: a bottleneck's stride is on its 3×3 convolution). A 7×7 stride-2 stem and a
max pool, four stages of residual blocks (basic: two 3×3; bottleneck: 1×1 reduce, 3×3,
1×1 expand ×4), each block's output the sum of its branch and its shortcut (a 1×1
convolution and BatchNorm where the shape changes), then a global average pool and one
dense layer. ResNet-18: 11,689,512 parameters, 1.81 G multiply-adds at 224×224;
ResNet-50: 25,557,032 and 4.09 G.

The sum is a module (:class:`~app.nets.layers.ResidualAdd`) and every ReLU is its own, so
each is a row of the architecture table; initialisation follows torchvision's (He normal
for convolutions, BatchNorm γ = 1, β = 0).
"""

from __future__ import annotations

import torch
from torch import nn

from app.nets.layers import ResidualAdd


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """A convolution without bias (the BatchNorm after it has one) and its BatchNorm."""
    conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
    return [conv, nn.BatchNorm2d(c_out)]


def shortcut(c_in: int, c_out: int, stride: int) -> nn.Sequential | None:
    """The projection of a block whose output differs in shape from its input."""
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(*conv_bn(c_in, c_out, 1, stride))


class BasicBlock(nn.Module):
    """3×3, 3×3, plus the shortcut (ResNet-18 and -34)."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, width, 3, stride)
        self.relu1 = nn.ReLU()
        self.conv2, self.bn2 = conv_bn(width, width, 3)
        self.downsample = shortcut(c_in, width, stride)
        self.add = ResidualAdd()
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu2(self.add(out, identity))


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (with the stride), 1×1 expand to 4× the width, plus the shortcut."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1, self.bn1 = conv_bn(c_in, width, 1)
        self.relu1 = nn.ReLU()
        self.conv2, self.bn2 = conv_bn(width, width, 3, stride)
        self.relu2 = nn.ReLU()
        self.conv3, self.bn3 = conv_bn(width, width * 4, 1)
        self.downsample = shortcut(c_in, width * 4, stride)
        self.add = ResidualAdd()
        self.relu3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn3(self.conv3(self.relu2(self.bn2(self.conv2(out)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu3(self.add(out, identity))


class ResNet(nn.Module):
    def __init__(
        self,
        block: type[BasicBlock | Bottleneck],
        depths: tuple[int, int, int, int],
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        conv, bn = conv_bn(3, 64, 7, stride=2)
        self.stem = nn.Sequential()
        for name, layer in (("conv1", conv), ("bn1", bn), ("relu", nn.ReLU()),
                            ("maxpool", nn.MaxPool2d(3, stride=2, padding=1))):  # fmt: skip
            self.stem.add_module(name, layer)
        channels = 64
        for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths, strict=True)):
            blocks = []
            for i in range(depth):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(block(channels, width, stride))
                channels = width * block.expansion
            self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))
        self.head = nn.Sequential()
        for name, layer in (("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                            ("fc", nn.Linear(channels, num_classes))):  # fmt: skip
            self.head.add_module(name, layer)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in ("layer1", "layer2", "layer3", "layer4"):
            x = self.get_submodule(stage)(x)
        return self.head(x)


def resnet18() -> ResNet:
    return ResNet(BasicBlock, (2, 2, 2, 2))


def resnet50() -> ResNet:
    return ResNet(Bottleneck, (3, 4, 6, 3))
