"""/api/models/{name}/segment and .../segment/saliency: the answers against the computation
(a plain forward pass, the saliency methods on the pixel's logits) and every bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from app.explain.saliency import VanillaGradient
from app.explain.segmentation import PixelLogits
from app.nets.registry import get_network
from tests.utils import images as corpus
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, network_terms

URL = "/api/models/unet-digits/segment"
SEGMENT_KEYS = {
    "model", "image", "shape", "mask", "confidence", "mask_png", "classes", "found",
    "probability_colorscale",
}  # fmt: skip
CLASS_KEYS = {"index", "label", "color", "pixels", "share", "mean_probability", "png"}


def segment(client, name="unet-digits", query="", **parts):
    files = {k: v if isinstance(v, tuple) else (None, v) for k, v in parts.items()}
    return client.post(f"/api/models/{name}/segment{query}", files=files)


def explain(client, **query):
    params = {"image": "sample-scene-1", "row": 20, "col": 20, "method": "gradient", **query}
    return client.get(f"{URL}/saliency", params={k: v for k, v in params.items() if v is not None})


def drawing() -> bytes:
    """Two digits drawn as a pen draws them: dark strokes on white paper, 320×320."""
    image = Image.new("L", (320, 320), 255)
    pen = ImageDraw.Draw(image)
    pen.line([(60, 90), (60, 210)], fill=0, width=13)  # a 1
    pen.ellipse([(160, 90), (250, 210)], outline=0, width=13)  # a 0
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def network():
    return get_network("unet-digits")


def test_a_scene_is_segmented_as_the_forward_pass_says(client, network):
    response = segment(client, image_id="sample-scene-1", query="?values=true")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == SEGMENT_KEYS | {"probabilities"}
    assert data["shape"] == [64, 64] and data["image"] == "sample-scene-1"
    x = network.preprocess(sample("scene-1.png"))[None]
    with torch.inference_mode():
        logits = network.module(x)[0]
    mask = np.array(data["mask"])
    assert mask.shape == (64, 64)
    assert np.array_equal(mask, logits.argmax(0).numpy())
    probabilities = np.array(data["probabilities"])
    assert probabilities.shape == (11, 64, 64)
    expected = torch.softmax(logits.double(), 0).numpy()
    assert np.abs(probabilities - expected).max() <= 5e-5 + 1e-6  # float32, 4 decimals
    assert len(data["classes"]) == 11 and all(set(c) == CLASS_KEYS for c in data["classes"])
    assert [c["label"] for c in data["classes"]] == ["background", *map(str, range(10))]
    counts = np.bincount(mask.flatten(), minlength=11)
    assert [c["pixels"] for c in data["classes"]] == counts.tolist()
    assert data["found"] == [
        int(i) for i in np.argsort(-counts[1:], kind="stable") + 1 if counts[i]
    ]
    assert {data["classes"][i]["label"] for i in data["found"]} >= {"3", "6", "9"}
    assert np.array(data["confidence"]).shape == (64, 64)
    assert data["mask_png"].startswith("data:image/png;base64,")
    without = segment(client, image_id="sample-scene-1").json()
    assert "probabilities" not in without and without["mask"] == data["mask"]


def test_a_drawing_is_segmented_and_kept(client):
    response = segment(client, image=("drawing.png", drawing(), "image/png"))
    assert response.status_code == 200
    data = response.json()
    assert data["image"] != "sample-scene-1" and data["shape"] == [64, 64]
    again = segment(client, image_id=data["image"]).json()
    assert again["mask"] == data["mask"]
    labels = {again["classes"][i]["label"] for i in again["found"]}
    assert {"1", "0"} <= labels, labels


def test_an_empty_picture_is_all_background(client):
    blank = io.BytesIO()
    Image.new("L", (64, 64), 255).save(blank, format="PNG")
    data = segment(client, image=("blank.png", blank.getvalue(), "image/png")).json()
    assert data["found"] == [] and data["classes"][0]["pixels"] == 64 * 64


@pytest.mark.parametrize(
    ("name", "parts", "status", "detail"),
    [
        ("simple-cnn", {"image_id": "sample-scene-1"}, 422, "simple-cnn classifies whole images"),
        ("nope", {"image_id": "sample-scene-1"}, 404, "Unknown model 'nope'"),
        ("unet-digits", {"x": "1"}, 422, "image_id"),
        ("unet-digits", {"image_id": "sample-scene-1", "image": ("a.png", b"x", "image/png")},
         422, "image"),
        ("unet-digits", {"image_id": "0" * 64}, 404, "upload"),
        ("unet-digits", {"image": ("a.png", b"just text", "image/png")}, 415, "PNG"),
        ("unet-digits", {"image": ("a.png", corpus.truncated("PNG"), "image/png")}, 422,
         "truncated"),
        ("unet-digits", {"image": ("a.png", corpus.png_header_bomb(), "image/png")}, 413,
         "pixels"),
    ],
)  # fmt: skip
def test_bad_segmentation_requests_are_refused_with_a_sentence(client, name, parts, status, detail):
    response = segment(client, name, **parts)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_a_pixels_gradient_is_the_methods_on_its_logits(client, network):
    mask = np.array(segment(client, image_id="sample-scene-1").json()["mask"])
    row, col = map(int, np.argwhere(mask != 0)[0])  # a pixel of a digit
    data = explain(client, row=row, col=col).json()
    assert data["pixel"] == [row, col] and data["shape"] == [64, 64]
    assert data["target"]["index"] == int(mask[row, col])  # default: the pixel's own class
    assert data["predictions"][0]["index"] == int(mask[row, col])
    x = network.preprocess(sample("scene-1.png"))[None]
    pixel = PixelLogits(network.module, row, col)
    expected = VanillaGradient(pixel).attribute(x, int(mask[row, col]))
    terms = network_terms(network.module, passes=2)
    assert_close(np.array(data["map"]), VanillaGradient.to_map(expected)[0], terms=terms)
    assert data["png"].startswith("data:image/png;base64,")
    other = explain(client, row=row, col=col, target=0, method="integrated-gradients", steps=8)
    found = other.json()
    assert found["target"]["label"] == "background" and found["settings"]["steps"] == 8
    gap = found["completeness"]  # Σ map against the logit's change, 8 Gauss-Legendre points
    assert abs(gap["delta"]) <= 0.05 * abs(gap["expected"]) + 0.05


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ({"row": 64}, 422, "row must be a whole number from 0 to 63"),
        ({"col": -1}, 422, "col must be a whole number from 0 to 63"),
        ({"row": None}, 422, "row"),
        ({"row": "a"}, 422, "row"),
        ({"method": "grad-cam"}, 422, "a pixel's class is explained by gradient"),
        ({"method": "nope"}, 422, "method"),
        ({"target": 11}, 422, "class index must be from 0 to 10"),
        ({"method": "integrated-gradients", "steps": 0}, 422, "steps"),
        ({"samples": 4}, 422, "samples is not a setting of gradient"),
        ({"image": "0" * 64}, 404, "upload"),
    ],
)
def test_bad_pixel_requests_are_refused_with_a_sentence(client, query, status, detail):
    response = explain(client, **query)
    assert response.status_code == status, response.text
    assert detail in str(response.json()["detail"])


def test_a_classifier_has_no_pixels_to_explain(client):
    response = client.get(
        "/api/models/lenet5/segment/saliency",
        params={"image": "sample-mnist-3", "row": 1, "col": 1, "method": "gradient"},
    )
    assert response.status_code == 422
    assert "lenet5 classifies whole images" in response.json()["detail"]
