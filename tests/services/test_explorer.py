"""What the explorer endpoints compute, against plain forward passes through the modules."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from app.explain.featuremaps import ColorRange
from app.explain.units import conv_unit, dense_unit
from app.images import convert
from app.images.store import ImageStore
from app.nets.names import UnknownName
from app.nets.predict import classify
from app.nets.registry import get_model, get_model_spec, get_network
from app.services import explorer
from app.services.architecture import architecture
from app.services.inputs import Inputs, Prepared
from app.settings import ROOT
from tests.utils.tolerance import approx, assert_close, network_terms

STORE = ImageStore(
    max_items=8, max_bytes=1 << 26, max_pixels=10**8, sample_dir=ROOT / "static" / "samples"
)
INPUTS = Inputs(STORE, 16, 1 << 26)


def prepared(name: str, image: str) -> Prepared:
    return INPUTS.named(get_network(name), image)


def plain_forward(name: str, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every layer's output of a chain model (LeNet-5, SimpleCNN), module after module."""
    model = get_model(name)
    outputs, y = {}, x[None]
    with torch.inference_mode():
        for layer, module in model.named_children():
            y = module(y)
            outputs[layer] = y[0]
    return outputs


def levels(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_inputs_are_preprocessed_once_as_the_model_says():
    first = prepared("lenet5", "sample-mnist-3")
    assert prepared("lenet5", "sample-mnist-3") is first
    spec = get_model_spec("lenet5")
    expected = spec.preprocess(convert.to_pil(STORE.get("sample-mnist-3").pixels))
    assert torch.equal(first.x, expected) and first.x.shape == (1, 32, 32)
    assert first.picture.size == (32, 32) and first.image_id == "sample-mnist-3"
    other = prepared("simple-cnn", "sample-mnist-3")
    assert other.x.shape == (1, 28, 28)  # each model its own preprocessing


def test_an_empty_drawing_cannot_be_prepared():
    black = STORE.add(convert.encode_png(torch.zeros(1, 64, 64, dtype=torch.uint8)))
    with pytest.raises(ValueError, match="the image is empty: there is no digit in it"):
        INPUTS.get(get_network("lenet5"), black)


def test_predict_is_the_registry_s_classify():
    found = explorer.predict_result(
        get_network("efficientnet-lite0"), prepared("efficientnet-lite0", "sample-coffee"), 3
    )
    image = convert.to_pil(STORE.get("sample-coffee").pixels)
    assert found["predictions"] == [
        p.to_dict() for p in classify(get_network("efficientnet-lite0"), image, k=3)
    ]
    assert found["predictions"][0]["label"] == "espresso"
    assert found["image"] == "sample-coffee" and found["num_classes"] == 1000


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn"])
def test_every_layer_s_activations_equal_a_plain_forward_pass(name):
    p = prepared(name, "sample-mnist-7")
    reference = plain_forward(name, p.x)
    model = get_model(name)
    for row in get_network(name).summary.layers:
        found = explorer.activations_result(
            get_network(name), p, row.name, order="index", per_page=64
        )
        expected = reference[row.name]
        assert found["layer"] == row.name and found["type"] == row.type
        assert found["shape"] == list(expected.shape) == list(row.output_shape)
        values = torch.from_numpy(found["values"])
        # float32, every layer up to this one: the same modules, maybe other kernels' order
        terms = network_terms(model, upto=row.name)
        assert_close(values, expected.reshape(values.shape), terms=terms)
        scale = float(expected.abs().max())
        assert found["min"] == approx(float(expected.min()), terms=terms, scale=scale)
        assert found["max"] == approx(float(expected.max()), terms=terms, scale=scale)
        if found["kind"] == "maps":
            assert [m["channel"] for m in found["maps"]] == list(range(expected.shape[0]))
            # each picture shows the values returned, on the layer's colour scale, exactly
            colors = ColorRange.of(found["min"], found["max"])
            for m in found["maps"]:
                assert np.array_equal(levels(m["png"]), colors.levels(values[m["channel"]]).numpy())


def test_an_efficientnet_layer_as_pictures():
    p = prepared("efficientnet-lite0", "sample-chelsea")
    model = get_model("efficientnet-lite0")
    with torch.inference_mode():
        y = model.blocks[:8](model.stem(p.x[None]))
        block = model.blocks[8]
        expected = block.depthwise(block.expand(y))[0]  # (480, 14, 14)
    found = explorer.activations_result(
        get_network("efficientnet-lite0"), p, "blocks.8.depthwise.act", page=1, per_page=16
    )
    assert found["shape"] == [480, 14, 14] and found["pages"] == 30
    # float32, every layer up to this one: the same pass, maybe other kernels' rounding
    terms = network_terms(model, upto="blocks.8.depthwise.act")
    scale = float(expected.abs().max())
    channels = [m["channel"] for m in found["maps"]]
    assert len(set(channels)) == 16
    # the 17th to 32nd strongest channels, strongest first: their strengths are the 17th to
    # 32nd largest, each within the rounding of a mean of 14·14 values (two strengths that
    # close may be ranked either way, as two kernels round them)
    strength = expected.abs().flatten(1).mean(1)
    ranked = strength.sort(descending=True).values
    assert_close(strength[channels], ranked[16:32], terms=terms + 14 * 14, scale=scale)
    colors = ColorRange.of(float(expected.min()), float(expected.max()))
    for m in found["maps"]:
        diff = levels(m["png"]).astype(int) - colors.levels(expected[m["channel"]]).numpy()
        assert np.abs(diff).max() <= 1  # a level may round the other way at a boundary
    assert_close(torch.from_numpy(found["values"]), expected[channels], terms=terms, scale=scale)


def test_unknown_layers_are_named():
    with pytest.raises(UnknownName, match=r"Unknown layer 'conv9': the layers are conv1, tanh1"):
        explorer.check_layer(get_network("lenet5"), "conv9")


LAYERS = [row.name for row in get_network("lenet5").summary.layers]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(LAYERS), st.data())
def test_a_unit_s_value_and_field_match_the_forward_pass(layer, data):
    p = prepared("lenet5", "sample-mnist-3")
    row = get_network("lenet5").summary.layer(layer)
    position = tuple(data.draw(st.integers(0, n - 1)) for n in row.output_shape)
    found = explorer.unit_result(get_network("lenet5"), p, layer, position)
    forward = plain_forward("lenet5", p.x)
    expected = forward[layer]
    # float32, every layer up to this one, relative to the layer's largest value
    terms = network_terms(get_model("lenet5"), upto=layer)
    scale = float(expected.abs().max())
    assert found["value"] == approx(float(expected[position]), terms=terms, scale=scale)
    assert found["position"] == list(position) and found["input_size"] == [32, 32]
    box = row.receptive_field.box(*position[1:], 32, 32) if len(position) == 3 else (0, 0, 32, 32)
    assert found["receptive_field"]["box"] == list(box)
    kinds = {"Conv2d": "conv", "Tanh": "conv", "AvgPool2d": "pool", "Flatten": "flatten"}
    kind = kinds.get(row.type, "dense")
    if row.type == "Tanh" and len(row.output_shape) == 1:
        kind = "dense"
    assert found["kind"] == kind
    if kind == "conv":
        last = found["conv"]["after"][-1]
        after = forward[last["layer"]]
        terms = network_terms(get_model("lenet5"), upto=last["layer"])
        scale = float(after.abs().max())
        assert last["value"] == approx(float(after[position]), terms=terms, scale=scale)
    assert ("softmax" in found) == (layer == "fc2")


def test_an_activation_after_a_convolution_shows_that_convolution():
    p = prepared("lenet5", "sample-mnist-3")
    found = explorer.unit_result(get_network("lenet5"), p, "tanh2", (3, 4, 5))
    unit = conv_unit(get_model("lenet5"), p.x, get_network("lenet5").summary, "conv2", (3, 4, 5))
    assert found["via"] == "conv2" and found["kind"] == "conv"
    assert found["conv"] == {**unit.to_dict(), "type": "Conv2d", "groups": 1}
    assert found["value"] == unit.after[0].value  # the same pass's number


def test_dense_units_say_where_their_inputs_come_from():
    p = prepared("simple-cnn", "sample-mnist-7")
    found = explorer.unit_result(get_network("simple-cnn"), p, "relu3", (17,))
    unit = dense_unit(get_model("simple-cnn"), p.x, get_network("simple-cnn").summary, "fc1", 17)
    assert found["via"] == "fc1" and found["dense"]["index"] == 17
    assert found["dense"]["products"] == unit.to_dict()["products"]
    assert found["dense"]["source"] == {"flatten": "flatten", "from": "pool2", "shape": [16, 7, 7]}


def test_flatten_maps_an_index_back_to_its_map():
    p = prepared("simple-cnn", "sample-mnist-7")
    found = explorer.unit_result(get_network("simple-cnn"), p, "flatten", (100,))
    assert found["flatten"] == {"from": "pool2", "shape": [16, 7, 7], "position": [2, 0, 2]}
    pool2 = plain_forward("simple-cnn", p.x)["pool2"]
    assert found["value"] == float(pool2[2, 0, 2])


def test_a_residual_sum_shows_both_inputs():
    p = prepared("efficientnet-lite0", "sample-chelsea")
    found = explorer.unit_result(get_network("efficientnet-lite0"), p, "blocks.2.add", (5, 20, 30))
    assert found["kind"] == "sum"
    assert found["sum"]["inputs"] == ["blocks.2.project.bn", "blocks.1.project.bn"]
    # float64 sum of the two float32 inputs against their float32 sum: one rounding
    size = sum(abs(v) for v in found["sum"]["values"])
    assert sum(found["sum"]["values"]) == approx(found["value"], terms=1, scale=size)


def test_the_output_layer_writes_softmax_out():
    p = prepared("efficientnet-lite0", "sample-chelsea")
    found = explorer.unit_result(get_network("efficientnet-lite0"), p, "fc", (285,))
    softmax = found["softmax"]
    assert softmax["classes"] == 1000 and len(softmax["rows"]) == explorer.SOFTMAX_ROWS
    model = get_model("efficientnet-lite0")
    with torch.inference_mode():
        logits = model(p.x[None])[0]
    probabilities = torch.softmax(logits.double(), 0)
    top = probabilities.topk(explorer.SOFTMAX_ROWS)
    # float32 logits of two forward passes: a probability p moves by at most 2p times the
    # largest change of a logit. The rows are the most probable classes, most probable
    # first: their probabilities are the largest ones, and each is its class's; two classes
    # whose probabilities are closer than rounding (the 8th and 9th here) may come either way
    terms, scale = network_terms(model), 2 * float(top.values[0]) * float(logits.abs().max())
    rows = [r["probability"] for r in softmax["rows"]]
    assert rows == approx(top.values.tolist(), terms=terms, scale=scale)
    indices = [r["index"] for r in softmax["rows"]]
    assert len(set(indices)) == len(indices)
    assert rows == approx(probabilities[indices].tolist(), terms=terms, scale=scale)
    assert softmax["rows"][0]["label"] == "Egyptian cat" and softmax["rows"][0]["exp"] == 1.0
    lenet = explorer.unit_result(
        get_network("lenet5"), prepared("lenet5", "sample-mnist-3"), "fc2", (3,)
    )
    assert [r["index"] for r in lenet["softmax"]["rows"]] == list(range(10))
    assert lenet["dense"]["after"] == []


def test_bad_positions_are_refused():
    p = prepared("lenet5", "sample-mnist-3")
    with pytest.raises(
        ValueError, match=r"conv2 has outputs of shape \[16, 10, 10\]: give channel"
    ):
        explorer.unit_result(get_network("lenet5"), p, "conv2", (3,))
    with pytest.raises(ValueError, match="fc1 has outputs of shape \\[84\\]: give index"):
        explorer.unit_result(get_network("lenet5"), p, "fc1", (0, 0, 0))
    with pytest.raises(ValueError, match="row must be from 0 to 9 in conv2"):
        explorer.unit_result(get_network("lenet5"), p, "conv2", (0, 10, 0))


def test_the_architecture_in_words():
    rows = {row["name"]: row for row in architecture(get_network("efficientnet-lite0"))["layers"]}
    assert rows["stem.conv"]["text"] == "32@3×3, stride 2, SAME padding 0 1 0 1, no bias"
    assert rows["blocks.1.depthwise.conv"]["text"] == (
        "96@3×3, depthwise, stride 2, SAME padding 0 1 0 1, no bias"
    )
    assert rows["blocks.2.add"]["text"] == "blocks.2.project.bn + blocks.1.project.bn"
    assert rows["stem.bn"]["text"] == "32 channels, ε 0.001"
    assert rows["pool"]["text"] == "global average → 1×1"
    assert rows["dropout"]["text"] == "p = 0.2 (off at inference)"
    assert rows["fc"]["text"] == "1280 → 1000" and rows["fc"]["kind"] == "vector"
    lenet = {row["name"]: row for row in architecture(get_network("lenet5"))["layers"]}
    assert [lenet[n]["text"] for n in ("conv1", "pool1", "fc1", "tanh1", "flatten")] == [
        "6@5×5", "2×2, stride 2", "120 → 84", "", "maps → one vector",
    ]  # fmt: skip
    assert lenet["conv3"]["kind"] == "vector" and lenet["conv2"]["kind"] == "maps"
    simple = {row["name"]: row for row in architecture(get_network("simple-cnn"))["layers"]}
    assert simple["conv1"]["text"] == "6@3×3, padding 1"


def test_a_transposed_convolution_links_to_its_page_with_its_numbers():
    from app.services.ushape import transposed_link

    network = get_network("unet-digits")
    rows = {row["name"]: row for row in architecture(network)["layers"]}
    linked = {name for name, row in rows.items() if "transposed" in row}
    kinds = {n for n, m in network.module.named_modules() if isinstance(m, nn.ConvTranspose2d)}
    assert linked == kinds and linked  # every one, and only those
    for name in linked:
        href = transposed_link(network.module.get_submodule(name))["href"]
        assert rows[name]["transposed"] == href and href.startswith("/transposed?")
    assert not any("transposed" in row for row in architecture(get_network("lenet5"))["layers"])
