"""POST /api/dense-to-convolution, /api/normalization and /api/pooling/adaptive: the keys,
values against torch, and every bad input answered with 422 and a sentence."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.utils.tolerance import assert_close

DENSE = "/api/dense-to-convolution"
NORM = "/api/normalization"
ADAPTIVE = "/api/pooling/adaptive"
IMAGE = [[1, 1, 0, 0, 1, 1] for _ in range(6)]
BATCH = [[[[1, 2], [3, 4]], [[5, 6], [7, 9]]], [[[0, 2], [1, 1]], [[4, 4], [8, 2]]]]


def test_dense_stages_and_the_final_convolution(client):
    response = client.post(DENSE, json={"input": IMAGE, "delta": 1, "init": "edge", "seed": 5})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"input", "size", "delta", "stages"}
    assert [s["name"] for s in data["stages"]] == ["dense", "shared", "local"]
    assert [s["parameters"] for s in data["stages"]] == [1296, 121, 9]
    local = data["stages"][2]
    assert set(local) == {
        "name", "parameters", "count", "offsets", "kernel", "weights", "output",
        "convolution", "padding", "difference",
    }  # fmt: skip
    x = torch.tensor(IMAGE, dtype=torch.float64)
    kernel = torch.tensor(local["kernel"], dtype=torch.float64)
    expected = F.conv2d(x[None, None], kernel[None, None], padding=1)[0, 0]
    assert_close(local["output"], expected, terms=9, scale=float(kernel.abs().sum()))
    assert_close(local["convolution"], expected, terms=9, scale=float(kernel.abs().sum()))
    assert len(data["stages"][0]["weights"]) == 36 and len(data["stages"][0]["weights"][0]) == 36


def test_dense_with_given_weights_is_a_matrix_product(client):
    gen = torch.Generator().manual_seed(0)
    weights = torch.randint(-2, 3, (3, 4, 3, 4), generator=gen).double()
    x = torch.randint(0, 5, (3, 4), generator=gen).double()
    body = {"input": x.tolist(), "weights": weights.tolist(), "delta": 0}
    data = client.post(DENSE, json=body).json()
    assert (
        data["stages"][0]["output"]
        == (weights.reshape(12, 12) @ x.reshape(-1)).reshape(3, 4).tolist()
    )
    diagonal = torch.stack([weights[i, j, i, j] for i in range(3) for j in range(4)])
    assert_close(data["stages"][2]["kernel"], [[diagonal.mean().item()]], terms=12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input": [[0] * 9] * 9}, "input is 9×9; the limit is 8×8"),
        ({"delta": 8}, "delta (Δ) must be from 0 to 7 (got 8)"),
        ({"delta": "1"}, "delta (Δ) must be a whole number"),
        ({"init": "zeros"}, "unknown init 'zeros': use random, blur or edge"),
        ({"seed": 2**40}, "seed must be from 0 to 2147483647"),
        ({"weights": [[[[1]]]]}, "weights are 1×1×1×1"),
        ({"input": [[1, None]]}, "input[0][1] is null, not a number"),
        ({"window": 3}, "window"),
    ],
)
def test_dense_refuses_bad_input(client, change, message):
    response = client.post(DENSE, json={"input": IMAGE, **change})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("kind", ["batch", "layer", "group", "instance"])
def test_normalization_of_each_kind_equals_torch(client, kind):
    x = torch.tensor(BATCH, dtype=torch.float64)
    gamma, beta = [2.0, 0.5], [1.0, -1.0]
    body = {"input": BATCH, "kind": kind, "groups": 2, "gamma": gamma, "beta": beta, "eps": 0.01}
    response = client.post(NORM, json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    g, b = torch.tensor(gamma, dtype=torch.float64), torch.tensor(beta, dtype=torch.float64)
    expected = {
        "batch": lambda: F.batch_norm(x, None, None, g, b, training=True, eps=0.01),
        "layer": lambda: F.layer_norm(x, (2, 2, 2), g[:, None, None].expand(2, 2, 2),
                                      b[:, None, None].expand(2, 2, 2), eps=0.01),
        "group": lambda: F.group_norm(x, 2, g, b, eps=0.01),
        "instance": lambda: F.instance_norm(x, weight=g, bias=b, eps=0.01),
    }[kind]()  # fmt: skip
    assert_close(data["output"], expected, terms=16, scale=40)
    assert {"kind", "shape", "axes", "mode", "index", "mean", "var", "std", "normalized",
            "output", "gamma", "beta", "eps", "groups", "values"} <= set(data)  # fmt: skip
    assert ("running" in data) == (kind == "batch")


def test_batch_norm_running_statistics_follow_torch(client):
    x = torch.tensor(BATCH, dtype=torch.float64)
    mean, var = (
        torch.tensor([0.5, 1.0], dtype=torch.float64),
        torch.tensor([2.0, 3.0], dtype=torch.float64),
    )
    body = {"input": BATCH, "kind": "batch", "momentum": 0.25,
            "running_mean": mean.tolist(), "running_var": var.tolist()}  # fmt: skip
    running = client.post(NORM, json=body).json()["running"]
    F.batch_norm(x, mean, var, training=True, momentum=0.25)
    assert_close(running["mean_after"], mean, terms=16, scale=10)
    assert_close(running["var_after"], var, terms=16, scale=10)
    assert running["mean_before"] == [0.5, 1] and running["momentum"] == 0.25
    evaluated = client.post(NORM, json={**body, "mode": "eval"}).json()
    assert evaluated["running"]["mean_after"] == [0.5, 1] and evaluated["mean"] == [0.5, 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "group", "groups": 3}, "groups must divide the 2 channels"),
        ({"kind": "group", "groups": True}, "groups must be a whole number"),
        ({"kind": "spectral"}, "unknown kind 'spectral'"),
        ({"eps": -1}, "eps (ε) must be above 0"),
        ({"eps": "small"}, "eps (ε) is the text 'small', not a number"),
        ({"gamma": [1, 2, 3]}, "gamma (γ) has 3 values but there are 2"),
        ({"momentum": -0.1}, "momentum must be from 0 to 1"),
        ({"running_var": [-1, 1]}, "running_var must not be negative"),
        ({"mode": "inference"}, "unknown mode 'inference'"),
        ({"input": [[[1, 2]]]}, "input must be an O×C×H×W stack"),
        ({"input": [[[[0]]]] * 5}, "the limit is 4"),
        ({"input": [[[[1]]]]}, "training-mode BatchNorm needs more than one value per channel"),
    ],
)
def test_normalization_refuses_bad_input(client, change, message):
    response = client.post(NORM, json={"input": BATCH, "kind": "batch", **change})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_adaptive_pooling_equals_torch(client, kind):
    x = torch.arange(35, dtype=torch.float64).reshape(5, 7) % 9
    response = client.post(
        ADAPTIVE, json={"input": x.tolist(), "kind": kind, "output_size": [2, 3]}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    pool = F.adaptive_max_pool2d if kind == "max" else F.adaptive_avg_pool2d
    assert_close(data["output"], pool(x[None], (2, 3)), terms=12)
    assert data["rows"] == [[0, 3], [2, 5]] and data["cols"] == [[0, 3], [2, 5], [4, 7]]
    assert set(data) == {"input", "kind", "output", "output_shape", "rows", "cols", "steps"}
    assert len(data["steps"]) == 6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "sum"}, "adaptive pooling is max or avg"),
        ({"output_size": 0}, "output_size must be at least 1"),
        ({"output_size": [2, 99]}, "output_size must be at most 16"),
        ({"output_size": "2"}, "output_size"),
        ({"input": [[1] * 40]}, "the limit is 32×32"),
        ({"input": [[1, "a"]]}, "input[0][1] is the text 'a', not a number"),
    ],
)
def test_adaptive_pooling_refuses_bad_input(client, change, message):
    response = client.post(
        ADAPTIVE, json={"input": [[1, 2], [3, 4]], "kind": "max", "output_size": 2, **change}
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_openapi_documents_the_three_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    dense = paths[DENSE]["post"]
    assert "F.conv2d" in dense["description"] and "422" in dense["responses"]
    norm = paths[NORM]["post"]
    assert "F.group_norm" in norm["description"]
    assert "unbiased variance" in norm["description"]
    adaptive = paths[ADAPTIVE]["post"]
    assert "⌊i·H/H'⌋" in adaptive["description"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (NORM, {"input": BATCH, "kind": "x" * 100_000}),
        (NORM, {"input": BATCH, "kind": "batch", "mode": ["train"] * 1000}),
        (NORM, {"input": BATCH, "kind": "group", "groups": 10**400}),
        (DENSE, {"input": IMAGE, "init": "y" * 100_000}),
        (DENSE, {"input": IMAGE, "seed": 10**400}),
        (ADAPTIVE, {"input": [[1]], "kind": {"a": "b" * 10_000}, "output_size": 1}),
    ],
)
def test_hostile_values_are_not_echoed_in_full(client, url, body):
    response = client.post(url, json=body)
    assert response.status_code == 422, response.text
    assert len(response.json()["detail"]) < 160
