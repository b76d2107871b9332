"""Preprocessing: a PIL image → the tensor a network takes, the same in training and inference.

Each :class:`Preprocess` has two steps so that a page can show what the network sees:
``picture(image)`` is the geometry (crop, centre, resize: a PIL image of the input size) and
``scale(unit)`` turns pixel values in [0, 1] into the network's input range.

- MNIST networks get digits normalised the way MNIST's were (LeCun et al., 1998; the MNIST
  page): the digit's bounding box scaled to fit 20×20 keeping its aspect ratio, then placed
  in a 28×28 field so that its centre of mass is at the centre. Light ink on a dark
  background; a dark-on-light image (a pen drawing, a photo of paper) is inverted first.
  Digits from MNIST itself come out unchanged (they already are 20×20 and centred), so a
  drawing and a test digit go through the very same steps.
- LeNet-5 takes 32×32: the 28×28 field is extended by 2 background pixels on each side, and
  values are scaled so that the background is −0.1 and full ink 1.175, as in the paper
  (mean about 0, variance about 1).
- EfficientNet-Lite0: the central square of the photo (its whole shorter side), resized to
  224×224 (bicubic), values ``(v − 127) / 128`` for v in 0…255, TensorFlow's constants for
  the Lite models (inputs in [−1, 1]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from PIL import Image

MNIST_SIZE = 28
MNIST_BOX = 20  # a digit's bounding box is scaled to fit 20×20
MNIST_CENTRE = 14.0  # where MNIST's centres of mass are (row, column), measured on the data


def to_unit_tensor(picture: Image.Image) -> torch.Tensor:
    """(C, H, W) float32 in [0, 1] from an ``L`` or ``RGB`` image."""
    if picture.mode not in {"L", "RGB"}:
        raise ValueError(f"expected a grayscale or RGB picture, not mode {picture.mode}")
    channels = 1 if picture.mode == "L" else 3
    data = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8)
    pixels = data.view(picture.height, picture.width, channels)  # (H, W, C)
    return pixels.permute(2, 0, 1).float() / 255.0


def _grayscale(image: Image.Image) -> Image.Image:
    """``L`` mode; transparent pixels count as white paper."""
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return image.convert("L")


def mnist_digit(image: Image.Image) -> Image.Image:
    """A 28×28 ``L`` digit normalised as MNIST's: 20×20 box, centre of mass at the centre."""
    gray = _grayscale(image)
    ink = to_unit_tensor(gray)[0]  # (H, W)
    border = torch.cat((ink[0], ink[-1], ink[:, 0], ink[:, -1]))
    if border.mean() > 0.5:  # dark ink on light paper: MNIST digits are light on dark
        ink = 1.0 - ink
    rows = torch.nonzero(ink.amax(dim=1) > 0).flatten()
    cols = torch.nonzero(ink.amax(dim=0) > 0).flatten()
    if rows.numel() == 0:
        raise ValueError("the image is empty: there is no digit in it (draw one)")
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # the bounding box
    digit = Image.fromarray((ink * 255).round().to(torch.uint8).numpy(), mode="L")
    height, width = ink.shape
    if max(height, width) != MNIST_BOX:
        factor = MNIST_BOX / max(height, width)
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        digit = digit.resize(size, Image.Resampling.LANCZOS)
    mass = to_unit_tensor(digit)[0]  # (h, w), h and w ≤ 20
    total = mass.sum()
    if total == 0:
        raise ValueError("the image is empty: there is no digit in it (draw one)")
    r = (mass.sum(dim=1) * torch.arange(mass.shape[0])).sum() / total
    c = (mass.sum(dim=0) * torch.arange(mass.shape[1])).sum() / total
    top = min(max(round(MNIST_CENTRE - float(r)), 0), MNIST_SIZE - mass.shape[0])
    left = min(max(round(MNIST_CENTRE - float(c)), 0), MNIST_SIZE - mass.shape[1])
    field = Image.new("L", (MNIST_SIZE, MNIST_SIZE), 0)
    field.paste(digit, (left, top))
    return field


def lenet_digit(image: Image.Image) -> Image.Image:
    """An MNIST digit extended to 32×32 with background pixels, as LeNet-5 takes it."""
    field = Image.new("L", (MNIST_SIZE + 4, MNIST_SIZE + 4), 0)
    field.paste(mnist_digit(image), (2, 2))
    return field


def centre_square(image: Image.Image, size: int) -> Image.Image:
    """The central square of an RGB photo (its whole shorter side), resized to size×size."""
    rgb = image.convert("RGB")
    side = min(rgb.width, rgb.height)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    box = (left, top, left + side, top + side)
    return rgb.resize((size, size), Image.Resampling.BICUBIC, box=box)


def lecun_scale(unit: torch.Tensor) -> torch.Tensor:
    """Background (0) → −0.1, full ink (1) → 1.175 (LeCun et al., 1998, section II.A)."""
    return unit * 1.275 - 0.1


def inception_scale(unit: torch.Tensor) -> torch.Tensor:
    """``(v − 127) / 128`` for v in 0…255: about [−1, 1], the EfficientNet-Lite inputs."""
    return (unit * 255.0 - 127.0) / 128.0


def unit_scale(unit: torch.Tensor) -> torch.Tensor:
    """Pixel values as they are, in [0, 1]."""
    return unit


@dataclass(frozen=True)
class Preprocess:
    """PIL image → (C, H, W) float32 input, in two steps: geometry, then value scaling."""

    description: str
    picture: Callable[[Image.Image], Image.Image]  # → the picture the network sees
    scale: Callable[[torch.Tensor], torch.Tensor]  # (C, H, W) in [0, 1] → network input

    def tensor(self, picture: Image.Image) -> torch.Tensor:
        """The input tensor for a picture already of the input size (``picture(image)``)."""
        return self.scale(to_unit_tensor(picture))

    def __call__(self, image: Image.Image) -> torch.Tensor:
        return self.tensor(self.picture(image))


MNIST = Preprocess(
    "grayscale, light on dark; the digit scaled to fit 20×20 and centred by its centre of "
    "mass in 28×28 (as MNIST); pixel values in [0, 1]",
    mnist_digit,
    unit_scale,
)
LENET = Preprocess(
    "grayscale, light on dark; the digit scaled to fit 20×20 and centred by its centre of "
    "mass in 28×28 (as MNIST), extended to 32×32 with background; background −0.1, ink 1.175",
    lenet_digit,
    lecun_scale,
)
IMAGENET_LITE = Preprocess(
    "RGB; the central square, resized to 224×224 (bicubic); values (v − 127) / 128",
    lambda image: centre_square(image, 224),
    inception_scale,
)
