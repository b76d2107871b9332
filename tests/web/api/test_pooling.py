"""POST /api/pooling and /api/pooling/shift: exact keys, values against torch, bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

URL = "/api/pooling"
LEONG = [[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]
BODY = {"input": LEONG, "kind": "max", "size": 2}
RESPONSE_KEYS = {
    "output",
    "output_shape",
    "padded_input",
    "kind",
    "size",
    "stride",
    "padding",
    "area",
    "formula",
    "steps",
}


def test_max_response_has_exactly_the_documented_keys(client):
    response = client.post(URL, json=BODY)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == RESPONSE_KEYS
    assert data["output"] == [[[20, 30], [112, 37]]]
    assert data["output_shape"] == [1, 2, 2]
    assert (data["size"], data["stride"], data["padding"], data["area"]) == (
        [2, 2],
        [2, 2],
        [0, 0],
        4,
    )
    assert data["steps"][2] == {
        "position": [0, 1, 0],
        "window": [2, 0],
        "values": [34, 70, 112, 100],
        "value": 112.0,
        "winner": [3, 0],
    }
    assert data["formula"]["H"]["substituted"] == "H' = ⌊(4 + 2·0 − 2) / 2⌋ + 1 = 2"


@pytest.mark.parametrize(("kind", "factor"), [("avg", 1), ("sum", 4)])
def test_average_and_sum_count_padded_cells_as_zeros(client, kind, factor):
    x = torch.arange(9, dtype=torch.float64).reshape(3, 3)
    body = {"input": x.tolist(), "kind": kind, "size": 2, "stride": 2, "padding": 1}
    data = client.post(URL, json=body).json()
    expected = F.avg_pool2d(x[None, None], 2, 2, 1)[0] * factor
    assert data["output"] == expected.tolist()
    assert data["steps"][0]["values"] == [0, 0, 0, 0]
    assert "winner" not in data["steps"][0]
    assert data["padded_input"][0][0] == [0, 0, 0, 0, 0]


def test_max_padding_is_null_and_channels_are_pooled_separately(client):
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(-9, 10, (3, 5, 6), generator=gen).double()
    body = {"input": x.tolist(), "kind": "max", "size": [3, 2], "stride": [2, 1], "padding": 1}
    data = client.post(URL, json=body).json()
    expected = F.max_pool2d(x[None], (3, 2), (2, 1), 1)[0]
    assert data["output"] == expected.tolist()
    assert data["padded_input"][0][0][0] is None
    assert data["steps"][0]["values"][:3] == [None, None, None]
    assert [s["position"][0] for s in data["steps"]] == sorted(
        s["position"][0] for s in data["steps"]
    )


EDGES = [[1, 1, 0, 0, 0, 0, 1, 1]] * 6


def test_shift_compares_convolution_and_max_pooling(client):
    body = {"input": EDGES, "kernel": [[1, -1]], "shift": "right", "size": 2, "stride": 1}
    data = client.post("/api/pooling/shift", json=body).json()
    assert set(data) == {
        "input",
        "shifted",
        "kernel",
        "direction",
        "size",
        "stride",
        "conv",
        "pooled",
    }
    assert set(data["conv"]) == {
        "before",
        "after",
        "difference",
        "changed",
        "total",
        "fraction",
        "relative",
    }
    assert data["shifted"][0] == [0, 1, 1, 0, 0, 0, 0, 1]
    x = torch.tensor(EDGES, dtype=torch.float64)[None, None]
    conv = F.conv2d(x, torch.tensor([[[[1.0, -1]]]], dtype=torch.float64))[0]
    assert data["conv"]["before"] == conv[0].tolist()
    assert data["pooled"]["before"] == F.max_pool2d(conv, 2, 1)[0].tolist()
    assert (data["conv"]["changed"], data["pooled"]["changed"]) == (30, 10)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shift": "sideways"}, "unknown shift 'sideways'; use one of right, left, down, up"),
        ({"input": [[[1, 2]]]}, "input has more than 2 levels of nesting"),
        ({"kernel": [[1] * 9]}, "the 1×9 kernel is larger than the padded input (6×8)"),
        ({"size": 9}, "the 9×9 window is larger than the padded input (6×7)"),
        ({"input": [[1, None]]}, "input[0][1] is null, not a number"),
    ],
)
def test_shift_refuses_bad_input(client, change, message):
    body = {"input": EDGES, "kernel": [[1, -1]], "shift": "right", **change}
    response = client.post("/api/pooling/shift", json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_presets_endpoint(client):
    data = client.get("/api/pooling/presets").json()
    assert set(data) == {
        "presets",
        "default_preset",
        "kinds",
        "limits",
        "shifts",
        "demos",
        "kernels",
        "adaptive",
    }
    assert data["kinds"] == ["max", "avg", "sum"]
    assert data["default_preset"] in [p["name"] for p in data["presets"]]
    assert data["demos"][0]["name"] == "d2l_edges"
    digit = data["demos"][1]
    assert len(digit["input"]) == 28 and max(map(max, digit["input"])) <= 255


def test_openapi_documents_padding_and_sum(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/pooling"]["post"]
    assert "count_include_pad=True" in operation["description"]
    assert "sum = `F.avg_pool2d` × window area" in operation["description"]


def test_hostile_values_are_not_echoed_in_full(client):
    for body in (
        {**BODY, "kind": "x" * 100_000},
        {**BODY, "kind": ["max"] * 1000},
    ):
        response = client.post(URL, json=body)
        assert response.status_code == 422
        assert response.json()["detail"].startswith("unknown kind ")
        assert len(response.json()["detail"]) < 120
    response = client.post(
        "/api/pooling/shift",
        json={"input": [[1]], "kernel": [[1]], "shift": {"a": "b" * 10_000}},
    )
    assert response.status_code == 422
    assert len(response.json()["detail"]) < 120
