"""The viewer's colour scheme reaches the pictures the server colours (issue 14): a layer's
feature maps, a filter gallery and one filter's map, asked for with ``colors=safe``, are
painted with the colour-blind-safe maps of ``app.images.colormaps`` (pixel for pixel, from
the values or weights they show), the standard scheme stays the default, and a scheme the
server does not have is a 422 naming both."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from app.explain import featuremaps
from app.explain.filters import gallery
from app.images import colormaps
from app.nets.predict import LayerActivation
from app.nets.registry import get_model
from tests.web.api.test_filters import feature_map

L = "/api/models/lenet5"
MAPS = f"{L}/layers/conv2/activations?image=sample-mnist-3&per_page=4"
CHOICES = "Input should be 'standard' or 'safe'"


def rgb(url_or_bytes: str | bytes) -> np.ndarray:
    """(H, W, 3) uint8 of a PNG, or of a ``data:`` URL of one."""
    data = url_or_bytes
    if isinstance(data, str):
        assert data.startswith("data:image/png;base64,")
        data = base64.b64decode(data.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def painted(values: np.ndarray, color: dict, scheme: str) -> np.ndarray:
    """(H, W, 3) ``values`` on ``color``'s scale (kind, zmin, zmax) in ``scheme``, by
    app.images.colormaps."""
    stops = colormaps.stops_of(scheme, color["kind"])
    tensor = torch.from_numpy(np.asarray(values, dtype=np.float32))
    return colormaps.colorize(tensor, color["zmin"], color["zmax"], stops).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("scheme", ["safe", "standard"])
def test_feature_maps_are_painted_in_the_chosen_scheme(client, scheme):
    data = client.get(f"{MAPS}&colors={scheme}").json()
    assert data["stops"] == {
        kind: [list(stop) for stop in colormaps.stops_of(scheme, kind)]
        for kind in ("diverging", "sequential")
    }
    for shown, values in zip(data["maps"], data["values"], strict=True):
        assert np.array_equal(rgb(shown["png"]), painted(values, shown["color"], scheme))


def test_the_standard_scheme_is_the_default_and_each_scheme_its_own_answer(client):
    """Answers are kept by what they depend on: the scheme is part of the key, so the safe
    pictures are not the cached standard ones (nor the other way round)."""
    safe = client.get(f"{MAPS}&colors=safe").json()
    default = client.get(MAPS).json()
    standard = client.get(f"{MAPS}&colors=standard").json()
    assert default["maps"] == standard["maps"] and default["stops"] == standard["stops"]
    for a, b in zip(standard["maps"], safe["maps"], strict=True):
        assert a["color"] == b["color"]  # the same values and range ...
        assert not np.array_equal(rgb(a["png"]), rgb(b["png"]))  # ... other colours


def test_a_page_of_pictures_only_is_in_the_safe_palette(client):
    """A wide layer's page has no numbers: its palette PNGs carry the safe scheme's table."""
    url = (
        "/api/models/efficientnet-lite0/layers/blocks.1.expand.act/activations"
        "?image=sample-chelsea&per_page=2&colors=safe"
    )
    data = client.get(url).json()
    assert "values" not in data
    for shown in data["maps"]:
        image = Image.open(io.BytesIO(base64.b64decode(shown["png"].split(",", 1)[1])))
        table = np.asarray(image.getpalette()[: 256 * 3], dtype=np.uint8).reshape(256, 3)
        expected = colormaps.palette(colormaps.stops_of("safe", shown["color"]["kind"]))
        assert np.array_equal(table, expected)


def test_a_gallery_is_painted_in_the_chosen_scheme(client):
    """LeNet-5's conv2 (one row per filter, one column per input channel): every tile is the
    filter's weights over the layer's limit on the safe diverging map."""
    layout = client.get(f"{L}/filters/conv2?colors=safe").json()
    assert layout["png"].endswith("&colors=safe")
    assert layout["colorscale"] == colormaps.stops_list(colormaps.SAFE_DIVERGING)
    atlas = rgb(client.get(layout["png"]).content)
    weights = get_model("lenet5").conv2.weight.detach().float()  # (16, 6, 5, 5)
    kh, kw = layout["tile"]
    gap = layout["gap"]
    for row, index in enumerate(layout["order"]):
        for channel in range(layout["columns"]):
            top, left = row * (kh + gap), channel * (kw + gap)
            tile = atlas[top : top + kh, left : left + kw]
            scaled = weights[index, channel] / layout["limit"]
            stops = colormaps.SAFE_DIVERGING
            expected = colormaps.colorize(scaled, -1.0, 1.0, stops).permute(1, 2, 0).numpy()
            assert np.array_equal(tile, expected), (index, channel)
    standard = rgb(client.get(f"{L}/filters/conv2/gallery.png").content)
    assert standard.shape == atlas.shape and not np.array_equal(standard, atlas)


def test_one_filters_map_is_painted_in_the_chosen_scheme(client):
    form = {"image_id": "sample-mnist-3"}
    data = feature_map(client, "lenet5", "conv1", 2, **form).json()
    safe = client.post(
        f"{L}/filters/conv1/2/feature-map?colors=safe", files={"image_id": (None, "sample-mnist-3")}
    ).json()
    assert data["values"] == safe["values"] and data["color"] == safe["color"]
    assert safe["stops"]["diverging"] == [list(s) for s in colormaps.SAFE_DIVERGING]
    assert np.array_equal(rgb(safe["png"]), painted(safe["values"], safe["color"], "safe"))
    assert np.array_equal(rgb(data["png"]), painted(data["values"], data["color"], "standard"))


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"{MAPS}&colors=rainbow"),
        ("get", f"{MAPS}&colors="),
        ("get", f"{L}/layers/fc2/activations?image=sample-mnist-3&colors=viridis"),
        ("get", f"{L}/filters/conv2?colors=Safe"),
        ("get", f"{L}/filters/conv2/gallery.png?colors=x"),
        ("post", f"{L}/filters/conv2/0/feature-map?colors={'x' * 5000}"),
    ],
)
def test_an_unknown_scheme_is_a_422_naming_the_schemes(client, method, url):
    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, files={"image_id": (None, "sample-mnist-3")})
    assert response.status_code == 422, response.text
    assert f"query.colors: {CHOICES}" in response.json()["detail"]
    assert len(response.text) < 2000  # a hostile value is not echoed back whole


def test_the_computation_refuses_an_unknown_scheme_with_a_sentence():
    values = torch.arange(2 * 3 * 3, dtype=torch.float32).reshape(2, 3, 3) - 5
    activation = LayerActivation.of("x", values)
    sentence = "colors must be one of standard, safe (got 'rainbow')"
    with pytest.raises(ValueError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        featuremaps.maps_page(activation, colors="rainbow")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="colors must be one of standard, safe"):
        gallery(get_model("lenet5"), "conv1", colors="rainbow")  # type: ignore[arg-type]
    safe = featuremaps.maps_page(activation, colors="safe")
    assert safe["stops"] == featuremaps.stops_for("safe")
