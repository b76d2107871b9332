"""Pictures with more than one thing in them, composed from the shipped samples, for the
detection page: a classifier names one thing per picture, a detector says where each is.

- ``cat-and-espresso``: scikit-image's Chelsea (the cat's face, cropped) on the left and its
  coffee photo (the cup, cropped) on the right, each 224×224: 448×224 pixels.
- ``digits``: three MNIST digits (2, 7, 4) on a black 40×120 canvas, light on dark.

:func:`scene_png` gives a scene as PNG bytes (the page uploads it as any image).
"""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image

from app.images.samples import get_sample

#: The scenes, by name, with what they show.
SCENES = {
    "cat-and-espresso": "Chelsea the cat (left) and an espresso cup (right), 448×224",
    "digits": "the MNIST digits 2, 7 and 4 on a black canvas, 120×40",
}
#: Where each sample is cropped for the cat-and-espresso scene (left, top, right, bottom).
CAT_BOX = (40, 0, 340, 300)
CUP_BOX = (60, 0, 460, 400)
PHOTO_SIDE = 224
DIGITS = ((2, 4, 6), (7, 46, 4), (4, 88, 8))  # (digit, left, top) on the canvas
CANVAS = (120, 40)


def _open(name: str, mode: str) -> Image.Image:
    with Image.open(get_sample(name).path) as file:
        return file.convert(mode)


def cat_and_espresso() -> Image.Image:
    """The cat on the left, the cup on the right (see the module's docstring)."""
    side = (PHOTO_SIDE, PHOTO_SIDE)
    cat = _open("chelsea", "RGB").resize(side, Image.Resampling.BICUBIC, box=CAT_BOX)
    cup = _open("coffee", "RGB").resize(side, Image.Resampling.BICUBIC, box=CUP_BOX)
    scene = Image.new("RGB", (2 * PHOTO_SIDE, PHOTO_SIDE))
    scene.paste(cat, (0, 0))
    scene.paste(cup, (PHOTO_SIDE, 0))
    return scene


def digits() -> Image.Image:
    """Three 28×28 MNIST digits on a black canvas."""
    scene = Image.new("L", CANVAS, 0)
    for digit, left, top in DIGITS:
        scene.paste(_open(f"mnist-{digit}", "L"), (left, top))
    return scene


@lru_cache(maxsize=len(SCENES))
def scene_png(name: str) -> bytes:
    """The scene ``name`` as PNG bytes; ``ValueError`` naming the scenes otherwise."""
    if name not in SCENES:
        raise ValueError(f"unknown scene {name!r}: the scenes are {', '.join(SCENES)}")
    picture = cat_and_espresso() if name == "cat-and-espresso" else digits()
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
