"""AlexNet (Krizhevsky, Sutskever and Hinton, NeurIPS 2012), as torchvision builds it: the
single-tower variant of Krizhevsky's "One weird trick" (2014), with 64-192-384-256-256
channels, max pooling 3×3 stride 2 and an adaptive 6×6 average pool before three dense
layers. 61,100,840 parameters; 0.71 G multiply-adds at 224×224.

Layer names follow the paper (conv1…conv5, fc6…fc8) so that a lecture's slide and the
table agree.
"""

from __future__ import annotations

import torch
from torch import nn


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential()
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", nn.Conv2d(3, 64, 11, stride=4, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(3, stride=2)),
            ("conv2", nn.Conv2d(64, 192, 5, padding=2)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(3, stride=2)),
            ("conv3", nn.Conv2d(192, 384, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 256, 3, padding=1)),
            ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(256, 256, 3, padding=1)),
            ("relu5", nn.ReLU()),
            ("pool5", nn.MaxPool2d(3, stride=2)),
        ]
        for name, layer in layers:
            self.features.add_module(name, layer)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential()
        dense: list[tuple[str, nn.Module]] = [
            ("drop6", nn.Dropout(dropout)),
            ("fc6", nn.Linear(256 * 6 * 6, 4096)),
            ("relu6", nn.ReLU()),
            ("drop7", nn.Dropout(dropout)),
            ("fc7", nn.Linear(4096, 4096)),
            ("relu7", nn.ReLU()),
            ("fc8", nn.Linear(4096, num_classes)),
        ]
        for name, layer in dense:
            self.classifier.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flatten(self.avgpool(self.features(x))))
