"""From a dense layer to a convolution: every stage against an independent torch
computation (the dense layer as an einsum of the 4-D weights built entry by entry, the
convolution as F.conv2d), over image sizes, Δ and starting layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ops.dense_conv import dense_to_convolution, initial_weights
from tests.utils.tolerance import assert_close, magnitude


def tensor(value):
    return torch.as_tensor(value, dtype=torch.float64)


def tied_reference(weights):
    """The mean of W over each offset, entry by entry (no vectorised indexing)."""
    h, w = weights.shape[:2]
    sums = torch.zeros(2 * h - 1, 2 * w - 1, dtype=torch.float64)
    counts = torch.zeros(2 * h - 1, 2 * w - 1, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            for k in range(h):
                for l in range(w):  # noqa: E741
                    sums[k - i + h - 1, l - j + w - 1] += weights[i, j, k, l]
                    counts[k - i + h - 1, l - j + w - 1] += 1
    return sums / counts, counts


def dense_of(offsets, h, w):
    """W[i, j, k, l] = V[k − i, l − j], entry by entry."""
    weights = torch.zeros(h, w, h, w, dtype=torch.float64)
    for i in range(h):
        for j in range(w):
            for k in range(h):
                for l in range(w):  # noqa: E741
                    weights[i, j, k, l] = offsets[k - i + h - 1, l - j + w - 1]
    return weights


@st.composite
def cases(draw):
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randn(h, w, generator=gen, dtype=torch.float64)
    weights = torch.randn(h, w, h, w, generator=gen, dtype=torch.float64)
    return x, weights, draw(st.integers(0, 6))


@settings(max_examples=30, deadline=None)
@given(case=cases())
def test_every_stage_equals_its_constrained_dense_layer_and_conv2d(case):
    x, weights, delta = case
    h, w = x.shape
    answer = dense_to_convolution(input=x.tolist(), weights=weights.tolist(), delta=delta)
    dense, shared, local = answer["stages"]
    n = h * w
    terms = n

    assert dense["parameters"] == n * n
    assert_close(dense["weights"], weights.reshape(n, n))
    expected = torch.einsum("ijkl,kl->ij", weights, x)
    assert_close(
        dense["output"],
        expected,
        terms=terms,
        scale=magnitude(torch.einsum, "ijkl,kl->ij", weights, x),
    )

    offsets, counts = tied_reference(weights)
    assert shared["parameters"] == (2 * h - 1) * (2 * w - 1)
    assert_close(shared["offsets"], offsets, terms=n)
    assert tensor(shared["counts"]).equal(counts)
    tied = dense_of(offsets, h, w)
    assert_close(shared["weights"], tied.reshape(n, n), terms=n)
    scale = magnitude(F.conv2d, x[None, None], offsets[None, None], padding=(h - 1, w - 1))
    by_conv = F.conv2d(x[None, None], offsets[None, None], padding=(h - 1, w - 1))[0, 0]
    assert_close(shared["output"], torch.einsum("ijkl,kl->ij", tied, x), terms=2 * n, scale=scale)
    assert_close(shared["convolution"], by_conv, terms=2 * n, scale=scale)
    assert shared["difference"] <= 4 * n * torch.finfo(torch.float64).eps * max(scale, 1e-300)

    dh, dw = min(delta, h - 1), min(delta, w - 1)
    kernel = offsets[h - 1 - dh : h + dh, w - 1 - dw : w + dw]
    assert local["parameters"] == (2 * dh + 1) * (2 * dw + 1)
    assert_close(local["kernel"], kernel, terms=n)
    by_conv = F.conv2d(x[None, None], kernel[None, None], padding=(dh, dw))[0, 0]
    masked = offsets.clone()
    a = torch.arange(2 * h - 1)[:, None] - (h - 1)
    b = torch.arange(2 * w - 1)[None, :] - (w - 1)
    masked[(a.abs() > delta) | (b.abs() > delta)] = 0
    local_dense = dense_of(masked, h, w)
    assert_close(local["weights"], local_dense.reshape(n, n), terms=n)
    assert_close(
        local["output"], torch.einsum("ijkl,kl->ij", local_dense, x), terms=2 * n, scale=scale
    )
    assert_close(local["convolution"], by_conv, terms=2 * n, scale=scale)
    assert local["padding"] == [dh, dw]


def test_six_by_six_counts_fall_from_1296_to_121_to_9():
    x = torch.arange(36, dtype=torch.float64).reshape(6, 6)
    answer = dense_to_convolution(input=x.tolist(), delta=1, init="random", seed=3)
    assert [s["parameters"] for s in answer["stages"]] == [1296, 121, 9]
    assert [s["count"] for s in answer["stages"]] == [
        "6·6·6·6 = 1,296",
        "(2·6 − 1)·(2·6 − 1) = 121",
        "3·3 = 9",
    ]


@pytest.mark.parametrize("init", ["blur", "edge"])
def test_a_hidden_kernel_is_recovered_up_to_the_averaged_noise(init):
    weights = initial_weights(init, 6, 6, seed=1)
    answer = dense_to_convolution(input=[[0] * 6] * 6, weights=weights.tolist(), delta=1)
    kernel = tensor(answer["stages"][2]["kernel"])
    hidden = {
        "blur": [[1, 2, 1], [2, 4, 2], [1, 2, 1]],
        "edge": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    }
    assert (kernel - tensor(hidden[init])).abs().max() <= 1  # the mean of noise in −1…1


def test_the_same_seed_gives_the_same_layer():
    one = initial_weights("random", 4, 5, seed=7)
    assert one.equal(initial_weights("random", 4, 5, seed=7))
    assert not one.equal(initial_weights("random", 4, 5, seed=8))
    assert one.shape == (4, 5, 4, 5) and one.abs().max() <= 3


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input": [[1] * 9] * 9}, "input is 9×9; the limit is 8×8"),
        ({"delta": -1}, "delta (Δ) must be from 0 to 7 (got -1)"),
        ({"delta": 1.5}, "delta (Δ) must be a whole number"),
        ({"init": "gauss"}, "unknown init 'gauss': use random, blur or edge"),
        ({"seed": -4}, "seed must be from 0"),
        ({"weights": [[[[1]]]]}, "weights are 1×1×1×1 but a dense layer from a 2×2 input"),
        ({"input": [1, 2]}, "input must be an H×W grid"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(fields, message):
    with pytest.raises(ValueError, match=None) as error:
        dense_to_convolution(**{"input": [[1, 2], [3, 4]], **fields})
    assert message in str(error.value)
