"""Batch, layer, group and instance normalisation against F.batch_norm, F.layer_norm,
F.group_norm and F.instance_norm (and BatchNorm's running statistics against the ones torch
updates in place), over batch shapes, groups, ε, γ, β and momentum."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.ops.normalization import normalize
from tests.utils.tolerance import assert_close

#: Roundings along one normalised value: the mean and variance sums (n terms each), then a
#: subtraction, a square root, a division, a product and a sum.
EXTRA = 8


@st.composite
def batches(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64) * 3 + 1
    gamma = torch.randn(c, generator=gen, dtype=torch.float64)
    beta = torch.randn(c, generator=gen, dtype=torch.float64)
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0]))
    return x, gamma, beta, eps


def run(x, gamma, beta, eps, **fields):
    return normalize(input=x.tolist(), gamma=gamma.tolist(), beta=beta.tolist(), eps=eps, **fields)


def values_per_statistic(x, kind, groups=1):
    n, c, h, w = x.shape
    return {"batch": n * h * w, "layer": c * h * w, "group": c // groups * h * w,
            "instance": h * w}[kind]  # fmt: skip


def smallest_std(x, kind, groups, eps):
    """The smallest √(var + ε) among the statistics, computed by torch."""
    n = x.shape[0]
    dims = {"batch": (0, 2, 3), "layer": (1, 2, 3), "instance": (2, 3)}
    if kind == "group":
        var = x.reshape(n, groups, -1).var(dim=-1, unbiased=False)
    else:
        var = x.var(dim=dims[kind], unbiased=False)
    return float((var + eps).sqrt().min())


def check(answer, expected, x, kind, groups=1, eps=1e-5, gamma=1.0, beta=0.0, std=None):
    """Within the bound for the terms of γ·(x − mean)/std + β: |x − mean| is summed with
    roundings of the mean's size, then divided by the smallest std (a flat group divides
    small differences by a small std: their error grows with them)."""
    terms = values_per_statistic(x, kind, groups) + EXTRA
    std = std if std is not None else smallest_std(x, kind, groups, eps)
    g = float(torch.as_tensor(gamma).abs().max())
    b = float(torch.as_tensor(beta).abs().max())
    scale = 2 * float(x.abs().max()) / std * g + b
    assert_close(answer["output"], expected, terms=terms, scale=scale)


@settings(max_examples=25, deadline=None)
@given(batch=batches(), momentum=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_batch_norm_in_training_equals_torch_and_updates_the_running_statistics(batch, momentum):
    x, gamma, beta, eps = batch
    n, c, h, w = x.shape
    assume(n * h * w > 1)
    gen = torch.Generator().manual_seed(c)
    running_mean = torch.randn(c, generator=gen, dtype=torch.float64)
    running_var = torch.rand(c, generator=gen, dtype=torch.float64) + 0.5
    answer = run(x, gamma, beta, eps, kind="batch", mode="train", momentum=momentum,
                 running_mean=running_mean.tolist(), running_var=running_var.tolist())  # fmt: skip
    expected = F.batch_norm(
        x, running_mean, running_var, gamma, beta, training=True, momentum=momentum, eps=eps
    )  # fmt: skip  (updates them in place)
    check(answer, expected, x, "batch", eps=eps, gamma=gamma, beta=beta)
    running = answer["running"]
    terms = n * h * w + EXTRA
    assert_close(
        running["mean_after"], running_mean, terms=terms, scale=float(running_mean.abs().max()) + 10
    )
    assert_close(
        running["var_after"], running_var, terms=terms, scale=float(running_var.abs().max()) + 10
    )
    assert_close(answer["mean"], x.mean(dim=(0, 2, 3)), terms=terms, scale=10)
    assert_close(
        answer["var"], x.var(dim=(0, 2, 3), unbiased=False), terms=terms, scale=float(x.var()) + 10
    )
    assert answer["index"].tolist() == [list(range(c))] * n
    assert answer["axes"] == ["N", "H", "W"] and answer["mode"] == "train"


@settings(max_examples=30, deadline=None)
@given(batch=batches())
def test_batch_norm_in_evaluation_uses_the_running_statistics_and_keeps_them(batch):
    x, gamma, beta, eps = batch
    c = x.shape[1]
    running_mean = torch.linspace(-1, 1, c, dtype=torch.float64)
    running_var = torch.linspace(0.5, 2, c, dtype=torch.float64)
    answer = run(x, gamma, beta, eps, kind="batch", mode="eval",
                 running_mean=running_mean.tolist(), running_var=running_var.tolist())  # fmt: skip
    expected = F.batch_norm(x, running_mean.clone(), running_var.clone(), gamma, beta,
                            training=False, eps=eps)  # fmt: skip
    std = float((running_var + eps).sqrt().min())
    check(answer, expected, x, "batch", gamma=gamma, beta=beta, std=std)
    assert answer["running"]["mean_after"].tolist() == running_mean.tolist()
    assert answer["running"]["var_after"].tolist() == running_var.tolist()
    assert answer["running"]["unbiased_var"] is None and answer["values"] is None


@settings(max_examples=25, deadline=None)
@given(batch=batches())
def test_layer_norm_equals_torch_over_c_h_w(batch):
    x, gamma, beta, eps = batch
    n, c, h, w = x.shape
    answer = run(x, gamma, beta, eps, kind="layer")
    shape = (c, h, w)
    expected = F.layer_norm(x, shape, gamma[:, None, None].expand(shape),
                            beta[:, None, None].expand(shape), eps=eps)  # fmt: skip
    check(answer, expected, x, "layer", eps=eps, gamma=gamma, beta=beta)
    assert answer["index"].tolist() == [[i] * c for i in range(n)]
    assert answer["mode"] is None


@settings(max_examples=25, deadline=None)
@given(batch=batches(), data=st.data())
def test_group_norm_equals_torch_for_every_divisor(batch, data):
    x, gamma, beta, eps = batch
    n, c = x.shape[:2]
    groups = data.draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    assume(n * (c // groups) * x.shape[2] * x.shape[3] > 1)  # torch refuses one value
    answer = run(x, gamma, beta, eps, kind="group", groups=groups)
    expected = F.group_norm(x, groups, gamma, beta, eps=eps)
    check(answer, expected, x, "group", groups, eps=eps, gamma=gamma, beta=beta)
    size = c // groups
    assert answer["index"].tolist() == [
        [m * groups + k // size for k in range(c)] for m in range(n)
    ]
    assert answer["values"].tolist() == [size * x.shape[2] * x.shape[3]] * (n * groups)


@settings(max_examples=25, deadline=None)
@given(batch=batches())
def test_instance_norm_equals_torch(batch):
    x, gamma, beta, eps = batch
    h, w = x.shape[2:]
    assume(h * w > 1)
    answer = run(x, gamma, beta, eps, kind="instance")
    expected = F.instance_norm(x, weight=gamma, bias=beta, eps=eps)
    check(answer, expected, x, "instance", eps=eps, gamma=gamma, beta=beta)
    assert_close(answer["std"], (x.var(dim=(2, 3), unbiased=False) + eps).sqrt().reshape(-1),
                 terms=h * w + EXTRA, scale=float(x.var()) + 10)  # fmt: skip


def test_one_gamma_and_beta_serve_every_channel():
    x = torch.arange(16, dtype=torch.float64).reshape(1, 4, 2, 2)
    answer = normalize(input=x.tolist(), kind="group", groups=2, gamma=2, beta=-1)
    expected = F.group_norm(x, 2, torch.full((4,), 2.0, dtype=torch.float64),
                            torch.full((4,), -1.0, dtype=torch.float64))  # fmt: skip
    assert_close(answer["output"], expected, terms=16, scale=10)


BASE = {"input": [[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]], "kind": "batch"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "weight"}, "unknown kind 'weight': use batch, layer, group, instance"),
        ({"kind": "group", "groups": 3}, "groups must divide the 2 channels"),
        ({"kind": "group", "groups": 0}, "groups must be a whole number of at least 1"),
        ({"eps": 0}, "eps (ε) must be above 0"),
        ({"eps": 2}, "eps (ε) must be above 0 and at most 1"),
        ({"gamma": [1, 2, 3]}, "gamma (γ) has 3 values but there are 2"),
        ({"momentum": 1.5}, "momentum must be from 0 to 1"),
        ({"running_var": [1, -1]}, "running_var must not be negative"),
        ({"mode": "test"}, "unknown mode 'test': use train, eval"),
        ({"input": [[[[1]]]]}, "training-mode BatchNorm needs more than one value per channel"),
        ({"kind": "instance", "input": [[[[1]]]]}, "InstanceNorm needs more than one value"),
        (
            {"kind": "group", "groups": 2, "input": [[[[1]], [[2]]]]},
            "GroupNorm of one example needs more than one value",
        ),
        ({"input": [[[[0] * 9] * 2]]}, "input has 9 rows or columns in a map; the limit is 8"),
        ({"input": [[[[0]]]] * 5}, "input has 5 examples in the batch (N); the limit is 4"),
        ({"input": [[[1, 2]]]}, "input must be an O×C×H×W stack"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(fields, message):
    with pytest.raises(ValueError) as error:
        normalize(**{**BASE, **fields})
    assert message in str(error.value)


def test_eval_mode_accepts_a_single_value_per_channel():
    answer = normalize(input=[[[[3.0]]]], kind="batch", mode="eval", running_mean=1.0,
                       running_var=4.0, eps=1e-5)  # fmt: skip
    expected = F.batch_norm(torch.tensor([[[[3.0]]]], dtype=torch.float64),
                            torch.tensor([1.0], dtype=torch.float64),
                            torch.tensor([4.0], dtype=torch.float64), eps=1e-5)  # fmt: skip
    assert_close(answer["output"], expected, terms=EXTRA, scale=2)
