"""Filter galleries: the right picture for each kind of convolution, pixels that are the
weights, sorting by norm, a filter's numbers, and the feature map it makes (against F.conv2d)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.explain.filters import (
    GAP,
    GAP_GRAY,
    describe,
    feature_map,
    filter_detail,
    filter_layers,
    gallery,
)
from app.images import colormaps
from app.nets.registry import get_model, get_model_spec
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, magnitude, network_terms

LENET = get_model("lenet5")
EFFICIENTNET = get_model("efficientnet-lite0")
BLUE, RED = (0x25, 0x63, 0xEB), (0xDC, 0x26, 0x26)


def pixels(png: bytes) -> np.ndarray:
    """(H, W, 3) uint8 of a PNG (palette images expanded to RGB)."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def tile(picture: np.ndarray, index: int, columns: int, height: int, width: int) -> np.ndarray:
    r, c = divmod(index, columns)
    top, left = r * (height + GAP), c * (width + GAP)
    return picture[top : top + height, left : left + width]


@pytest.mark.parametrize(
    ("model", "layer", "kind"),
    [
        (LENET, "conv1", "single"),
        (LENET, "conv2", "channels"),
        (get_model("simple-cnn"), "conv2", "channels"),
        (EFFICIENTNET, "stem.conv", "rgb"),
        (EFFICIENTNET, "blocks.3.depthwise.conv", "depthwise"),
        (EFFICIENTNET, "blocks.3.expand.conv", "pointwise"),
        (EFFICIENTNET, "head.conv", "pointwise"),
    ],
)
def test_each_layer_is_shown_as_what_it_is(model, layer, kind):
    assert describe(model, layer).kind == kind


def test_every_convolution_of_efficientnet_has_a_gallery():
    layers = filter_layers(EFFICIENTNET)
    assert len(layers) == 49
    assert {layer.kind for layer in layers} == {"rgb", "depthwise", "pointwise"}
    assert sum(layer.to_dict()["parameters"] for layer in layers) == sum(
        module.weight.numel()
        for module in EFFICIENTNET.modules()
        if isinstance(module, torch.nn.Conv2d)
    )


def test_first_layer_filters_in_colour_normalised_together():
    result = gallery(EFFICIENTNET, "stem.conv", scale="filter")
    picture = pixels(result.png)
    assert (result.rows, result.columns, result.tile) == (2, 16, (3, 3))
    assert picture.shape == (2 * 4 - 1, 16 * 4 - 1, 3)
    weights = EFFICIENTNET.stem.conv.weight.detach()  # (32, 3, 3, 3)
    for index in (0, 7, 31):
        w = weights[index]
        expected = ((w - w.min()) / (w.max() - w.min()) * 255).round().permute(1, 2, 0)
        np.testing.assert_array_equal(tile(picture, index, 16, 3, 3), expected.numpy())
    assert (picture[3, :, :] == GAP_GRAY).all()  # the gap between the two rows
    layer_scale = pixels(gallery(EFFICIENTNET, "stem.conv", scale="layer").png)
    low, high = weights.min(), weights.max()
    expected = ((weights[5] - low) / (high - low) * 255).round().permute(1, 2, 0)
    np.testing.assert_array_equal(tile(layer_scale, 5, 16, 3, 3), expected.numpy())


def test_deeper_filters_per_input_channel_on_a_diverging_scale_centred_at_zero():
    result = gallery(LENET, "conv2")
    picture = pixels(result.png)
    assert (result.rows, result.columns, result.tile) == (16, 6, (5, 5))
    assert picture.shape == (16 * 6 - 1, 6 * 6 - 1, 3)
    weights = LENET.conv2.weight.detach()  # (16, 6, 5, 5)
    table = colormaps.palette(colormaps.DIVERGING)
    for f, c in [(0, 0), (3, 5), (15, 2)]:
        cell = tile(picture, f * 6 + c, 6, 5, 5)
        levels = colormaps.levels(weights[f, c] / result.limit, -1.0, 1.0).numpy()
        np.testing.assert_array_equal(cell, table[levels])
    zero = colormaps.levels(torch.zeros(1), -1.0, 1.0)
    assert (table[int(zero)] >= 254).all()  # zero is white (to a 256th of the scale)
    strongest = np.unravel_index(int(weights.argmax()), weights.shape)
    f, c, i, j = (int(v) for v in strongest)
    assert tuple(tile(picture, f * 6 + c, 6, 5, 5)[i, j]) == RED  # beyond the limit: full red
    weakest = np.unravel_index(int(weights.argmin()), weights.shape)
    f, c, i, j = (int(v) for v in weakest)
    assert tuple(tile(picture, f * 6 + c, 6, 5, 5)[i, j]) == BLUE


def test_the_layer_scale_stops_at_the_99th_percentile():
    layer = describe(EFFICIENTNET, "head.conv")
    magnitude = EFFICIENTNET.head.conv.weight.detach().abs().flatten().double()
    assert layer.limit == float(torch.quantile(magnitude, 0.99))  # the same computation
    assert layer.limit < float(magnitude.max())


def test_depthwise_filters_one_tile_per_channel():
    result = gallery(EFFICIENTNET, "blocks.0.depthwise.conv", scale="filter")
    picture = pixels(result.png)
    assert (result.rows, result.columns, result.tile) == (4, 8, (3, 3))
    weights = EFFICIENTNET.blocks[0].depthwise.conv.weight.detach()[:, 0]  # (32, 3, 3)
    table = colormaps.palette(colormaps.DIVERGING)
    for index in (0, 9, 31):
        levels = colormaps.levels(weights[index] / weights[index].abs().max(), -1.0, 1.0)
        np.testing.assert_array_equal(tile(picture, index, 8, 3, 3), table[levels.numpy()])
    assert filter_detail(EFFICIENTNET, "blocks.0.depthwise.conv", 9).input_channels == [9]


def test_one_by_one_convolutions_as_a_mixing_matrix():
    result = gallery(EFFICIENTNET, "blocks.1.expand.conv")
    picture = pixels(result.png)
    assert picture.shape == (96, 16, 3)  # C_out × C_in: row i mixes the 16 inputs into filter i
    matrix = EFFICIENTNET.blocks[1].expand.conv.weight.detach()[:, :, 0, 0]
    levels = colormaps.levels(matrix / result.limit, -1.0, 1.0).numpy()
    np.testing.assert_array_equal(picture, colormaps.palette(colormaps.DIVERGING)[levels])
    assert len(result.png) < 0.5 * picture.nbytes  # an 8-bit palette image


def test_sorted_by_norm_strongest_first():
    result = gallery(LENET, "conv1", order="norm")
    norms = LENET.conv1.weight.detach().flatten(1).norm(dim=1)
    assert result.order == torch.argsort(norms, descending=True).tolist()
    assert norms[result.order].tolist() == sorted(norms.tolist(), reverse=True)
    first = tile(pixels(result.png), 0, result.columns, 5, 5)
    strongest = tile(pixels(gallery(LENET, "conv1").png), result.order[0], result.columns, 5, 5)
    np.testing.assert_array_equal(first, strongest)
    # float32: a sum of C_in·kh·kw squares (no cancellation) and a square root
    terms = LENET.conv1.weight[0].numel() + 1
    assert result.to_dict()["layer"]["norms"] == approx(norms.tolist(), terms=terms)


def test_a_filters_numbers():
    detail = filter_detail(LENET, "conv2", 4).to_dict()
    assert set(detail) == {
        "layer", "index", "kind", "weights", "bias", "norm", "channel_norms", "input_channels",
        "range",
    }  # fmt: skip
    assert detail["weights"] == LENET.conv2.weight[4].tolist()
    assert detail["bias"] == float(LENET.conv2.bias[4])  # copied
    assert detail["input_channels"] == list(range(6))
    terms = LENET.conv2.weight[4].numel() + 1  # float32 Σ w² and its square root
    assert detail["norm"] == approx(float(LENET.conv2.weight[4].norm()), terms=terms)
    assert filter_detail(EFFICIENTNET, "stem.conv", 0).bias is None  # BatchNorm follows


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["conv1", "conv2", "conv3"]), st.data())
def test_a_filters_feature_map_is_its_convolution(layer, data):
    module = LENET.get_submodule(layer)
    index = data.draw(st.integers(0, module.out_channels - 1))
    x = get_model_spec("lenet5").preprocess(sample(f"mnist-{data.draw(st.integers(0, 9))}.png"))
    with torch.inference_mode():
        before = {"conv1": x[None], "conv2": LENET.pool1(LENET.tanh1(LENET.conv1(x[None])))}
        if layer == "conv3":
            before["conv3"] = LENET.pool2(LENET.tanh2(LENET.conv2(before["conv2"])))
    weight, bias = module.weight[index : index + 1], module.bias[index : index + 1]
    expected = F.conv2d(before[layer], weight, bias)
    # float32: every layer up to this one (the same modules, but one filter's convolution
    # may take another kernel than the whole layer's), relative to what its products add up to
    terms = network_terms(LENET, upto=layer)
    scale = magnitude(F.conv2d, before[layer], weight, bias)
    assert_close(feature_map(LENET, x, layer, index), expected[0, 0], terms=terms, scale=scale)


def test_the_stem_filters_feature_map_on_the_cat():
    x = get_model_spec("efficientnet-lite0").preprocess(sample("chelsea.png"))
    value = feature_map(EFFICIENTNET, x, "stem.conv", 5)
    assert value.shape == (112, 112)
    with torch.inference_mode():  # the same module on the same input
        assert torch.equal(value, EFFICIENTNET.stem.conv(x[None])[0, 5])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gallery(LENET, "pool1"), "pool1 is a AvgPool2d layer, not a convolution"),
        (lambda: gallery(LENET, "conv7"), "Unknown layer 'conv7'"),
        (lambda: gallery(LENET, "conv1", order="size"), "order must be one of index, norm"),
        (lambda: gallery(LENET, "conv1", scale="map"), "scale must be one of layer, filter"),
        (lambda: filter_detail(LENET, "conv2", 16), "filter must be from 0 to 15 in conv2"),
        (lambda: filter_detail(LENET, "conv2", -1), "filter must be from 0 to 15"),
        (
            lambda: feature_map(LENET, torch.zeros(1, 32, 32), "conv1", 6),
            "filter must be from 0 to 5 in conv1",
        ),
    ],
)
def test_bad_requests_are_refused_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()
