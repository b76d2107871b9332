"""/api/activations: the catalogue, curves and feature maps, and bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from app.ops.presets.convolution import CONVOLUTION as PRESETS


def test_catalogue(client):
    data = client.get("/api/activations").json()
    assert set(data) == {
        "functions",
        "defaults",
        "limits",
        "curves",
        "maxout",
        "presets",
        "images",
        "kernels",
        "default_map",
    }
    assert [f["name"] for f in data["functions"]] == [
        "relu",
        "leaky_relu",
        "elu",
        "sigmoid",
        "tanh",
    ]
    assert data["defaults"] == {"negative_slope": 0.1, "alpha": 1.0}
    assert len(data["curves"]["tanh"]["x"]) == 201
    assert data["maxout"]["value"] == 1.5


def test_curve(client):
    data = client.post(
        "/api/activations/curve", json={"function": "leaky_relu", "negative_slope": 0.3}
    ).json()
    assert set(data) == {"name", "setting", "x", "y", "derivative"}
    x = torch.tensor(data["x"], dtype=torch.float64)
    assert data["y"] == F.leaky_relu(x, 0.3).tolist()
    assert data["derivative"][0] == pytest.approx(0.3)
    assert data["derivative"][-1] == 1


def test_apply_to_numbers_a_preset_and_an_image(client):
    numbers = client.post(
        "/api/activations/apply", json={"function": "sigmoid", "input": [[-2, 0], [1, 3]]}
    ).json()
    assert numbers["after"] == torch.sigmoid(torch.tensor([[-2.0, 0], [1, 3]]).double()).tolist()
    assert numbers["source"] == "your numbers"
    assert set(numbers) == {
        "function",
        "setting",
        "before",
        "after",
        "shape",
        "histogram",
        "stats",
        "changed",
        "source",
    }

    preset = client.post(
        "/api/activations/apply", json={"function": "relu", "preset": "vertical_edge_numbers"}
    ).json()
    assert preset["before"] == PRESETS["vertical_edge_numbers"].expected
    assert preset["after"] == F.relu(torch.tensor(preset["before"])).tolist()

    image = client.post(
        "/api/activations/apply",
        json={"function": "elu", "alpha": 0.5, "image": "chelsea", "kernel": "sobel_left"},
    ).json()
    assert image["shape"] == [41, 62]  # 43 × 64 pixels, a 3 × 3 kernel, no padding
    before = torch.tensor(image["before"], dtype=torch.float64)
    assert image["after"] == F.elu(before, 0.5).tolist()
    assert "Sobel left" in image["source"]


BAD = [
    ("/api/activations/curve", {"function": "swish"}, "unknown function 'swish'"),
    (
        "/api/activations/curve",
        {"function": "leaky_relu", "negative_slope": 2},
        "negative_slope must be between 0 and 1 (got 2)",
    ),
    ("/api/activations/curve", {"function": "elu", "alpha": -1}, "alpha must be between 0 and 5"),
    ("/api/activations/curve", {"function": "elu", "alpha": "big"}, "alpha must be a number"),
    (
        "/api/activations/apply",
        {"function": "relu"},
        "give exactly one feature map: input (numbers), preset (a name) or image and kernel",
    ),
    (
        "/api/activations/apply",
        {"function": "relu", "input": [[1]], "preset": "sharpen"},
        "got input, preset",
    ),
    ("/api/activations/apply", {"function": "relu", "input": [[1, 2], [3]]}, "input[1] has 1"),
    (
        "/api/activations/apply",
        {"function": "relu", "input": [[0] * 97]},
        "input is 1×97; the limit is 96×96",
    ),
    ("/api/activations/apply", {"function": "relu", "preset": "nope"}, "unknown preset 'nope'"),
    (
        "/api/activations/apply",
        {"function": "relu", "image": "dog", "kernel": "sharpen"},
        "unknown image 'dog'",
    ),
    (
        "/api/activations/apply",
        {"function": "relu", "image": "chelsea", "kernel": "x"},
        "unknown kernel 'x'",
    ),
    ("/api/activations/apply", {"function": "relu", "image": "chelsea"}, "image needs a kernel"),
    ("/api/activations/apply", {"function": "relu", "input": [[1]], "extra": 1}, "Unknown field"),
]


@pytest.mark.parametrize(("url", "body", "message"), BAD, ids=[m[:40] for *_, m in BAD])
def test_bad_input_gets_422(client, url, body, message):
    response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_nan_settings_are_refused(client):
    response = client.post(
        "/api/activations/curve",
        content='{"function": "leaky_relu", "negative_slope": NaN}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "negative_slope is nan" in response.json()["detail"]
