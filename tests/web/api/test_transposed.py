"""POST /api/transposed-convolution: exact keys, values against torch, and bad input."""

from __future__ import annotations

import torch
import torch.nn.functional as F

URL = "/api/transposed-convolution"
SLIDE = {"input": [[1, 0], [2, 3]], "kernel": [[0, 1], [1, 0]], "stride": 2}
RESPONSE_KEYS = {
    "output",
    "output_shape",
    "input",
    "kernel",
    "bias",
    "stride",
    "padding",
    "output_padding",
    "dilation",
    "footprint",
    "formula",
    "steps",
    "equivalent",
}


def test_response_has_exactly_the_documented_keys(client):
    response = client.post(URL, json=SLIDE)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == RESPONSE_KEYS
    assert data["output"] == [[[0, 1, 0, 0], [1, 0, 0, 0], [0, 2, 0, 3], [2, 0, 3, 0]]]
    assert data["output_shape"] == [1, 4, 4]
    assert data["kernel"] == [[[[0, 1], [1, 0]]]]
    assert len(data["steps"]) == 4
    assert data["steps"][3] == {
        "source": [0, 1, 1],
        "value": 3.0,
        "origin": [2, 2],
        "cells": [[0, 2, 2], [0, 2, 3], [0, 3, 2], [0, 3, 3]],
        "added": [0, 3, 3, 0],
        "totals": [0, 3, 3, 0],
    }
    assert set(data["equivalent"]) == {"zero_inserted", "padding", "input", "kernel", "dilation"}
    assert data["equivalent"]["zero_inserted"] == [[[1, 0, 0], [0, 0, 0], [2, 0, 3]]]
    assert data["equivalent"]["padding"] == [1, 1, 1, 1]
    assert data["formula"]["H"]["substituted"] == "H' = (2 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 4"


def test_channels_and_every_setting_match_conv_transpose2d(client):
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(-3, 4, (2, 3, 4), generator=gen).double()
    w = torch.randint(-2, 3, (2, 3, 3, 2), generator=gen).double()
    body = {
        "input": x.tolist(),
        "kernel": w.tolist(),
        "bias": [1, -1, 0.5],
        "stride": [2, 3],
        "padding": [1, 0],
        "output_padding": [1, 2],
        "dilation": [1, 2],
    }
    data = client.post(URL, json=body).json()
    expected = F.conv_transpose2d(
        x[None],
        w,
        torch.tensor([1, -1, 0.5], dtype=torch.float64),
        stride=(2, 3),
        padding=(1, 0),
        output_padding=(1, 2),
        dilation=(1, 2),
    )[0]
    assert data["output"] == expected.tolist()
    assert data["output_shape"] == list(expected.shape)
    equivalent = F.conv2d(
        torch.tensor(data["equivalent"]["input"])[None].double(),
        torch.tensor(data["equivalent"]["kernel"]).double(),
        torch.tensor(data["bias"]).double(),
        dilation=(1, 2),
    )[0]
    assert torch.equal(equivalent, expected)  # small integers and halves: exact in float64


def test_output_padding_below_the_dilation_is_accepted_as_torch_accepts_it(client):
    x = torch.tensor([[1.0, 2, 0], [3, -1, 2]], dtype=torch.float64)
    w = torch.tensor([[1.0, 0], [-2, 1]], dtype=torch.float64)
    body = {"input": x.tolist(), "kernel": w.tolist(), "dilation": [3, 2], "output_padding": [2, 1]}
    response = client.post(URL, json=body)
    assert response.status_code == 200
    expected = F.conv_transpose2d(
        x[None, None], w[None, None], dilation=(3, 2), output_padding=(2, 1)
    )[0]
    assert response.json()["output"] == expected.tolist()  # small integers: exact
    refused = client.post(URL, json={**body, "output_padding": [3, 1]})
    assert refused.status_code == 422
    assert "(3 ≥ 3 for the rows: stride 1, dilation 3)" in refused.json()["detail"]


def test_presets_endpoint(client):
    data = client.get(f"{URL}/presets").json()
    assert set(data) == {"presets", "default_preset", "limits"}
    preset = next(p for p in data["presets"] if p["name"] == "slides_upsampling")
    assert "The slide prints" in preset["note"]
    assert data["limits"]["max_size"] == 16
