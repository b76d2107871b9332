"""POST /api/convolution with `dims` 1 and 3, the padding as numbers per side, 'same' and
'valid', and `padding_mode`: values against torch, and every bad new field refused with a
sentence."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

URL = "/api/convolution"


def ints(shape, low=-3, high=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(low, high, shape, generator=gen).double()


def test_one_dimensional_signal_matches_conv1d(client):
    x, w = ints((2, 12)), ints((3, 2, 3), seed=1)
    body = {
        "dims": 1, "input": x.tolist(), "kernel": w.tolist(), "bias": [1, 0, -1],
        "stride": 2, "padding": [2, 1], "dilation": 2,
    }  # fmt: skip
    response = client.post(URL, json=body)
    assert response.status_code == 200
    data = response.json()
    expected = F.conv1d(F.pad(x[None], (2, 1)), w, torch.tensor([1.0, 0, -1]).double(), 2, 0, 2)
    assert data["output"] == expected[0].tolist()  # small integers: exact
    assert data["dims"] == 1 and data["pads"] == [[2, 1]] and data["padding"] == [2]
    assert data["output_shape"] == [3, expected.shape[-1]]
    assert data["steps"][1]["position"] == [0, 1] and data["steps"][1]["window"] == [2]
    assert set(data["formula"]) == {"L"}
    assert data["formula"]["L"]["substituted"].startswith("L' = ⌊(12 + 2 + 1 − 2·(3 − 1) − 1) / 2⌋")
    assert data["parameters"]["conv"] == (3 * 2 + 1) * 3


def test_one_dimensional_single_channel_signal_and_kernel(client):
    data = client.post(URL, json={"dims": 1, "input": [1, 2, 3, 4], "kernel": [1, -1]}).json()
    assert data["output"] == [[-1, -1, -1]]
    assert data["padded_input"] == [[1, 2, 3, 4]]


def test_three_dimensional_volume_matches_conv3d_with_a_padding_mode(client):
    x, w = ints((2, 4, 5, 3)), ints((2, 2, 2, 3, 2), seed=2)
    body = {
        "dims": 3, "input": x.tolist(), "kernel": w.tolist(), "padding": [1, 2, 1],
        "padding_mode": "replicate", "stride": [1, 2, 1],
    }  # fmt: skip
    data = client.post(URL, json=body).json()
    layer = torch.nn.Conv3d(2, 2, (2, 3, 2), stride=(1, 2, 1), padding=(1, 2, 1),
                            padding_mode="replicate", bias=False, dtype=torch.float64)  # fmt: skip
    with torch.no_grad():
        layer.weight.copy_(w)
        expected = layer(x[None])[0]
    assert data["output"] == expected.tolist()
    assert data["padded_input"] == F.pad(x[None], (1, 1, 2, 2, 1, 1), mode="replicate")[0].tolist()
    assert data["steps"][0]["position"] == [0, 0, 0, 0]
    assert len(data["steps"][0]["terms"]) == 2 * 2 * 3 * 2
    assert list(data["formula"]) == ["D", "H", "W"]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_every_padding_mode_matches_torch_in_two_dimensions(client, mode):
    x, w = ints((1, 4, 5)), ints((1, 1, 3, 3), seed=3)
    body = {"input": x.tolist(), "kernel": w.tolist(), "padding": [1, 2], "padding_mode": mode}
    data = client.post(URL, json=body).json()
    layer = torch.nn.Conv2d(1, 1, 3, padding=(1, 2), padding_mode=mode, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(w)
        assert data["output"] == layer(x[None])[0].tolist()
    assert data["padding_mode"] == mode


def test_same_valid_and_four_numbers(client):
    x, w = ints((4, 5)), ints((2, 2), seed=4)
    same = client.post(URL, json={"input": x.tolist(), "kernel": w.tolist(), "padding": "same"})
    assert same.json()["pads"] == [[0, 1], [0, 1]]  # torch: the extra row and column after
    expected = F.conv2d(F.pad(x[None, None], (0, 1, 0, 1)), w[None, None])[0]
    assert same.json()["output"] == expected.tolist()
    slide = client.post(
        URL, json={"input": x.tolist(), "kernel": w.tolist(), "padding": [1, 0, 1, 0]}
    )
    assert slide.json()["pads"] == [[1, 0], [1, 0]]  # seed 000: ⌈p/2⌉ on top
    assert (
        slide.json()["output"]
        == F.conv2d(F.pad(x[None, None], (1, 0, 1, 0)), w[None, None])[0].tolist()
    )
    valid = client.post(URL, json={"input": x.tolist(), "kernel": w.tolist(), "padding": "valid"})
    assert valid.json()["output_shape"] == [1, 3, 4]


def test_two_dimensional_answers_keep_their_layout(client):
    body = {"input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "kernel": [[0, 1], [2, 3]], "padding": 1}
    data = client.post(URL, json=body).json()
    assert data["dims"] == 2 and data["padding"] == [1, 1] and data["pads"] == [[1, 1], [1, 1]]
    assert data["padding_mode"] == "zeros"
    assert data["formula"]["H"]["symbolic"] == "H' = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1"


D1 = {"dims": 1, "input": [1, 2, 3, 4], "kernel": [1, -1]}
D3 = {"dims": 3, "input": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "kernel": [[[1]]]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**D1, "dims": 4}, "dims must be 1, 2 or 3, not 4"),
        ({**D1, "dims": "1"}, "dims must be 1, 2 or 3, not '1'"),
        ({**D1, "dims": 1.0}, "dims must be 1, 2 or 3, not 1.0"),
        ({**D1, "dims": None}, "dims must be 1, 2 or 3, not None"),
        ({**D1, "input": [[[1, 2]]]}, "input of a 1-D convolution must be L or C×L"),
        ({**D1, "kernel": [[[[1]]]]}, "kernel of a 1-D convolution must be k, C×k or O×C×k"),
        ({**D1, "kernel": [1] * 5}, "the size-5 kernel is larger than the padded input (4)"),
        ({**D1, "input": [0] * 257}, "input is 257 long; the limit is 256"),
        ({**D1, "kernel": [[1, 2], [3, 4]]}, "kernel has 2 input channels but the input has 1"),
        ({**D1, "stride": [1, 2]}, "stride must be one integer, [length]"),
        ({**D1, "padding": [1, 2, 3]}, "padding must be one integer, [length], [left, right]"),
        ({**D1, "padding": 4, "padding_mode": "reflect"}, "4 ≥ 4 positions along L"),
        ({**D1, "padding": 5, "padding_mode": "circular"}, "5 > 4 positions along L"),
        ({**D3, "input": [[1, 2]]}, "input of a 3-D convolution must be D×H×W or C×D×H×W"),
        ({**D3, "kernel": [[[1] * 8]]}, "kernel is 1×1×8; the limit is 7×7×7"),
        ({**D3, "input": [[[0]] * 25]}, "input is 1×25×1; the limit is 24×24×24 per channel"),
        ({**D3, "dilation": [1, 1]}, "dilation must be one integer or three"),
        ({**D3, "padding": 9}, "padding must be at most 8 (got 9)"),
        ({**D3, "padding": [0, 0, 0, 0, 2, 0], "padding_mode": "reflect"}, "2 ≥ 2 columns along W"),
        (
            {
                "dims": 3,
                "input": [[[0] * 24] * 24] * 24,
                "kernel": [[[1] * 3] * 3] * 3,
                "padding": 1,
            },
            "this trace would have 373,248 multiplications; the limit is 300,000",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": "same", "stride": 2},
            "padding 'same' needs stride 1",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": "full"},
            "padding 'full' is not known",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": True},
            "padding must be a whole number, not True",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": [1, "a", 0, 0]},
            "padding must be a whole number, not 'a'",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": [0, 0, 0, -2]},
            "padding must be at least 0 (got -2)",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": {"top": 1}},
            "padding must be a whole number",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding": 2, "padding_mode": "reflect"},
            "reflect padding mirrors the input without its edge",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding_mode": "mirror"},
            "padding_mode 'mirror' is not known",
        ),
        (
            {"input": [[1, 2], [3, 4]], "kernel": [[1]], "padding_mode": 0},
            "padding_mode 0 is not known",
        ),
    ],
)
def test_bad_new_fields_get_422_and_a_sentence(client, body, message):
    response = client.post(URL, json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
