"""Scenes of several MNIST digits on a dark canvas, every pixel labelled with its digit or as
background: the segmentation data of the U-Net (:mod:`app.nets.unet`), generated here from
a seed, so nothing is downloaded and anyone gets the same scenes.

A scene is ``side``×``side`` (64×64): 2 to 4 digits of the project's split
(:func:`app.nets.mnist.split`; training scenes from the 4,000 training digits, held-out
scenes from the 1,000 held-out digits only), each drawn from its 28×28 field scaled by
0.8–1.4 (an ink box of 16 to 28 pixels), sometimes with its strokes thickened by one pixel
(a 3×3 dilation, as a thick pen draws), placed where its ink box overlaps the boxes already
placed by at most a sixth of the smaller one. The scene is the maximum of its digits. A
pixel is labelled with a digit where that digit's ink is at least ``ink`` (0.5) and
brighter than every other digit's there; every other pixel is background (class 0; digit
d is class d + 1, :data:`app.nets.unet.CLASSES`).

The held-out scenes come from a seed of their own (:data:`HELD_OUT_SEED`), whatever the
training seed, so every model is measured on the same scenes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F
from PIL import Image

from app.nets.mnist import Digits, split
from app.nets.preprocess import Preprocess, to_unit_tensor, unit_scale

HELD_OUT_SEED = 20150518  # U-Net's arXiv date: the held-out scenes never change
HELD_OUT_SCENES = 500
BACKGROUND = 0


@dataclass(frozen=True)
class SceneSettings:
    """How scenes are drawn (the defaults made the shipped model's data)."""

    side: int = 64
    min_digits: int = 2
    max_digits: int = 4
    min_scale: float = 0.8
    max_scale: float = 1.4
    thicken: float = 0.3  # chance that a digit's strokes are dilated by one pixel
    max_overlap: float = 1 / 6  # of the smaller ink box
    ink: float = 0.5  # a digit's pixel from this ink level up
    tries: int = 12  # positions tried per digit before it is left out


@dataclass(frozen=True)
class Scenes:
    """(N, 1, S, S) float32 pictures in [0, 1] and (N, S, S) int64 class maps."""

    images: torch.Tensor
    masks: torch.Tensor

    def __len__(self) -> int:
        return int(self.images.shape[0])


def _ink_box(digit: torch.Tensor) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), exclusive ends, of a (h, w) digit's nonzero pixels."""
    rows = torch.nonzero(digit.amax(dim=1) > 0).flatten()
    cols = torch.nonzero(digit.amax(dim=0) > 0).flatten()
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Area shared by two boxes over the smaller box's area."""
    h = min(a[2], b[2]) - max(a[0], b[0])
    w = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return max(h, 0) * max(w, 0) / max(smaller, 1)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def _randint(generator: torch.Generator, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, both included."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def make_scenes(
    digits: Digits,
    count: int,
    generator: torch.Generator,
    settings: SceneSettings = SceneSettings(),
) -> Scenes:
    """``count`` scenes of ``digits``, drawn with ``generator`` (the same seed, the same scenes)."""
    side = settings.side
    images = torch.zeros(count, 1, side, side)
    masks = torch.zeros(count, side, side, dtype=torch.int64)
    pictures = digits.images.float() / 255.0  # (N, 28, 28)
    for n in range(count):
        canvas, mask = images[n, 0], masks[n]
        owner = torch.zeros(side, side)  # the ink level of the digit that owns each pixel
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(_randint(generator, settings.min_digits, settings.max_digits)):
            index = _randint(generator, 0, len(digits) - 1)
            size = round(28 * _uniform(generator, settings.min_scale, settings.max_scale))
            digit = pictures[index][None, None]
            if float(torch.rand((), generator=generator)) < settings.thicken:
                digit = F.max_pool2d(digit, 3, stride=1, padding=1)
            digit = F.interpolate(digit, size=(size, size), mode="bilinear", antialias=True)[0, 0]
            digit = digit.clamp(0, 1)
            top0, left0, bottom0, right0 = _ink_box(digit)
            for _ in range(settings.tries):
                top = _randint(generator, -top0, side - bottom0)
                left = _randint(generator, -left0, side - right0)
                box = (top + top0, left + left0, top + bottom0, left + right0)
                if all(_overlap(box, other) <= settings.max_overlap for other in boxes):
                    break
            else:
                continue  # no room left for this digit
            boxes.append(box)
            # the part of the digit's field that lies on the canvas
            t, l_ = max(top, 0), max(left, 0)
            b, r = min(top + size, side), min(left + size, side)
            piece = digit[t - top : b - top, l_ - left : r - left]
            region = (slice(t, b), slice(l_, r))
            mine = (piece >= settings.ink) & (piece > owner[region])
            mask[region][mine] = int(digits.labels[index]) + 1
            owner[region] = torch.maximum(owner[region], piece)
            canvas[region] = torch.maximum(canvas[region], piece)
    return Scenes(images, masks)


@cache
def held_out_scenes(count: int = HELD_OUT_SCENES) -> Scenes:
    """The held-out scenes (of the 1,000 held-out digits only), the same for every model."""
    generator = torch.Generator().manual_seed(HELD_OUT_SEED)
    return make_scenes(split()[1], count, generator)


def scene_picture(image: Image.Image, side: int = 64) -> Image.Image:
    """A ``side``×``side`` ``L`` picture, light ink on dark: the image's central square
    shrunk by area averaging (a drawing or a photo of paper, dark on light, is inverted)."""
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    gray = image.convert("L")
    square = min(gray.size)
    left, top = (gray.width - square) // 2, (gray.height - square) // 2
    gray = gray.resize(
        (side, side), Image.Resampling.BOX, box=(left, top, left + square, top + square)
    )
    ink = to_unit_tensor(gray)[0]
    border = torch.cat((ink[0], ink[-1], ink[:, 0], ink[:, -1]))
    if float(border.mean()) > 0.5:  # dark ink on light paper: the scenes are light on dark
        gray = Image.eval(gray, lambda v: 255 - v)
    return gray


SCENE = Preprocess(
    "grayscale, light on dark (dark ink on light paper is inverted); the central square "
    "shrunk to 64×64 by area averaging; pixel values in [0, 1]",
    scene_picture,
    unit_scale,
)


def scene_png(scenes: Scenes, index: int) -> Image.Image:
    """Scene ``index`` as an ``L`` image (what ``static/samples/scene-*.png`` are)."""
    pixels = (scenes.images[index, 0] * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.numpy(), mode="L")


#: How many held-out scenes ship as samples (``static/samples/scene-1.png`` ...).
SAMPLE_SCENES = 3


def sample_scene_indices(count: int = SAMPLE_SCENES) -> list[int]:
    """The held-out scenes shipped as samples: the first ``count`` with three digits or more
    that are all different (a legend with three colours)."""
    scenes = held_out_scenes()
    found = []
    for i in range(len(scenes)):
        digits = scenes.masks[i].unique()
        if len(digits[digits != BACKGROUND]) >= 3:
            found.append(i)
        if len(found) == count:
            break
    return found
