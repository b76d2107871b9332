"""The transposed-convolution trace against F.conv_transpose2d, in both of its views."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.ops.arithmetic import transposed_output_size
from app.ops.transposed import LIMITS, conv_transpose2d_trace
from tests.utils.tolerance import assert_close, magnitude


def pair(draw, low, high):
    first = draw(st.integers(low, high))
    return first if draw(st.booleans()) else (first, draw(st.integers(low, high)))


def as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@st.composite
def configs(draw, integers=False):
    c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride, dilation = pair(draw, 1, 4), pair(draw, 1, 3)
    s, d = as_pair(stride), as_pair(dilation)
    # torch: output_padding smaller than the stride or the dilation, axis by axis
    output_padding = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(2))
    padding = pair(draw, 0, 5)
    p = as_pair(padding)
    assume(transposed_output_size(h, kh, s[0], p[0], output_padding[0], d[0]) >= 1)
    assume(transposed_output_size(w, kw, s[1], p[1], output_padding[1], d[1]) >= 1)
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    if integers:
        x = torch.randint(-3, 4, (c, h, w), generator=gen).double()
        weight = torch.randint(-2, 3, (c, o, kh, kw), generator=gen).double()
        bias = torch.randint(-2, 3, (o,), generator=gen).double()
    else:
        x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
        weight = torch.randn(c, o, kh, kw, generator=gen, dtype=torch.float64)
        bias = torch.randn(o, generator=gen, dtype=torch.float64)
    settings_ = {
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilation,
    }
    return x, weight, bias, settings_


def reference(x, weight, bias, settings_):
    return F.conv_transpose2d(x[None], weight, bias, **settings_)[0]


def assert_transposed(output, x, weight, bias, settings_) -> None:  # type: ignore[no-untyped-def]
    """``output`` is F.conv_transpose2d's within float64 rounding: an output sums at most
    C_in·kh·kw stamps and the bias, which may cancel."""
    terms = weight.shape[0] * weight.shape[2] * weight.shape[3] + 1
    scale = magnitude(reference, x, weight, bias, settings_)
    assert_close(output, reference(x, weight, bias, settings_), terms=terms, scale=scale)


@settings(max_examples=300, deadline=None)
@given(configs())
def test_output_equals_conv_transpose2d(config):
    x, weight, bias, settings_ = config
    trace = conv_transpose2d_trace(x, weight, bias, **settings_)
    assert_transposed(trace.output, x, weight, bias, settings_)
    height, width = trace.formulas
    assert (height.value, width.value) == tuple(trace.output.shape[1:])


@settings(max_examples=200, deadline=None)
@given(configs())
def test_zero_insertion_then_convolution_gives_the_same_output(config):
    x, weight, bias, settings_ = config
    trace = conv_transpose2d_trace(x, weight, bias, **settings_)
    s = as_pair(settings_["stride"])
    zeros = trace.zero_inserted()
    assert zeros.shape[1:] == ((x.shape[1] - 1) * s[0] + 1, (x.shape[2] - 1) * s[1] + 1)
    assert torch.equal(zeros[:, :: s[0], :: s[1]], x)
    zeros[:, :: s[0], :: s[1]] = 0
    assert not zeros.any()  # everything else is an inserted zero
    kernel = trace.equivalent_kernel()
    assert torch.equal(kernel, torch.flip(weight, (-2, -1)).transpose(0, 1))
    equivalent = F.conv2d(trace.equivalent_input()[None], kernel, bias, dilation=trace.dilation)
    assert_transposed(equivalent[0], x, weight, bias, settings_)


@settings(max_examples=150, deadline=None)
@given(configs(integers=True))
def test_every_stamp_adds_the_scaled_kernel_and_the_running_totals_end_at_the_output(config):
    x, weight, bias, settings_ = config
    trace = conv_transpose2d_trace(x, weight, bias, **settings_)
    data = trace.to_dict()
    c, h, w = x.shape
    _, o, kh, kw = weight.shape
    s, p = as_pair(settings_["stride"]), as_pair(settings_["padding"])
    d = as_pair(settings_["dilation"])
    out = trace.output
    running = bias[:, None, None].expand_as(out).clone()
    assert len(data["steps"]) == c * h * w
    for n, step in enumerate(data["steps"]):
        ch, i, j = step["source"]
        assert (ch, i, j) == (n // (h * w), n // w % h, n % w)
        assert step["value"] == x[ch, i, j].item()
        assert step["origin"] == [i * s[0] - p[0], j * s[1] - p[1]]
        expected = []
        for oc in range(o):
            for a in range(kh):
                for b in range(kw):
                    row, col = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                    if 0 <= row < out.shape[1] and 0 <= col < out.shape[2]:
                        expected.append((oc, row, col, x[ch, i, j] * weight[ch, oc, a, b]))
        assert [list(cell) for cell in step["cells"]] == [list(e[:3]) for e in expected]
        for (oc, row, col, amount), added, total in zip(
            expected, step["added"], step["totals"], strict=True
        ):
            assert added == amount.item()
            running[oc, row, col] += amount
            assert total == running[oc, row, col].item()
    assert torch.equal(running, out)  # integers: exact


def test_the_lecture_example_and_its_equivalent_view():
    x = torch.tensor([[1.0, 0], [2, 3]], dtype=torch.float64)
    k = torch.tensor([[0.0, 1], [1, 0]], dtype=torch.float64)
    trace = conv_transpose2d_trace(x, k, stride=2)
    assert trace.output[0].tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 2, 0, 3], [2, 0, 3, 0]]
    assert trace.zero_inserted()[0].tolist() == [[1, 0, 0], [0, 0, 0], [2, 0, 3]]
    assert trace.equivalent_padding() == (1, 1, 1, 1)
    assert trace.formulas[0].substituted == ("H' = (2 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 4")
    assert trace.formulas[0].symbolic == "H' = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1"
    step = trace.to_dict()["steps"][2]  # the input 2 at row 1, column 0
    assert step["source"] == [0, 1, 0]
    assert step["cells"].tolist() == [[0, 2, 0], [0, 2, 1], [0, 3, 0], [0, 3, 1]]
    assert step["added"].tolist() == [0, 2, 2, 0]


def test_output_padding_may_reach_the_dilation_when_the_stride_is_smaller():
    # stride 1, dilation 3: torch accepts output_padding 1 and 2 (smaller than the dilation)
    x = torch.arange(1, 7, dtype=torch.float64).reshape(2, 3)
    k = torch.tensor([[1.0, -1], [2, 0.5]], dtype=torch.float64)
    for extra in (1, 2):
        trace = conv_transpose2d_trace(x, k, stride=1, dilation=3, output_padding=extra)
        expected = F.conv_transpose2d(
            x[None, None], k[None, None], stride=1, dilation=3, output_padding=extra
        )[0]
        assert torch.equal(trace.output, expected)  # small binary fractions: exact
        # the equivalent view gives the same: output_padding more zeros at the bottom and right
        equivalent = F.conv2d(
            trace.equivalent_input()[None], trace.equivalent_kernel(), dilation=3
        )[0]
        assert torch.equal(equivalent, expected)
        assert trace.output.shape == (1, 2 + 3 + extra, 3 + 3 + extra)


def test_padding_beyond_the_kernel_overhang_crops_the_equivalent_input():
    x = torch.arange(1, 10, dtype=torch.float64).reshape(3, 3)
    trace = conv_transpose2d_trace(x, torch.ones(2, 2, dtype=torch.float64), stride=2, padding=2)
    assert trace.equivalent_padding() == (-1, -1, -1, -1)
    expected = F.conv_transpose2d(x[None, None], torch.ones(1, 1, 2, 2).double(), None, 2, 2)[0]
    assert torch.equal(trace.output, expected)  # small integers: exact


def t(*shape):
    return torch.zeros(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    ("x", "k", "kwargs", "message"),
    [
        (t(2, 2), t(2, 1, 2, 2), {}, "kernel has 2 input channels (its first axis)"),
        (t(2, 2), t(1, 2, 2), {}, "kernel must be kh×kw or C_in×C_out×kh×kw"),
        (t(2, 2), t(2, 2), {"stride": 0}, "stride must be at least 1 (got 0)"),
        (t(2, 2), t(2, 2), {"padding": -1}, "padding must be at least 0 (got -1)"),
        (t(2, 2), t(2, 2), {"dilation": 0}, "dilation must be at least 1 (got 0)"),
        (
            t(2, 2),
            t(2, 2),
            {"stride": 2, "output_padding": 2},
            "output_padding must be smaller than the stride or the dilation (2 ≥ 2 for the "
            "rows: stride 2, dilation 1)",
        ),
        (
            t(2, 2),
            t(2, 2),
            {"output_padding": [0, 1]},
            "output_padding must be smaller than the stride or the dilation (1 ≥ 1 for the "
            "columns: stride 1, dilation 1)",
        ),
        (
            t(3, 3),
            t(2, 2),
            {"stride": [1, 2], "dilation": [3, 1], "output_padding": [3, 1]},
            "output_padding must be smaller than the stride or the dilation (3 ≥ 3 for the "
            "rows: stride 1, dilation 3)",
        ),
        (
            t(2, 2),
            t(2, 2),
            {"padding": 2},
            "padding 2 crops 2·2 = 4 rows from a result 3 rows long, leaving none",
        ),
        (t(9, 2, 2), t(9, 1, 2, 2), {}, "input has 9 channels; the limit is 8"),
        (t(17, 2), t(2, 2), {}, "input is 17×2; the limit is 16×16 per channel"),
        (t(2, 2), t(8, 8), {}, "kernel is 8×8; the limit is 7×7"),
        (t(2, 2), t(1, 9, 2, 2), {}, "kernel has 9 output channels; the limit is 8"),
        (t(2, 2), t(2, 2), {"stride": 5}, "stride must be at most 4"),
        (
            t(8, 16, 16),
            t(8, 8, 7, 7),
            {},
            "this trace would have 802,816 multiplications; the limit is 300,000",
        ),
    ],
)
def test_refuses_bad_settings_with_a_message(x, k, kwargs, message):
    with pytest.raises(ValueError) as error:
        conv_transpose2d_trace(x, k, **kwargs)
    assert message in str(error.value)


def test_bias_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one value per output channel"):
        conv_transpose2d_trace(t(2, 2), t(1, 2, 2, 2), torch.zeros(3, dtype=torch.float64))


def test_limits_allow_a_lecture_size_upsampling():
    trace = conv_transpose2d_trace(t(4, 16, 16), t(4, 4, 4, 4), stride=2, padding=1)
    assert trace.output.shape == (4, 32, 32)
    assert LIMITS.max_terms >= 4 * 16 * 16 * 4 * 16
