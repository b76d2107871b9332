"""Occlusion's incremental passes (app/explain/saliency/incremental.py) give the logits of a
full forward pass of the occluded image: in float64, for any image size (square or not),
square, stride and position, including the last position that sticks out past the border;
and occlusion with them equals occlusion without them."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from app.explain.saliency.incremental import Incremental, plan_for
from app.explain.saliency.occlusion import Occlusion, starts
from app.nets.registry import get_model
from tests.utils.tolerance import assert_close, network_terms


@pytest.fixture(scope="module")
def efficientnet64():
    return copy.deepcopy(get_model("efficientnet-lite0")).double()


def hidden(x: torch.Tensor, value: torch.Tensor, positions, patch: int) -> torch.Tensor:
    """The occluded images, made the plain way."""
    out = x.repeat(len(positions), 1, 1, 1)
    for j, (r, c) in enumerate(positions):
        out[j, :, r : r + patch, c : c + patch] = value[0, :, r : r + patch, c : c + patch]
    return out


@settings(max_examples=6)
@given(
    height=st.integers(33, 80),
    width=st.integers(33, 80),
    patch=st.integers(1, 32),
    step=st.floats(0.2, 1.0),
    picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_the_incremental_logits_are_a_full_passs(efficientnet64, height, width, patch, step,
                                                  picks, seed):  # fmt: skip
    model = efficientnet64
    patch = min(patch, height, width)
    stride = max(1, int(patch * step))
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, height, width, dtype=torch.float64, generator=generator)
    value = torch.randn(1, 3, 1, 1, dtype=torch.float64, generator=generator).expand_as(x)
    rows, cols = starts(height, patch, stride), starts(width, patch, stride)
    every = [(r, c) for c in cols for r in rows]
    positions = [every[p % len(every)] for p in picks] + [every[-1]]  # the last sticks out
    passes = Incremental(plan_for(model), x, patch, rows, cols)
    with torch.inference_mode():
        want = model(hidden(x, value, positions, patch))
        if not passes.saves:
            return  # the square reaches most of every map: every pass runs in full
        got = passes.logits([r for r, _ in positions], [c for _, c in positions], value)
    assert_close(got, want, terms=network_terms(model))


def test_the_default_square_on_a_photo_is_computed_incrementally_then_in_full():
    model = get_model("efficientnet-lite0")
    rows = starts(224, 32, 16)
    passes = Incremental(plan_for(model), torch.zeros(1, 3, 224, 224), 32, rows, rows)
    assert 0 < passes.stop < len(passes.plan.ends)  # crops first, the full maps after


def test_only_known_networks_in_eval_mode_have_a_plan():
    assert plan_for(get_model("lenet5")) is None
    assert plan_for(get_model("simple-cnn")) is None
    training = copy.deepcopy(get_model("efficientnet-lite0")).train()
    assert plan_for(training) is None  # BatchNorm in train mode is not pointwise


def test_occlusion_with_and_without_the_incremental_passes_agree():
    model = get_model("efficientnet-lite0")
    x = torch.randn(1, 3, 96, 80, generator=torch.Generator().manual_seed(1))
    fast = Occlusion(model, patch=24, stride=12).attribute(x, 285)
    plain = Occlusion(model, patch=24, stride=12, incremental=False).attribute(x, 285)
    with torch.inference_mode():
        scale = float(model(x).abs().max())  # a drop is a difference of two such logits
    assert_close(fast, plain, terms=2 * network_terms(model), scale=scale)
