"""POST /api/convolution: exact keys, values against torch, and every bad input it must refuse."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from app.ops.conv import LIMITS
from tests.web.api.test_refusals import CONVOLUTION

URL = "/api/convolution"
D2L = {"input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "kernel": [[0, 1], [2, 3]]}

RESPONSE_KEYS = {
    "dims",
    "pads",
    "padding_mode",
    "output",
    "output_shape",
    "padded_input",
    "kernel",
    "bias",
    "stride",
    "padding",
    "dilation",
    "flip",
    "footprint",
    "formula",
    "parameters",
    "steps",
}
STEP_KEYS = {"position", "window", "terms", "partials", "bias", "value"}


def test_response_has_exactly_the_documented_keys(client):
    response = client.post(URL, json=D2L)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == RESPONSE_KEYS
    assert data["output"] == [[[19, 25], [37, 43]]]
    assert data["output_shape"] == [1, 2, 2]
    assert data["padded_input"] == [D2L["input"]]
    assert len(data["steps"]) == 4
    for step in data["steps"]:
        assert set(step) == STEP_KEYS
    assert data["steps"][1] == {
        "position": [0, 0, 1],
        "window": [0, 1],
        "terms": [[1, 0], [2, 1], [4, 2], [5, 3]],
        "partials": [25.0],
        "bias": 0.0,
        "value": 25.0,
    }
    assert data["formula"]["H"]["substituted"] == "H' = ⌊(3 + 2·0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2"
    assert data["parameters"]["conv"] == 5


def test_multichannel_with_everything_set_matches_conv2d(client):
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(-5, 6, (3, 7, 6), generator=gen).double()
    w = torch.randint(-2, 3, (2, 3, 3, 2), generator=gen).double()
    body = {
        "input": x.tolist(),
        "kernel": w.tolist(),
        "bias": [0.5, -1],
        "stride": [2, 1],
        "padding": [1, 2],
        "dilation": [1, 2],
        "flip": True,
    }
    data = client.post(URL, json=body).json()
    expected = F.conv2d(
        x[None],
        torch.flip(w, (-2, -1)),
        torch.tensor([0.5, -1.0]).double(),
        stride=(2, 1),
        padding=(1, 2),
        dilation=(1, 2),
    )[0]
    assert data["output"] == expected.tolist()
    assert data["output_shape"] == list(expected.shape)
    assert [s["position"][0] for s in data["steps"]] == sorted(
        s["position"][0] for s in data["steps"]
    )
    assert data["kernel"] == torch.flip(w, (-2, -1)).tolist()


def test_bias_as_one_number_applies_to_every_output_channel(client):
    body = {**D2L, "kernel": [[[[0, 1], [2, 3]]], [[[1, 1], [1, 1]]]], "bias": 10}
    data = client.post(URL, json=body).json()
    assert data["bias"] == [10, 10]
    assert data["output"][1] == [[18, 22], [30, 34]]


def test_oversized_body_gets_413_before_it_is_read(client, settings):
    big = b'{"input": [' + b"1," * settings.max_json_bytes + b"1]}"
    response = client.post(URL, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is too large: the limit is 2 MB"


def test_oversized_body_without_content_length_gets_413(client, settings):
    def chunks():
        yield b'{"input": ['
        for _ in range(settings.max_json_bytes // 65536 + 2):
            yield b"1," * 32768
        yield b"1]}"

    response = client.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_server_keeps_serving_after_bad_requests(client):
    for body, _ in CONVOLUTION[:8]:
        client.post(URL, json=body)
    assert client.post(URL, json=D2L).json()["output"] == [[[19, 25], [37, 43]]]


def test_presets_endpoint_lists_lecture_examples_and_kernels(client):
    data = client.get("/api/convolution/presets").json()
    assert set(data) == {
        "presets", "kernels", "limits", "default_preset", "views", "limits_by_dims",
        "padding_modes",
    }  # fmt: skip
    assert data["padding_modes"] == ["zeros", "reflect", "replicate", "circular"]
    assert data["limits_by_dims"]["3"]["max_size"] == 24
    assert {"text_trigrams", "audio_difference"} <= {
        p["name"] for p in data["views"]["1"]["presets"]
    }
    assert {"video_motion", "medical_nodule"} <= {p["name"] for p in data["views"]["3"]["presets"]}
    names = [p["name"] for p in data["presets"]]
    assert data["default_preset"] in names
    assert {"d2l_cross_correlation", "sharpen_padded", "vertical_edge_numbers"} <= set(names)
    assert {"same_torch", "same_slide", "sharpen_reflect"} <= set(names)
    assert {k["name"] for k in data["kernels"]} >= {
        "identity",
        "sharpen",
        "box_blur",
        "gaussian_blur",
        "laplacian",
        "outline",
        "emboss",
        "sobel_top",
        "sobel_bottom",
        "sobel_left",
        "sobel_right",
        "vertical_edge",
        "horizontal_edge",
    }
    assert data["limits"]["max_terms"] == LIMITS.max_terms


def test_openapi_documents_the_endpoint(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/convolution"]["post"]
    assert "422" in operation["responses"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][request_ref.rsplit("/", 1)[-1]]
    assert {
        "input", "kernel", "bias", "stride", "padding", "dilation", "flip", "dims", "padding_mode",
    } <= set(request["properties"])  # fmt: skip
    assert request["properties"]["padding_mode"]["enum"] == [
        "zeros",
        "reflect",
        "replicate",
        "circular",
    ]
    assert request["properties"]["stride"]["anyOf"][0] == {"type": "integer"}


def test_a_question_asked_again_is_answered_from_memory(client, monkeypatch):
    """A lecture hall sends the lecture's example hundreds of times: the trace is computed
    once, and the same bytes go to everyone; a different question is computed anew."""
    from app.services import operations

    calls = []
    traced = operations.trace
    monkeypatch.setattr(operations, "trace", lambda *a, **k: calls.append(a) or traced(*a, **k))
    body = {**D2L, "bias": 0.3141}  # asked by no other test of this (session) client
    first, second = client.post(URL, json=body), client.post(URL, json=body)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and len(calls) == 1
    reordered = dict(reversed(list(body.items())))  # the same question, keys in another order
    assert client.post(URL, json=reordered).content == first.content and len(calls) == 1
    other = client.post(URL, json={**body, "bias": 0.2718})
    assert other.json()["bias"] != first.json()["bias"] and len(calls) == 2
