"""/api/kernels: pictures and hover details against F.conv2d, sizes, limits and bad input."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient
from PIL import Image

from app.images import convert
from app.main import create_app
from app.ops.kernels import KERNELS
from app.settings import Settings
from tests.utils import images as corpus
from tests.utils.tolerance import assert_close

URL = "/api/kernels"
KEYS = {
    "image",
    "input",
    "kernel",
    "kernel_sum",
    "raw_sum",
    "normalized",
    "stride",
    "padding",
    "output",
    "display",
    "formula",
    "histogram",
    "device",
}
OUTPUT_KEYS = {
    "width",
    "height",
    "channels",
    "display_width",
    "display_height",
    "png",
    "min",
    "max",
}
DETAIL_KEYS = {
    "row",
    "col",
    "top",
    "left",
    "window",
    "inside",
    "kernel",
    "products",
    "sums",
    "values",
    "shown",
    "names",
    "display",
}


def cat() -> torch.Tensor:
    """The sample cat as (3, H, W) uint8, read independently of the app."""
    return torch.from_numpy(np.asarray(Image.open("static/samples/chelsea.png")).copy()).permute(
        2, 0, 1
    )


def reference(x: torch.Tensor, kernel, stride=1, padding=1) -> torch.Tensor:
    """The same 2D kernel on each channel, by F.conv2d in float64."""
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]
    return torch.cat(
        [F.conv2d(x[c : c + 1].double()[None], w, None, stride, padding)[0] for c in range(len(x))]
    )


def png_pixels(data_url: str) -> np.ndarray:
    assert data_url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    array = np.asarray(image)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def test_the_answer_has_the_documented_keys_and_the_picture_is_conv2d_clipped(client):
    response = client.post(URL, json={"image": "sample-chelsea", "kernel": "sharpen"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == KEYS
    assert set(data["output"]) == OUTPUT_KEYS
    assert data["device"] == "cpu"
    assert data["input"] == {
        "width": 451,
        "height": 300,
        "channels": 3,
        "names": ["R", "G", "B"],
        "downscaled": False,
        "limit_pixels": 4_194_304,
    }
    expected = reference(cat(), KERNELS["sharpen"].weights)
    assert (data["output"]["height"], data["output"]["width"]) == (300, 451)
    assert data["output"]["min"] == expected.min().item()
    assert data["output"]["max"] == expected.max().item()
    shown = png_pixels(data["output"]["png"])
    assert np.array_equal(shown, expected.round().clamp(0, 255).to(torch.uint8).numpy())
    h = data["histogram"]
    assert [sum(c) for c in h["counts"]] == [300 * 451] * 3
    assert h["below"] == int((expected < 0).sum()) and h["above"] == int((expected > 255).sum())
    assert data["formula"]["H"]["substituted"] == "H' = ⌊(300 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 300"
    assert data["raw_sum"] == 1 and not data["normalized"]


@pytest.mark.parametrize("display", ["clip", "abs", "minmax"])
def test_display_modes_map_the_raw_output(client, display):
    kernel = KERNELS["sobel_left"].weights
    body = {"image": "sample-chelsea", "kernel": [list(r) for r in kernel], "display": display}
    data = client.post(URL, json=body).json()
    raw = reference(cat(), kernel)
    if display == "abs":
        raw = raw.abs()
    elif display == "minmax":
        raw = (raw - raw.min()) / (raw.max() - raw.min()) * 255
    expected = raw.round().clamp(0, 255).numpy()
    shown = png_pixels(data["output"]["png"]).astype(float)
    assert np.abs(shown - expected).max() <= 1  # float32 on the server, float64 here
    assert data["display"]["mode"] == display


def test_gray_mode_stride_padding_and_normalisation(client):
    body = {
        "image": "sample-coffee",
        "kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
        "normalize": True,
        "stride": [2, 3],
        "padding": [0, 2],
        "channels": "gray",
    }
    data = client.post(URL, json=body).json()
    coffee = torch.from_numpy(np.asarray(Image.open("static/samples/coffee.png")).copy())
    gray = convert.to_gray(coffee.permute(2, 0, 1))
    expected = reference(gray, (np.array(body["kernel"]) / 16).tolist(), (2, 3), (0, 2))
    assert data["input"]["names"] == ["gray"] and data["output"]["channels"] == 1
    assert (data["output"]["height"], data["output"]["width"]) == tuple(expected.shape[1:])
    assert data["raw_sum"] == 16 and data["kernel_sum"] == pytest.approx(1)
    assert data["kernel"][1][1] == 0.25
    shown = png_pixels(data["output"]["png"]).astype(float)
    assert np.abs(shown - expected.round().clamp(0, 255).numpy()).max() <= 1


HOVER_CASES = [
    ({"kernel": "sharpen"}, [(0, 0), (150, 225), (299, 450), (0, 450)]),
    ({"kernel": "gaussian_blur_5", "padding": 2, "stride": 2}, [(0, 0), (75, 112), (149, 225)]),
    ({"kernel": [[1, -2, 0.5, 3, 0]], "padding": [0, 4], "channels": "gray"}, [(5, 0), (299, 454)]),
    ({"kernel": "emboss", "display": "minmax", "padding": 3}, [(0, 0), (303, 454)]),
]


@pytest.mark.parametrize(("settings_", "pixels"), HOVER_CASES)
def test_the_hover_detail_equals_conv2d_and_the_picture_at_that_pixel(client, settings_, pixels):
    body = {"image": "sample-chelsea", **settings_}
    data = client.post(URL, json=body).json()
    shown = png_pixels(data["output"]["png"])  # shown at full size: no display downscaling
    kernel = settings_["kernel"]
    weights = [list(r) for r in KERNELS[kernel].weights] if isinstance(kernel, str) else kernel
    x = cat() if settings_.get("channels") != "gray" else convert.to_gray(cat())
    stride, padding = settings_.get("stride", 1), settings_.get("padding", 1)
    expected = reference(x, weights, stride, padding)
    # the server's float32 sums of kh·kw products, relative to what the products add up to
    terms = len(weights) * len(weights[0])
    scale = float(reference(x, [[abs(w) for w in r] for r in weights], stride, padding).max())
    for row, col in pixels:
        detail = client.post(f"{URL}/pixel", json={**body, "row": row, "col": col}).json()
        assert set(detail) == DETAIL_KEYS
        values = torch.tensor(detail["values"])  # float32, as computed
        assert_close(values, expected[:, row, col], terms=terms, scale=scale)
        assert_close(detail["sums"], values, terms=terms, scale=scale)  # float64 vs float32
        assert detail["shown"] == shown[:, row, col].tolist()
        kh, kw = len(weights), len(weights[0])
        assert np.array(detail["window"]).shape == (len(x), kh, kw)
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        assert (detail["top"], detail["left"]) == (row * sh - ph, col * sw - pw)


def test_big_images_are_downscaled_to_the_compute_limit_and_again_for_display():
    settings = Settings(device="cpu", kernel_max_pixels=20_000, display_max_side=64)
    with TestClient(create_app(settings)) as small:
        data = small.post(URL, json={"image": "sample-chelsea", "kernel": "identity"}).json()
        assert data["input"]["downscaled"]
        height, width = data["input"]["height"], data["input"]["width"]
        assert height * width <= 20_000 and (height, width) == convert.fit_within(
            300, 451, max_pixels=20_000
        )
        assert (data["output"]["width"], data["output"]["height"]) == (width, height)
        assert max(data["output"]["display_width"], data["output"]["display_height"]) == 64
        assert png_pixels(data["output"]["png"]).shape[1:] == (
            data["output"]["display_height"],
            data["output"]["display_width"],
        )
        detail = small.post(
            f"{URL}/pixel",
            json={"image": "sample-chelsea", "kernel": "identity", "row": 10, "col": 20},
        ).json()
        expected = convert.resize(cat(), height, width)[:, 10, 20]
        assert detail["values"] == expected.double().tolist()  # the identity returns the input


def test_a_tiny_upload_works_with_padding_and_is_refused_without(client):
    image = client.post("/api/images", files={"image": ("a.png", corpus.solid(1, 1, (10, 20, 30)))})
    image_id = image.json()["id"]
    data = client.post(URL, json={"image": image_id, "kernel": "sharpen", "padding": 1}).json()
    assert png_pixels(data["output"]["png"]).flatten().tolist() == [50, 100, 150]
    response = client.post(URL, json={"image": image_id, "kernel": "sharpen", "padding": 0})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "the 3×3 kernel is larger than the padded image (1×1): add padding or use a smaller kernel"
    )


BAD = [
    ({"kernel": [[1] * 10] * 10}, 422, "kernel is 10×10; the limit is 9×9"),
    ({"kernel": [[1, 2], [3]]}, 422, "kernel[1] has 1 entries where 2 were expected"),
    ({"kernel": [[1, None]]}, 422, "kernel[0][1] is null, not a number"),
    ({"kernel": "nope"}, 422, "unknown kernel 'nope'"),
    ({"kernel": "laplacian", "normalize": True}, 422, "cannot be normalised to sum 1"),
    ({"kernel": "sharpen", "stride": 0}, 422, "stride must be at least 1 (got 0)"),
    ({"kernel": "sharpen", "padding": 99}, 422, "padding must be at most 16 (got 99)"),
    ({"kernel": "sharpen", "channels": "cmyk"}, 422, "channels: Input should be 'rgb' or 'gray'"),
    ({"kernel": "sharpen", "display": "log"}, 422, "display: Input should be 'clip', 'abs'"),
    ({"kernel": "sharpen", "colour": 1}, 422, "Unknown field 'colour'"),
    ({"kernel": "sharpen", "image": "f" * 32}, 404, "There is no image 'ffff"),
    ({"kernel": "sharpen", "image": ""}, 422, "image: String should have at least 1 character"),
    ({}, 422, "kernel is required"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_requests_get_a_status_and_a_sentence(client, body, status, message):
    response = client.post(URL, json={"image": "sample-camera", **body})
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_a_pixel_outside_the_output_is_refused(client):
    body = {"image": "sample-mnist-1", "kernel": "sharpen", "padding": 0, "row": 26, "col": 0}
    response = client.post(f"{URL}/pixel", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == "pixel (row 26, column 0) is outside the 26×26 output"


def test_presets_endpoint(client):
    data = client.get(f"{URL}/presets").json()
    assert set(data) == {"kernels", "displays", "limits"}
    names = {k["name"] for k in data["kernels"]}
    for name in (
        "identity",
        "sharpen",
        "box_blur",
        "gaussian_blur",
        "gaussian_blur_5",
        "laplacian",
        "outline",
        "emboss",
    ):
        assert name in names
    for edge in ("sobel", "prewitt"):
        for side in ("top", "bottom", "left", "right"):
            assert f"{edge}_{side}" in names
    assert data["limits"]["max_kernel"] == 9
