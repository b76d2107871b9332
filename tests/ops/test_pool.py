"""The pooling trace against F.max_pool2d / F.avg_pool2d, over every setting it accepts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.ops.arithmetic import pool_output_size
from app.ops.pool import LIMITS, pool2d_trace
from tests.utils.tolerance import assert_close

windows = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@st.composite
def configs(draw, integers=False):
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    size = draw(windows)
    k = as_pair(size)
    stride = draw(st.one_of(st.none(), windows))
    padding = draw(st.tuples(st.integers(0, k[0] // 2), st.integers(0, k[1] // 2)))
    if draw(st.booleans()) and padding[0] == padding[1]:
        padding = padding[0]
    p = as_pair(padding)
    assume(k[0] <= h + 2 * p[0] and k[1] <= w + 2 * p[1])
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    if integers:  # few distinct values: many ties for max
        x = torch.randint(-2, 3, (c, h, w), generator=gen).double()
    else:
        x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
    return x, size, stride, padding


def reference(kind, x, size, stride, padding):
    stride = size if stride is None else stride
    if kind == "max":
        return F.max_pool2d(x[None], size, stride, padding)[0]
    avg = F.avg_pool2d(x[None], size, stride, padding)[0]  # count_include_pad=True
    k = as_pair(size)
    return avg if kind == "avg" else avg * (k[0] * k[1])


@pytest.mark.parametrize("kind", ["max", "avg", "sum"])
@settings(max_examples=200, deadline=None)
@given(config=configs())
def test_output_equals_torch(kind, config):
    x, size, stride, padding = config
    trace = pool2d_trace(x, kind, size, stride, padding)
    expected = reference(kind, x, size, stride, padding)
    if kind == "max":
        assert torch.equal(trace.output, expected)  # a choice, not a computation
        return
    # float64 sums of kh·kw values, the division by kh·kw, and for "sum" torch's product back
    k = as_pair(size)
    scale = float(reference(kind, x.abs(), size, stride, padding).max())
    assert_close(trace.output, expected, terms=k[0] * k[1] + 2, scale=scale)


@settings(max_examples=300, deadline=None)
@given(config=configs(integers=True))
def test_max_winner_is_the_index_torch_reports_even_on_ties(config):
    x, size, stride, padding = config
    trace = pool2d_trace(x, "max", size, stride, padding)
    values, indices = F.max_pool2d(
        x[None], size, size if stride is None else stride, padding, return_indices=True
    )
    assert torch.equal(trace.output, values[0])
    assert torch.equal(trace.indices(), indices[0])


@pytest.mark.parametrize("kind", ["max", "avg", "sum"])
@settings(max_examples=60, deadline=None)
@given(config=configs(integers=True))
def test_every_step_reads_its_window(kind, config):
    x, size, stride, padding = config
    trace = pool2d_trace(x, kind, size, stride, padding)
    data = trace.to_dict()
    k, p = as_pair(size), as_pair(padding)
    s = k if stride is None else as_pair(stride)
    c, oh, ow = trace.output.shape
    zero_padded = F.pad(x, (p[1], p[1], p[0], p[0]))
    real = F.pad(torch.ones_like(x), (p[1], p[1], p[0], p[0])).bool()
    assert len(data["steps"]) == c * oh * ow
    for n, step in enumerate(data["steps"]):
        ch, i, j = step["position"]
        assert (ch, i, j) == (n // (oh * ow), n // ow % oh, n % ow)
        assert step["window"] == [i * s[0], j * s[1]]
        r0, c0 = step["window"]
        window = zero_padded[ch, r0 : r0 + k[0], c0 : c0 + k[1]].reshape(-1)
        inside = real[ch, r0 : r0 + k[0], c0 : c0 + k[1]].reshape(-1)
        values = torch.tensor(step["values"], dtype=torch.float64)
        if kind == "max":  # padding is −∞ (written as null), never the winner
            assert torch.equal(values[inside], window[inside])
            assert torch.isinf(values[~inside]).all()
            row, col = step["winner"]
            assert inside.reshape(k)[row - r0, col - c0]
            assert zero_padded[ch, row, col].item() == step["value"] == window[inside].max()
        else:
            assert torch.equal(values, window)
            assert "winner" not in step
        assert step["value"] == trace.output[ch, i, j].item()


def test_sum_is_average_times_the_window_area_counting_padding_as_zeros():
    x = torch.arange(9, dtype=torch.float64).reshape(3, 3)
    avg = pool2d_trace(x, "avg", 2, 2, 1)
    total = pool2d_trace(x, "sum", 2, 2, 1)
    assert avg.output[0].tolist() == [[0, 0.75], [2.25, 6]]
    assert total.output[0].tolist() == [[0, 3], [9, 24]]
    assert avg.area == total.area == 4


def test_the_size_formula_matches_the_output():
    trace = pool2d_trace(torch.zeros(1, 7, 5, dtype=torch.float64), "max", [3, 2], [2, 1], [1, 0])
    height, width = trace.formulas
    assert height.substituted == "H' = ⌊(7 + 2·1 − 3) / 2⌋ + 1 = 4"
    assert width.symbolic == "W' = ⌊(W + 2p − k) / s⌋ + 1"
    assert (height.value, width.value) == tuple(trace.output.shape[1:]) == (4, 4)
    assert pool_output_size(7, 3, 2, 1) == 4


def test_max_padding_is_written_as_null():
    from app.web.responses import dumps

    data = pool2d_trace(torch.ones(2, 2, dtype=torch.float64), "max", 2, 1, 1).to_dict()
    assert b'"values":[null,null,null,1.0]' in dumps(data["steps"][0])
    assert data["padded_input"][0][0] == [float("-inf")] * 4
    assert data["steps"][0]["winner"] == [1, 1]


def t(*shape):
    return torch.zeros(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (t(4, 4), {"kind": "median"}, "unknown kind 'median': use max, avg or sum"),
        (t(4, 4), {"size": 5}, "the 5×5 window is larger than the padded input (4×4)"),
        (t(4, 4), {"size": 3, "padding": 2}, "padding must be at most half the window (1"),
        (t(4, 4), {"size": [2, 1], "padding": [0, 1]}, "(0 for a window 1 wide; got 1)"),
        (t(4, 4), {"stride": 0}, "stride must be at least 1 (got 0)"),
        (t(4, 4), {"size": 0}, "size must be at least 1 (got 0)"),
        (t(4, 4), {"padding": -1}, "padding must be at least 0 (got -1)"),
        (t(4, 4), {"size": 17}, "size must be at most 16"),
        (t(4, 4), {"stride": [1, 2, 3]}, "stride must be one integer or two"),
        (t(17, 2, 2), {}, "input has 17 channels; the limit is 16"),
        (t(65, 4), {}, "input is 65×4; the limit is 64×64 per channel"),
        (
            t(16, 64, 64),
            {"size": 3, "stride": 1},
            "this trace would read 553,536 values; the limit is 300,000",
        ),
    ],
)
def test_refuses_bad_settings_with_a_message(x, kwargs, message):
    arguments = {"kind": "max", "size": 2, **kwargs}
    with pytest.raises(ValueError) as error:
        pool2d_trace(x, **arguments)
    assert message in str(error.value)


def test_a_lecture_size_example_always_fits():
    trace = pool2d_trace(t(16, 32, 32), "max", 2)
    assert trace.output.shape == (16, 16, 16)
    assert LIMITS.max_terms >= 16 * 32 * 32
