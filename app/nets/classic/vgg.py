"""VGG-16 (Simonyan and Zisserman, ICLR 2015, configuration D), as torchvision builds it:
thirteen 3×3 convolutions (padding 1) in five blocks, each block ending in a 2×2 max pool
that halves the maps, then an adaptive 7×7 average pool and three dense layers.
138,357,544 parameters, 124 million of them in the dense layers; 15.47 G multiply-adds at
224×224, nearly all in the convolutions.

Layer names follow the paper's (conv1_1 … conv5_3, fc6 … fc8); initialisation follows
torchvision's (He normal for convolutions, N(0, 0.01) for dense layers, zero biases).
"""

from __future__ import annotations

import torch
from torch import nn

#: Output channels of each block's convolutions (configuration D: 2, 2, 3, 3, 3 layers).
VGG16_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)


class VGG(nn.Module):
    def __init__(
        self,
        blocks: tuple[tuple[int, ...], ...] = VGG16_BLOCKS,
        num_classes: int = 1000,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = nn.Sequential()
        channels = 3
        for b, widths in enumerate(blocks, start=1):
            block = nn.Sequential()
            for i, width in enumerate(widths, start=1):
                block.add_module(f"conv{b}_{i}", nn.Conv2d(channels, width, 3, padding=1))
                block.add_module(f"relu{b}_{i}", nn.ReLU())
                channels = width
            block.add_module(f"pool{b}", nn.MaxPool2d(2, stride=2))
            self.features.add_module(f"block{b}", block)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential()
        dense: list[tuple[str, nn.Module]] = [
            ("fc6", nn.Linear(channels * 7 * 7, 4096)),
            ("relu6", nn.ReLU()),
            ("drop6", nn.Dropout(dropout)),
            ("fc7", nn.Linear(4096, 4096)),
            ("relu7", nn.ReLU()),
            ("drop7", nn.Dropout(dropout)),
            ("fc8", nn.Linear(4096, num_classes)),
        ]
        for name, layer in dense:
            self.classifier.add_module(name, layer)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))


def vgg16() -> VGG:
    return VGG(VGG16_BLOCKS)
