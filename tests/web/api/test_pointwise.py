"""GET /api/pointwise/presets, and a preset through POST /api/convolution as a 1×1 kernel."""

from __future__ import annotations

import torch

from tests.utils.tolerance import assert_close


def test_presets_run_through_the_convolution_endpoint(client):
    data = client.get("/api/pointwise/presets").json()
    assert set(data) == {"presets", "default_preset", "limits"}
    preset = next(p for p in data["presets"] if p["name"] == data["default_preset"])
    weights = torch.tensor(preset["weights"], dtype=torch.float64)
    body = {
        "input": preset["input"],
        "kernel": weights[:, :, None, None].tolist(),
        "bias": preset["bias"],
    }
    trace = client.post("/api/convolution", json=body).json()
    x = torch.tensor(preset["input"], dtype=torch.float64)
    bias = torch.tensor(preset["bias"], dtype=torch.float64)[:, None, None]
    mixed = torch.einsum("oc,chw->ohw", weights, x) + bias
    # float64 on both sides: 3 products and the bias, in another order
    scale = float((torch.einsum("oc,chw->ohw", weights.abs(), x.abs()) + bias.abs()).max())
    assert_close(trace["output"], mixed, terms=3 + 1, scale=scale)
    assert trace["parameters"]["conv_expression"] == "(1·1·3 + 1)·2 = 8"
