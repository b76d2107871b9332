"""U-Net (Ronneberger, Fischer and Brox, MICCAI 2015), as in the paper's figure 1: a
572×572 gray image in, a 388×388 map of two classes out. The contracting path repeats
two unpadded 3×3 convolutions with ReLU and a 2×2 max pool (64, 128, 256, 512 channels),
the bottom has 1024; the expanding path repeats a 2×2 up-convolution that halves the
channels, the contracting path's map of that level cropped to the same size and
concatenated (the skip connection), and two 3×3 convolutions; a 1×1 convolution gives the
two classes. Dropout ends the contracting path, as in the paper. 31,030,658 parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from app.nets.classic.blocks import CenterCrop
from app.nets.unet import Concat

WIDTHS = (64, 128, 256, 512)


def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """Two unpadded 3×3 convolutions, each followed by ReLU (each takes 2 pixels off a side)."""
    block = nn.Sequential()
    for name, layer in (("conv1", nn.Conv2d(c_in, c_out, 3)), ("relu1", nn.ReLU()),
                        ("conv2", nn.Conv2d(c_out, c_out, 3)), ("relu2", nn.ReLU())):  # fmt: skip
        block.add_module(name, layer)
    return block


class Down(nn.Module):
    """One level of the contracting path: a 2×2 max pool (except at the top), two convs."""

    def __init__(self, c_in: int, c_out: int, pool: bool = True) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2, stride=2) if pool else None
        self.convs = double_conv(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x if self.pool is None else self.pool(x))


class Up(nn.Module):
    """One level of the expanding path: up-convolution, crop and concatenate the skip, two
    convolutions."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.upconv = nn.ConvTranspose2d(c_in, c_out, 2, stride=2)
        self.crop = CenterCrop()
        self.concat = Concat()
        self.convs = double_conv(c_out * 2, c_out)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = self.upconv(x)
        return self.convs(self.concat(self.crop(skip, up), up))


class UNet(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        dropout: float = 0.5,
        widths: tuple[int, int, int, int] = WIDTHS,
    ) -> None:
        super().__init__()
        w = widths
        self.down1 = Down(in_channels, w[0], pool=False)
        self.down2 = Down(w[0], w[1])
        self.down3 = Down(w[1], w[2])
        self.down4 = Down(w[2], w[3])
        self.bottom = Down(w[3], w[3] * 2)
        self.dropout = nn.Dropout(dropout)
        self.up4 = Up(w[3] * 2, w[3])
        self.up3 = Up(w[3], w[2])
        self.up2 = Up(w[2], w[1])
        self.up1 = Up(w[1], w[0])
        self.classes = nn.Conv2d(w[0], num_classes, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                # "a Gaussian distribution with a standard deviation of sqrt(2/N)" (section 3)
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.down1(x)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        s4 = self.down4(s3)
        x = self.dropout(self.bottom(s4))
        x = self.up4(x, s4)
        x = self.up3(x, s3)
        x = self.up2(x, s2)
        x = self.up1(x, s1)
        return self.classes(x)
