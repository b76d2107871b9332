"""POST /api/transposed-convolution: exact keys, values against torch, and bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.utils.work import forbid_traces

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


BAD = [
    ({**SLIDE, "input": [[1, 0], [2]]}, "input[1] has 1 entries where 2 were expected"),
    ({**SLIDE, "kernel": [[0, "a"], [1, 0]]}, "kernel[0][1] is the text 'a', not a number"),
    ({**SLIDE, "stride": 0}, "stride must be at least 1 (got 0)"),
    ({**SLIDE, "padding": -1}, "padding must be at least 0 (got -1)"),
    ({**SLIDE, "dilation": 0}, "dilation must be at least 1 (got 0)"),
    ({**SLIDE, "output_padding": 2}, "output_padding must be smaller than the stride (2 ≥ 2"),
    ({**SLIDE, "stride": 1, "output_padding": 1}, "output_padding must be smaller than"),
    ({**SLIDE, "output_padding": -1}, "output_padding must be at least 0 (got -1)"),
    ({**SLIDE, "padding": 3}, "padding 3 crops 2·3 = 6 rows from a result 4 rows long"),
    ({**SLIDE, "kernel": [[[1]]]}, "kernel must be kh×kw or C_in×C_out×kh×kw"),
    ({**SLIDE, "kernel": [[[[1]]], [[[1]]]]}, "kernel has 2 input channels (its first axis)"),
    ({**SLIDE, "bias": [1, 2]}, "bias has 2 values but there are 1 output channels"),
    ({**SLIDE, "stride": 5}, "stride must be at most 4"),
    ({**SLIDE, "input": [[0] * 17]}, "input is 1×17; the limit is 16×16 per channel"),
    ({**SLIDE, "kernel": [[0] * 8] * 8}, "kernel is 8×8; the limit is 7×7"),
    (
        {"input": [[[1] * 16] * 16] * 8, "kernel": [[[[1] * 7] * 7] * 8] * 8},
        "this trace would have 802,816 multiplications; the limit is 300,000",
    ),
    ({"kernel": [[1]]}, "input is required"),
    ({**SLIDE, "groups": 2}, "Unknown field 'groups'"),
]


@pytest.mark.parametrize(("body", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_input_gets_422_naming_the_problem_before_any_work(client, monkeypatch, body, message):
    forbid_traces(monkeypatch)
    response = client.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"input": [[NaN]], "kernel": [[1]]}', "input[0][0] is nan"),
        ('{"input": [[1]], "kernel": [[-Infinity]]}', "kernel[0][0] is -inf"),
        ('{"input": [[1]], "kernel": [[1]], "bias": NaN}', "bias is nan"),
    ],
)
def test_non_finite_numbers_are_refused(client, raw, message):
    response = client.post(URL, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_presets_endpoint(client):
    data = client.get(f"{URL}/presets").json()
    assert set(data) == {"presets", "default_preset", "limits"}
    preset = next(p for p in data["presets"] if p["name"] == "slides_upsampling")
    assert "The slide prints" in preset["note"]
    assert data["limits"]["max_size"] == 16
