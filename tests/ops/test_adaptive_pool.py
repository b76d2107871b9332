"""Adaptive max and average pooling against F.adaptive_max_pool2d / F.adaptive_avg_pool2d,
over input and output sizes (larger, smaller, equal, not dividing), with torch's windows."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ops.adaptive_pool import adaptive_pool, bounds
from tests.utils.tolerance import assert_close


@st.composite
def cases(draw, integers=False):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    out = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    if integers:  # few distinct values: ties for max
        x = torch.randint(-2, 3, (c, h, w), generator=gen).double()
    else:
        x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
    return x, out


@settings(max_examples=80, deadline=None)
@given(case=cases())
def test_average_equals_torch(case):
    x, out = case
    answer = adaptive_pool(input=x.tolist(), kind="avg", output_size=list(out))
    expected = F.adaptive_avg_pool2d(x, out)
    window = max(e - s for s, e in answer["rows"]) * max(e - s for s, e in answer["cols"])
    assert_close(answer["output"], expected, terms=window)
    assert answer["output_shape"] == [x.shape[0], *out]


@settings(max_examples=80, deadline=None)
@given(case=cases(integers=True))
def test_max_equals_torch_and_its_winner_is_torchs_index(case):
    x, out = case
    answer = adaptive_pool(input=x.tolist(), kind="max", output_size=list(out))
    expected, indices = F.adaptive_max_pool2d(x[None], out, return_indices=True)
    assert torch.as_tensor(answer["output"]).equal(expected[0])  # a choice, not a sum
    w = x.shape[2]
    winners = [step["winner"][0] * w + step["winner"][1] for step in answer["steps"]]
    assert winners == indices.reshape(-1).tolist()


@settings(max_examples=100, deadline=None)
@given(size=st.integers(1, 40), out=st.integers(1, 20))
def test_windows_are_floor_and_ceil_of_the_scaled_index(size, out):
    windows = bounds(size, out)
    assert windows == [
        (math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)
    ]
    assert windows[0][0] == 0 and windows[-1][1] == size  # they cover the input
    assert all(s < e for s, e in windows)


def test_steps_carry_each_window_and_its_values():
    x = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    answer = adaptive_pool(input=x, kind="avg", output_size=[1, 3])
    assert answer["rows"] == [(0, 2)] and answer["cols"] == [(0, 2), (1, 4), (3, 5)]
    second = answer["steps"][1]
    assert second["position"] == [0, 0, 1]
    assert second["values"].tolist() == [2, 3, 4, 7, 8, 9]
    assert second["count"] == 6 and second["value"] == 5.5


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "sum"}, "unknown kind 'sum': adaptive pooling is max or avg"),
        ({"output_size": 0}, "output_size must be at least 1 (got 0)"),
        ({"output_size": 17}, "output_size must be at most 16 (got 17)"),
        ({"output_size": [2, 2, 2]}, "output_size must be one integer or two"),
        ({"input": [[1] * 33]}, "the limit is 32×32"),
        ({"input": [[[1]]] * 9}, "input has 9 channels; the limit is 8"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(fields, message):
    with pytest.raises(ValueError) as error:
        adaptive_pool(**{"input": [[1, 2], [3, 4]], "kind": "max", "output_size": 2, **fields})
    assert message in str(error.value)
