"""The sample images shipped in ``static/samples`` (see CREDITS.md there), as small tensors.

Pages that need "a kernel applied to a real image" or "a digit" read them here, shrunk so
that every pixel can still be drawn as a cell: values in [0, 1], float64.
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

SAMPLES_DIR = ROOT / "static" / "samples"


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    file: str

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / self.file


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in [
        Sample("chelsea", "Chelsea the cat", "chelsea.png"),
        Sample("coffee", "Coffee cup", "coffee.png"),
        Sample("astronaut", "Astronaut", "astronaut.png"),
        Sample("rocket", "Rocket launch", "rocket.jpg"),
        Sample("camera", "Cameraman", "camera.png"),
        *(Sample(f"digit-{d}", f"Handwritten {d} (MNIST)", f"mnist-{d}.png") for d in range(10)),
    ]
}


def get_sample(name: str) -> Sample:
    """A sample by name; ``ValueError`` listing the known names otherwise."""
    try:
        return SAMPLES[name]
    except KeyError:
        raise ValueError(f"unknown image {brief(name)}; known: {', '.join(SAMPLES)}") from None


@lru_cache(maxsize=64)
def load_sample(name: str, max_side: int, mode: str = "L") -> torch.Tensor:
    """(C, H, W) in [0, 1], the long side at most ``max_side`` (C = 1 for "L", 3 for "RGB").

    Shrunk with Pillow's box filter (each pixel the mean of the pixels it covers). Cached:
    the files never change while the app runs. Callers must not modify the tensor.
    """
    sample = get_sample(name)
    with Image.open(sample.path) as image:
        image = image.convert(mode)
        if max(image.size) > max_side:
            scale = max_side / max(image.size)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.BOX)
        pixels = np.asarray(image, dtype=np.float64) / 255.0
    tensor = torch.from_numpy(pixels)
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()
