"""The sample images that ship in static/samples/, opened as PIL images."""

from __future__ import annotations

from PIL import Image

from app.settings import ROOT

SAMPLES = ROOT / "static" / "samples"


def sample(name: str) -> Image.Image:
    """``static/samples/<name>``, fully read (the file is closed)."""
    with Image.open(SAMPLES / name) as image:
        image.load()
        return image
