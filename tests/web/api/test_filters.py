"""/api/models/{name}/filters and .../channels: keys and values against the weights and
F.conv2d, activation maximisation and top digits against the engine, every bad input the
issue lists, and a cancelled job freeing its worker."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from app.explain.convolutions import conv_layers
from app.explain.filters import GAP, GAP_GRAY
from app.explain.maximize import maximize_channel
from app.explain.topdigits import top_digits
from app.main import create_app
from app.nets.registry import get_model, get_model_spec, get_network, list_models
from app.settings import Settings
from tests.utils.jobs import wait_until
from tests.utils.samples import SAMPLES, sample
from tests.utils.tolerance import approx, assert_close, magnitude

LAYER_KEYS = {"name", "kind", "shape", "groups", "stride", "count", "parameters", "limit"}
GALLERY_KEYS = {"layer", "order", "rows", "columns", "tile", "gap", "scale", "limit",
                "colorscale", "png"}  # fmt: skip
DETAIL_KEYS = {"model", "layer", "index", "kind", "weights", "bias", "norm", "channel_norms",
               "input_channels", "range"}  # fmt: skip
MAP_KEYS = {"model", "layer", "index", "image", "shape", "min", "max", "color", "stops", "png",
            "then"}  # fmt: skip
MAXIMIZED_KEYS = {"layer", "channel", "settings", "curve", "activation", "size", "png"}


def unknown_model() -> str:
    """The 404's sentence for model 'nope', naming the zoo as it is now."""
    return f"Unknown model 'nope': the models are {', '.join(list_models())}"


LENET_CONVS = "the convolution layers are conv1, conv2, conv3"
EFFICIENTNET = get_model("efficientnet-lite0")


def picture(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 of a PNG (palette and gray images expanded to RGB)."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def data_url_picture(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return picture(base64.b64decode(url.split(",", 1)[1]))


def feature_map(client, name, layer, index, **parts):
    files = {
        key: value if isinstance(value, tuple) else (None, value) for key, value in parts.items()
    }
    return client.post(f"/api/models/{name}/filters/{layer}/{index}/feature-map", files=files)


def conv_input(model: torch.nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) what the convolution ``layer`` receives for the input ``x`` (C, H, W)."""
    seen = []
    handle = model.get_submodule(layer).register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    try:
        with torch.inference_mode():
            model(x[None])
    finally:
        handle.remove()
    return seen[0]


# ------------------------------------------------------------------------------ the layers


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn", "efficientnet-lite0"])
def test_the_convolution_layers_with_their_kind_and_shape(client, name):
    response = client.get(f"/api/models/{name}/filters")
    assert response.status_code == 200
    data = response.json()
    model = get_model(name)
    assert data["model"] == name
    assert [row["name"] for row in data["layers"]] == conv_layers(model)
    for row in data["layers"]:
        assert set(row) == LAYER_KEYS
        conv = model.get_submodule(row["name"])
        assert row["shape"] == list(conv.weight.shape) and row["count"] == conv.out_channels
        assert row["groups"] == conv.groups and row["stride"] == list(conv.stride)
        assert row["parameters"] == sum(p.numel() for p in conv.parameters())


def test_each_kind_of_convolution_is_named(client):
    layers = client.get("/api/models/efficientnet-lite0/filters").json()["layers"]
    kinds = {row["name"]: row["kind"] for row in layers}
    assert kinds["stem.conv"] == "rgb"
    assert kinds["blocks.0.depthwise.conv"] == "depthwise"
    assert kinds["blocks.1.expand.conv"] == "pointwise" and kinds["head.conv"] == "pointwise"
    lenet = client.get("/api/models/lenet5/filters").json()["layers"]
    assert [row["kind"] for row in lenet] == ["single", "channels", "channels"]


# ---------------------------------------------------------------------------- the gallery


def test_the_first_layer_in_colour_each_tile_where_the_layout_says(client):
    response = client.get("/api/models/efficientnet-lite0/filters/stem.conv?order=norm")
    assert response.status_code == 200
    layout = response.json()
    assert set(layout) == GALLERY_KEYS
    weights = EFFICIENTNET.stem.conv.weight.detach()  # (32, 3, 3, 3)
    norms = weights.flatten(1).norm(dim=1)
    assert layout["order"] == torch.argsort(norms, descending=True, stable=True).tolist()
    # float32: a sum of 3·3·3 squares (no cancellation) and a square root
    assert layout["layer"]["norms"] == approx(norms.tolist(), terms=27 + 1)
    assert (layout["rows"], layout["columns"], layout["tile"], layout["gap"]) == (
        2,
        16,
        [3, 3],
        GAP,
    )
    assert layout["colorscale"] is None and layout["scale"] == "layer"
    png = client.get(layout["png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    atlas = picture(png.content)
    assert atlas.shape == (2 * 4 - 1, 16 * 4 - 1, 3)
    assert (atlas[3] == GAP_GRAY).all() and (atlas[:, 3] == GAP_GRAY).all()
    low, high = float(weights.min()), float(weights.max())
    for position in (0, 5, 17, 31):  # the tile at a position shows filter order[position]
        row, col = divmod(position, 16)
        tile = atlas[row * 4 : row * 4 + 3, col * 4 : col * 4 + 3]  # (3, 3, RGB)
        w = weights[layout["order"][position]].permute(1, 2, 0)  # (3, 3, RGB)
        expected = ((w - low) / (high - low) * 255).round().to(torch.uint8).numpy()
        np.testing.assert_array_equal(tile, expected)


def test_a_deeper_layer_one_row_per_filter_one_column_per_input_channel(client):
    layout = client.get("/api/models/lenet5/filters/conv2?scale=filter").json()
    assert (layout["rows"], layout["columns"], layout["tile"]) == (16, 6, [5, 5])
    assert layout["order"] == list(range(16)) and layout["limit"] is None
    atlas = picture(client.get(layout["png"]).content)
    assert atlas.shape == (16 * 6 - 1, 6 * 6 - 1, 3)
    weights = get_model("lenet5").conv2.weight.detach()  # (16, 6, 5, 5)
    for filter_index in (0, 7, 15):  # row i is filter i; ± its own largest |w| the end colours
        w = weights[filter_index]  # (6, 5, 5)
        channel, i, j = np.unravel_index(int(w.abs().argmax()), (6, 5, 5))
        tile = atlas[filter_index * 6 : filter_index * 6 + 5, channel * 6 : channel * 6 + 5]
        end = (0xDC, 0x26, 0x26) if w[channel, i, j] > 0 else (0x25, 0x63, 0xEB)
        assert tuple(tile[i, j]) == end


def test_a_pointwise_layer_is_one_matrix(client):
    layout = client.get("/api/models/efficientnet-lite0/filters/head.conv").json()
    assert (layout["rows"], layout["columns"], layout["tile"], layout["gap"]) == (
        1,
        1,
        [1280, 320],
        0,
    )
    assert layout["limit"] > 0 and layout["colorscale"][2] == [0.5, "#ffffff"]
    assert picture(client.get(layout["png"]).content).shape == (1280, 320, 3)


# --------------------------------------------------------------------------- one filter


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(conv_layers(EFFICIENTNET)), st.data())
def test_a_filters_numbers_are_the_layers_weight(client, layer, data):
    conv = EFFICIENTNET.get_submodule(layer)
    index = data.draw(st.integers(0, conv.out_channels - 1))
    response = client.get(f"/api/models/efficientnet-lite0/filters/{layer}/{index}")
    assert response.status_code == 200
    found = response.json()
    assert set(found) == DETAIL_KEYS
    weight = conv.weight.detach()[index]  # (C_in / groups, kh, kw)
    assert torch.equal(torch.tensor(found["weights"]), weight)  # float32 → JSON → float32
    # float32: a sum of the filter's squares (no cancellation) and a square root
    assert found["norm"] == approx(float(weight.norm()), terms=weight.numel() + 1)
    per_group = conv.in_channels // conv.groups
    first = index // (conv.out_channels // conv.groups) * per_group
    assert found["input_channels"] == list(range(first, first + per_group))
    assert found["bias"] is None  # BatchNorm follows every convolution of EfficientNet-Lite0


def test_lenets_filters_have_a_bias(client):
    found = client.get("/api/models/lenet5/filters/conv1/4").json()
    assert found["bias"] == float(get_model("lenet5").conv1.bias[4])  # copied
    assert found["kind"] == "single" and found["input_channels"] == [0]


@pytest.mark.parametrize(
    ("name", "layer", "index", "image"),
    [
        ("lenet5", "conv2", 9, "sample-mnist-4"),
        ("simple-cnn", "conv1", 3, "sample-mnist-7"),
        ("efficientnet-lite0", "blocks.10.depthwise.conv", 37, "sample-chelsea"),
        ("efficientnet-lite0", "blocks.12.project.conv", 5, "sample-coffee"),
    ],
)
def test_the_feature_map_is_f_conv2d_of_the_layers_input_channel_sliced(
    client, name, layer, index, image
):
    response = feature_map(client, name, layer, index, image_id=image)
    assert response.status_code == 200
    found = response.json()
    assert set(found) == MAP_KEYS | {"values"}
    spec = get_model_spec(name)
    model = get_model(name)
    x = spec.preprocess(sample(image.removeprefix("sample-") + ".png"))
    conv = model.get_submodule(layer)
    inputs = conv_input(model, layer, x)  # (1, C_in, H, W)
    per_group = conv.in_channels // conv.groups
    first = index // (conv.out_channels // conv.groups) * per_group
    bias = None if conv.bias is None else conv.bias[index : index + 1]
    sliced = inputs[:, first : first + per_group]
    if hasattr(conv, "padding_for"):  # EfficientNet's TensorFlow SAME padding: zeros first
        sliced = F.pad(sliced, conv.padding_for(*sliced.shape[-2:]))
    weight = conv.weight[index : index + 1]
    settings_ = (conv.stride, conv.padding, conv.dilation)
    expected = F.conv2d(sliced, weight, bias, *settings_)[0, 0]
    # float32: the layer's input is the very same; one filter's convolution against the
    # whole layer's, C_in/groups·kh·kw products and the bias in another kernel's order
    terms = weight[0].numel() + 1
    scale = magnitude(F.conv2d, sliced, weight, bias, *settings_)
    assert_close(found["values"], expected, terms=terms, scale=scale)  # float32 as JSON
    assert found["shape"] == list(expected.shape) and found["image"] == image
    assert found["min"] == approx(float(expected.min()), terms=terms, scale=scale)
    assert data_url_picture(found["png"]).shape == (*expected.shape, 3)


@pytest.mark.parametrize(
    ("name", "layer", "then"),
    [
        ("lenet5", "conv1", [nn.Tanh]),
        ("simple-cnn", "conv1", [nn.ReLU]),
        ("efficientnet-lite0", "stem.conv", [nn.BatchNorm2d, nn.ReLU6]),
    ],
)
def test_the_map_says_what_follows_the_convolution(client, name, layer, then):
    """A map is captioned with the layers that follow its convolution: LeNet-5 and
    SimpleCNN have no BatchNorm (issue 14, defect 9); each type is the module's own."""
    response = feature_map(client, name, layer, 0, image_id="sample-mnist-3")
    assert response.status_code == 200, response.text
    model = get_model(name)
    called: list[tuple[str, type]] = []  # leaf modules in the order a forward pass runs them
    hooks = [
        module.register_forward_hook(lambda m, a, o, n=n: called.append((n, type(m))))
        for n, module in model.named_modules()
        if not list(module.children())
    ]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, *get_network(name).input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    at = [n for n, _ in called].index(layer)
    assert [kind for _, kind in called[at + 1 : at + 1 + len(then)]] == then
    assert response.json()["then"] == [kind.__name__ for kind in then]


def test_the_stems_map_of_the_cat_from_an_upload_equals_the_samples(client):
    by_id = feature_map(client, "efficientnet-lite0", "stem.conv", 5, image_id="sample-chelsea")
    data = (SAMPLES / "chelsea.png").read_bytes()
    by_file = feature_map(
        client, "efficientnet-lite0", "stem.conv", 5, image=("cat.png", data, "image/png")
    )
    assert by_id.status_code == by_file.status_code == 200
    first, second = by_id.json(), by_file.json()
    assert set(first) == MAP_KEYS  # 112 × 112 values: too many to send as numbers
    assert first["shape"] == [112, 112] and first["png"] == second["png"]
    assert first["color"]["kind"] == "diverging"


# ------------------------------------------------------------------ what a channel responds to


def test_activation_maximisation_is_the_engines_and_is_cached(client):
    url = "/api/models/lenet5/layers/conv2/channels/3/maximize"
    response = client.post(url, json={"steps": 6, "seed": 2})
    assert response.status_code == 200
    found = response.json()
    assert set(found) == MAXIMIZED_KEYS
    expected = maximize_channel(get_network("lenet5"), "conv2", 3, steps=6, seed=2)
    assert found["settings"] == expected.settings
    # the same seeded computation (its picture is compared exactly below)
    assert found["curve"] == expected.curve and len(found["curve"]) == 6
    np.testing.assert_array_equal(data_url_picture(found["png"]), picture(expected.png()))
    # the same settings, spelled out: the same job key, answered from the cache
    jobs = client.app.state.jobs
    cached = len(jobs.results)
    again = client.post(url, json={**expected.settings})
    assert again.json() == found and len(jobs.results) == cached


def test_activation_maximisation_as_a_job(client):
    url = "/api/models/simple-cnn/layers/conv1/channels/2/maximize/jobs"
    response = client.post(url, json={"steps": 4, "size": 20})
    assert response.status_code == 202
    job = response.json()
    assert job["url"] == f"/api/jobs/{job['id']}" and job["result"].endswith("/result")
    wait_until(lambda: client.get(job["url"]).json()["status"] == "done", timeout=60)
    result = client.get(job["result"]).json()
    assert result["settings"]["steps"] == 4 and result["size"] == [20, 20]
    png = client.get(job["result"], params={"format": "png"})
    assert picture(png.content).shape == (20, 20, 3)
    # started again: answered from the cache at once
    assert client.post(url, json={"steps": 4, "size": 20}).json()["status"] == "done"


def test_a_deep_efficientnet_channel_and_a_block(client):
    url = "/api/models/efficientnet-lite0/layers/blocks.10.expand/channels/7/maximize"
    found = client.post(url, json={"steps": 2, "size": 32}).json()
    assert found["size"] == [32, 32] and found["settings"]["objective"] == "channel"
    assert data_url_picture(found["png"]).shape == (32, 32, 3)


def test_the_top_digits_are_the_engines(client):
    response = client.get("/api/models/lenet5/layers/conv2/channels/3/top-digits")
    assert response.status_code == 200
    found = response.json()
    expected = top_digits(get_network("lenet5"), "conv2", 3)
    assert set(found) == {"model", "layer", "channel", "digits", "size", "png"}
    assert found["digits"] == [digit.to_dict() for digit in expected.digits]
    assert [d["activation"] for d in found["digits"]] == sorted(
        (d["activation"] for d in found["digits"]), reverse=True
    )
    np.testing.assert_array_equal(data_url_picture(found["png"]), picture(expected.png()))
    job = client.post("/api/models/lenet5/layers/conv2/channels/3/top-digits/jobs")
    assert job.status_code == 202


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/models/nope/filters"),
        ("get", "/api/models/nope/filters/conv1"),
        ("get", "/api/models/nope/filters/conv1/gallery.png"),
        ("get", "/api/models/nope/filters/conv1/0"),
        ("post", "/api/models/nope/filters/conv1/0/feature-map"),
        ("post", "/api/models/nope/layers/conv1/channels/0/maximize"),
        ("post", "/api/models/nope/layers/conv1/channels/0/maximize/jobs"),
        ("get", "/api/models/nope/layers/conv1/channels/0/top-digits"),
        ("post", "/api/models/nope/layers/conv1/channels/0/top-digits/jobs"),
    ],
)
def test_an_unknown_model_is_a_404_naming_the_models(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 404
    assert response.json()["detail"] == unknown_model()


L = "/api/models/lenet5"
E = "/api/models/efficientnet-lite0"
MAXIMIZE = f"{L}/layers/conv2/channels/0/maximize"
NOT_MNIST = "efficientnet-lite0 was not trained on MNIST: the top digits are for the digit models"
RANGE = "filter must be from 0 to 15 in conv2"


@pytest.mark.parametrize(
    ("method", "url", "body", "detail"),
    [
        ("get", f"{L}/filters/conv7", None, f"Unknown layer 'conv7': {LENET_CONVS}"),
        ("get", f"{L}/filters/pool1/gallery.png", None, "pool1 is a AvgPool2d layer, not a"),
        ("get", f"{L}/filters/fc1/0", None, "fc1 is a Linear layer, not a convolution"),
        ("get", f"{E}/filters/stem", None, "stem is a Sequential layer"),
        ("get", f"{L}/filters/conv2/16", None, f"{RANGE} (got 16)"),
        ("get", f"{L}/filters/conv2/-1", None, f"{RANGE} (got -1)"),
        ("get", f"{L}/filters/conv2/x", None, "path.index: Input should be a valid integer"),
        ("get", f"{L}/filters/conv2?order=size", None, "query.order: Input should be 'index' or"),
        ("get", f"{L}/filters/conv2/gallery.png?scale=map", None, "query.scale: Input should be"),
        ("post", f"{L}/filters/conv2/6/feature-map", {}, "Send an image file in the field 'image'"),
        ("post", f"{L}/filters/conv2/99/feature-map", {"image_id": "sample-mnist-3"}, RANGE),
        (
            "post",
            f"{L}/filters/conv9/0/feature-map",
            {"image_id": "sample-mnist-3"},
            f"Unknown layer 'conv9': {LENET_CONVS}",
        ),
        ("post", f"{L}/layers/conv2/channels/16/maximize", {}, "channel must be from 0 to 15 in"),
        ("post", f"{L}/layers/pool1/channels/0/maximize", {}, "pool1 is a AvgPool2d layer, not a"),
        ("post", MAXIMIZE, {"steps": 513}, "steps must be a whole number from 1 to 512 (got 513)"),
        ("post", f"{MAXIMIZE}/jobs", {"steps": 10**5}, "steps must be a whole number from 1 to"),
        ("post", MAXIMIZE, {"size": 1024}, "size must be a whole number from 16 to 224 (got 1024)"),
        ("post", MAXIMIZE, {"jitter": 99}, "jitter must be a whole number from 0 to 32 (got 99)"),
        ("post", MAXIMIZE, {"learning_rate": 5}, "learning_rate must be a number from 0.0001 to 1"),
        ("post", MAXIMIZE, {"size": 20, "jitter": 20}, "jitter (20) must be smaller than the"),
        ("post", MAXIMIZE, {"blur": 2}, "Unknown field 'blur'"),
        (
            "post",
            MAXIMIZE,
            {"objective": "max"},
            "objective: Input should be 'channel' or 'centre'",
        ),
        ("post", MAXIMIZE, {"steps": "many"}, "steps: Input should be a valid integer"),
        ("get", f"{E}/layers/stem.conv/channels/0/top-digits", None, NOT_MNIST),
        ("post", f"{E}/layers/stem.conv/channels/0/top-digits/jobs", None, NOT_MNIST),
        ("get", f"{L}/layers/conv2/channels/16/top-digits", None, "channel must be from 0 to 15"),
        ("get", f"{L}/layers/pool2/channels/0/top-digits", None, "pool2 is a AvgPool2d layer"),
    ],
)
def test_bad_input_is_a_422_with_a_sentence(client, method, url, body, detail):
    if method == "get":
        response = client.get(url)
    elif url.endswith("feature-map"):
        response = client.post(
            url, files={k: (None, v) for k, v in body.items()} or {"x": (None, "")}
        )
    else:
        response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]


def test_an_unknown_image_is_a_404(client):
    response = feature_map(client, "lenet5", "conv1", 0, image_id="0" * 32)
    assert response.status_code == 404
    assert "upload" in response.json()["detail"]


def test_the_endpoints_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/models/{name}/filters",
        "/api/models/{name}/filters/{layer}",
        "/api/models/{name}/filters/{layer}/gallery.png",
        "/api/models/{name}/filters/{layer}/{index}",
        "/api/models/{name}/filters/{layer}/{index}/feature-map",
        "/api/models/{name}/layers/{layer}/channels/{channel}/maximize",
        "/api/models/{name}/layers/{layer}/channels/{channel}/maximize/jobs",
        "/api/models/{name}/layers/{layer}/channels/{channel}/top-digits",
        "/api/models/{name}/layers/{layer}/channels/{channel}/top-digits/jobs",
    ):
        assert path in paths, path


# --------------------------------------------------------------------------- cancellation


@pytest.fixture(scope="module")
def one_worker() -> Iterator[TestClient]:
    app = create_app(Settings(device="cpu", preload_models=False, compute_workers=1))
    with TestClient(app) as client:
        yield client


def test_a_cancelled_maximisation_frees_its_worker(one_worker):
    url = "/api/models/efficientnet-lite0/layers/blocks.15.expand/channels/3/maximize/jobs"
    job = one_worker.post(url, json={"steps": 512, "size": 224}).json()  # minutes of work
    wait_until(lambda: one_worker.get(job["url"]).json()["progress"] > 0, timeout=60)
    assert one_worker.delete(job["url"]).status_code == 200
    wait_until(lambda: one_worker.get(job["url"]).json()["status"] == "cancelled", timeout=10)
    assert one_worker.app.state.jobs.active == 0
    # the only worker is free again: a computation gets it at once
    found = one_worker.get("/api/models/lenet5/filters/conv1/0")
    assert found.status_code == 200
    result = one_worker.get(job["result"])
    assert result.status_code == 409 and "cancelled" in result.json()["detail"]
