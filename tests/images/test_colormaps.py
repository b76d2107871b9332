"""Colour scales on the server: the pages' stops, interpolated as Plotly does."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from app.images import colormaps


def test_palette_runs_through_the_stops():
    table = colormaps.palette(colormaps.DIVERGING)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert tuple(table[0]) == (0x25, 0x63, 0xEB) and tuple(table[255]) == (0xDC, 0x26, 0x26)
    assert tuple(colormaps.palette(colormaps.HOT)[0]) == (0, 0, 0)
    halfway = colormaps.palette(((0.0, "#000000"), (1.0, "#ffffff")))[128]
    assert tuple(halfway) == (128, 128, 128)


def test_levels_clip_outside_the_range():
    values = torch.tensor([[-5.0, -1.0, 0.0, 1.0, 5.0]])
    assert colormaps.levels(values, -1.0, 1.0).tolist() == [[0, 0, 128, 255, 255]]
    assert colormaps.levels(torch.ones(2), 1.0, 1.0).tolist() == [0, 0]  # an empty range


def test_pictures():
    values = torch.linspace(-1, 1, 12).view(3, 4)
    rgb = colormaps.colorize(values, -1.0, 1.0, colormaps.DIVERGING)
    assert rgb.shape == (3, 3, 4) and rgb.dtype == torch.uint8
    indexed = np.asarray(
        Image.open(
            io.BytesIO(colormaps.png_indexed(values, -1.0, 1.0, colormaps.DIVERGING))
        ).convert("RGB")
    )
    np.testing.assert_array_equal(indexed, rgb.permute(1, 2, 0).numpy())
    alpha = torch.full((3, 4), 7, dtype=torch.uint8)
    rgba = Image.open(io.BytesIO(colormaps.png(rgb, alpha)))
    assert rgba.mode == "RGBA" and np.asarray(rgba)[..., 3].tolist() == alpha.tolist()
    assert colormaps.stops_list(colormaps.SEQUENTIAL) == [[0.0, "#ffffff"], [1.0, "#1d4ed8"]]
