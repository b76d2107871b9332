"""Feature maps as palette PNGs: colour ranges, exact levels, paging and ordering."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.explain import featuremaps
from app.explain.featuremaps import ColorRange, maps_page, palette_png, vector
from app.nets.predict import LayerActivation
from tests.utils.tolerance import approx


def decode(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    image.load()
    return image


def test_the_colour_range_follows_heatmap_js():
    assert ColorRange.of(-2.0, 5.0) == ColorRange("diverging", -5.0, 5.0)
    assert ColorRange.of(-3.0, -1.0) == ColorRange("diverging", -3.0, 3.0)
    assert ColorRange.of(0.0, 6.0) == ColorRange("sequential", 0.0, 6.0)
    assert ColorRange.of(2.0, 6.0) == ColorRange("sequential", 0.0, 6.0)
    assert ColorRange.of(0.0, 0.0) == ColorRange("sequential", 0.0, 1.0)  # a blank map


def test_levels_map_the_range_onto_0_to_255():
    colors = ColorRange("diverging", -4.0, 4.0)
    levels = colors.levels(torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0, 9.0, -9.0]))
    assert levels.tolist() == [0, 64, 128, 191, 255, 255, 0]  # clamped beyond the ends


def test_palettes_interpolate_the_stops():
    diverging = np.frombuffer(featuremaps.PALETTES["diverging"], dtype=np.uint8).reshape(256, 3)
    assert diverging[0].tolist() == [0x25, 0x63, 0xEB]
    assert diverging[255].tolist() == [0xDC, 0x26, 0x26]
    assert diverging[127:129].min() >= 254  # 0 (level 127.5) is white
    sequential = np.frombuffer(featuremaps.PALETTES["sequential"], dtype=np.uint8).reshape(256, 3)
    assert sequential[0].tolist() == [255, 255, 255] and sequential[255].tolist() == [
        0x1D,
        0x4E,
        0xD8,
    ]


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_a_palette_png_decodes_to_the_very_levels(height, width, seed):
    levels = torch.randint(0, 256, (height, width), generator=torch.Generator().manual_seed(seed))
    image = Image.open(io.BytesIO(palette_png(levels.to(torch.uint8), "diverging")))
    assert image.mode == "P" and image.size == (width, height)
    assert np.array_equal(np.asarray(image), levels.numpy())
    assert bytes(image.getpalette()[: 256 * 3]) == featuremaps.PALETTES["diverging"]


def activation(values: torch.Tensor) -> LayerActivation:
    return LayerActivation.of("layer", values)


def test_a_page_of_maps_in_strength_order_with_their_values():
    gen = torch.Generator().manual_seed(0)
    scales = torch.tensor([0.1, 3.0, 1.0, 2.0, 0.5])[:, None, None]
    values = torch.randn(5, 6, 7, generator=gen) * scales  # (5, 6, 7)
    act = activation(values)
    page = maps_page(act, per_page=2)
    assert page["shape"] == [5, 6, 7] and page["pages"] == 3
    assert [m["channel"] for m in page["maps"]] == [1, 3]  # strongest first
    assert page["values"].shape == (2, 6, 7)
    assert torch.equal(torch.from_numpy(page["values"]), values[[1, 3]])  # copied
    colors = ColorRange.of(float(values.min()), float(values.max()))
    assert page["color"] == colors.to_dict()
    for m, channel in zip(page["maps"], [1, 3], strict=True):
        assert m["min"] == float(values[channel].min())
        assert m["max"] == float(values[channel].max())
        # a float32 mean of 6·7 |values|, summed in its own order
        assert m["strength"] == approx(float(values[channel].abs().mean()), terms=6 * 7 + 1)
        shown = np.asarray(decode(m["png"]))
        assert np.array_equal(shown, colors.levels(values[channel]).numpy())
    last = maps_page(act, per_page=2, page=2, order="index")
    assert [m["channel"] for m in last["maps"]] == [4]


def test_one_scale_per_map():
    values = torch.stack(
        [torch.linspace(0, 1, 16).view(4, 4), torch.linspace(-8, 2, 16).view(4, 4)]
    )
    page = maps_page(activation(values), order="index", scale="map")
    first, second = page["maps"]
    assert first["color"] == {"kind": "sequential", "zmin": 0.0, "zmax": 1.0}
    assert second["color"] == {"kind": "diverging", "zmin": -8.0, "zmax": 8.0}
    assert np.asarray(decode(first["png"])).max() == 255  # each map uses its whole scale


def test_large_pages_carry_pictures_only():
    values = torch.zeros(16, 32, 32)
    page = maps_page(activation(values), per_page=16)
    assert "values" not in page  # 16 × 1024 numbers > MAX_VALUES
    assert len(page["maps"]) == 16


def test_bad_pages_are_refused():
    act = activation(torch.zeros(5, 3, 3))
    with pytest.raises(ValueError, match="page must be from 0 to 2 for 5 maps"):
        maps_page(act, per_page=2, page=3)
    with pytest.raises(ValueError, match="per_page must be from 1 to 64"):
        maps_page(act, per_page=0)
    with pytest.raises(ValueError, match="per_page must be from 1 to 64"):
        maps_page(act, per_page=65)


def test_a_vector_is_sent_as_numbers():
    values = torch.tensor([0.5, -2.0, 1.0])
    shown = vector(activation(values))
    assert shown["kind"] == "vector" and shown["shape"] == [3]
    assert shown["values"].tolist() == [0.5, -2.0, 1.0]
    assert shown["order"].tolist() == [1, 2, 0]
    assert vector(activation(torch.ones(4, 1, 1)))["values"].tolist() == [1.0] * 4
    assert featuremaps.is_map_layer((4, 1, 1)) is False and featuremaps.is_map_layer((4, 2, 1))
