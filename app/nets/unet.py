"""A small U-Net (Ronneberger, Fischer and Brox 2015) that labels every pixel of a scene of
MNIST digits with its digit or background, trained by convscope (``convscope train
unet-digits``, :mod:`app.nets.segmentation_training`).

    input 1×64×64
    encoder 1     conv 3×3 pad 1, BN, ReLU (×2)               → 16×64×64  ─┐ skip 1
    pool 2                                                     → 16×32×32   │
    encoder 2     conv 3×3 pad 1, BN, ReLU (×2)               → 32×32×32  ─┐│ skip 2
    pool 2                                                     → 32×16×16   ││
    bottleneck    conv 3×3 pad 1, BN, ReLU (×2)               → 64×16×16   ││
    up 2          transposed conv 2×2 stride 2                 → 32×32×32   ││
    concat        [up 2, skip 2]                               → 64×32×32 ◄─┘│
    decoder 2     conv 3×3 pad 1, BN, ReLU (×2)               → 32×32×32    │
    up 1          transposed conv 2×2 stride 2                 → 16×64×64    │
    concat        [up 1, skip 1]                               → 32×64×64 ◄──┘
    decoder 1     conv 3×3 pad 1, BN, ReLU (×2)               → 16×64×64
    head          conv 1×1                                     → 11×64×64 logits

The paper's shape at a lecture's scale: two levels instead of four, padded convolutions (so
the output is the input's size and no cropping is needed before a concatenation), BatchNorm
after each convolution. Every step is a module with a name (``enc1.conv1``, ``up2``,
``skip2``, ``dec2.relu2``...), so that it has a row in the architecture table and a feature
map the explorer can show; :data:`PARTS` says which part of the U-shape each belongs to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from app.nets.registry import ModelSpec

#: The classes, in the order of the output channels: background, then the ten digits.
CLASSES = ("background", *(str(d) for d in range(10)))
SIDE = 64  # the scenes' side, in pixels
WIDTHS = (16, 32, 64)  # channels of encoder 1, encoder 2 and the bottleneck


class Concat(nn.Module):
    """A skip connection: the decoder's maps and the encoder's, one after the other along
    the channels (``torch.cat`` as a module, so that it is a row of the architecture table)."""

    def forward(self, *maps: torch.Tensor) -> torch.Tensor:
        return torch.cat(maps, dim=1)


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions (padding 1), each followed by BatchNorm and ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu2 = nn.ReLU()


class UNetDigits(nn.Module):
    """Scene (N, 1, H, W) with H and W multiples of 4 → (N, 11, H, W) logits per pixel."""

    def __init__(self, *, num_classes: int = len(CLASSES), widths: tuple[int, ...] = WIDTHS):
        super().__init__()
        c1, c2, c3 = widths
        self.enc1 = DoubleConv(1, c1)
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = DoubleConv(c1, c2)
        self.pool2 = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(c2, c3)
        self.up2 = nn.ConvTranspose2d(c3, c2, kernel_size=2, stride=2)
        self.skip2 = Concat()
        self.dec2 = DoubleConv(2 * c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, kernel_size=2, stride=2)
        self.skip1 = Concat()
        self.dec1 = DoubleConv(2 * c1, c1)
        self.head = nn.Conv2d(c1, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)  # (N, 16, 64, 64)
        e2 = self.enc2(self.pool1(e1))  # (N, 32, 32, 32)
        b = self.bottleneck(self.pool2(e2))  # (N, 64, 16, 16)
        d2 = self.dec2(self.skip2(self.up2(b), e2))  # (N, 32, 32, 32)
        d1 = self.dec1(self.skip1(self.up1(d2), e1))  # (N, 16, 64, 64)
        return self.head(d1)  # (N, 11, 64, 64)


#: The part of the U each top-level module belongs to, in the order data flows.
PARTS: dict[str, str] = {
    "enc1": "encoder",
    "pool1": "encoder",
    "enc2": "encoder",
    "pool2": "encoder",
    "bottleneck": "bottleneck",
    "up2": "decoder",
    "skip2": "skip",
    "dec2": "decoder",
    "up1": "decoder",
    "skip1": "skip",
    "dec1": "decoder",
    "head": "head",
}
#: Each concatenation, and the encoder output it brings across the U.
SKIPS: dict[str, str] = {"skip2": "enc2.relu2", "skip1": "enc1.relu2"}


def part_of(layer: str) -> str:
    """``encoder``, ``bottleneck``, ``decoder``, ``skip`` or ``head`` for a layer's name
    (``dec2.conv1`` → decoder)."""
    return PARTS[layer.split(".")[0]]


def unet_spec() -> ModelSpec:
    """The zoo's entry of the U-Net trained by convscope (``models/unet-digits.*``)."""
    from app.nets.registry import MODEL_DIR, ModelSpec
    from app.nets.scenes import HELD_OUT_SCENES, SCENE
    from app.nets.weights import Weights

    return ModelSpec(
        name="unet-digits",
        title="U-Net for digits",
        description=(
            "A small U-Net that labels every pixel of a scene of handwritten digits with its "
            "digit or as background: an encoder of two levels (3×3 convolutions, max "
            "pooling), a bottleneck, a decoder that doubles the grid back with transposed "
            "convolutions, and a skip connection across each level. Trained by convscope "
            "on scenes of MNIST digits."
        ),
        paper=(
            "O. Ronneberger, P. Fischer, T. Brox. U-Net: Convolutional Networks for "
            "Biomedical Image Segmentation. MICCAI 2015."
        ),
        builder=UNetDigits,
        weights=Weights.safetensors(
            MODEL_DIR / "unet-digits.safetensors",
            source="trained by convscope on scenes of 4,000 MNIST digits "
            "(`convscope train unet-digits`); see models/unet-digits.md",
            accuracy_on=f"the pixels of {HELD_OUT_SCENES} held-out scenes of the 1,000 held-out "
            "digits (pixel accuracy; mean IoU on the model card)",
        ),
        labels=CLASSES,
        preprocess=SCENE,
        input_shape=(1, SIDE, SIDE),
        samples=tuple(f"scene-{i}.png" for i in range(1, 4)),
    )
