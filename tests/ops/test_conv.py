"""The convolution trace against torch.nn.functional.conv2d, over every setting it accepts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.ops.arithmetic import conv_output_size
from app.ops.conv import LIMITS, conv2d_trace
from tests.utils.tolerance import approx, assert_close, magnitude

pairs = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
paddings = st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))


def as_pair(v):
    return (v, v) if isinstance(v, int) else v


def reference(x, weight, bias, stride, padding, dilation, flip):
    w = torch.flip(weight, dims=(-2, -1)) if flip else weight
    return F.conv2d(x[None], w, bias, stride=stride, padding=padding, dilation=dilation)[0]


@st.composite
def configs(draw):
    c = draw(st.integers(1, 4))
    o = draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride, padding, dilation = draw(pairs), draw(paddings), draw(pairs)
    p, d = as_pair(padding), as_pair(dilation)
    assume(d[0] * (kh - 1) + 1 <= h + 2 * p[0] and d[1] * (kw - 1) + 1 <= w + 2 * p[1])
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(o, c, kh, kw, generator=gen, dtype=torch.float64)
    bias = torch.randn(o, generator=gen, dtype=torch.float64)
    return x, weight, bias, stride, padding, dilation, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(configs())
def test_output_equals_conv2d(config):
    x, weight, bias, stride, padding, dilation, flip = config
    trace = conv2d_trace(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, flip=flip
    )
    expected = reference(x, weight, bias, stride, padding, dilation, flip)
    # float64 sums of C_in·kh·kw products and the bias, in another order than F.conv2d's
    terms = weight[0].numel() + 1
    scale = magnitude(reference, x, weight, bias, stride, padding, dilation, flip)
    assert_close(trace.output, expected, terms=terms, scale=scale)


@settings(max_examples=150, deadline=None)
@given(configs())
def test_every_step_reads_its_window_and_adds_up(config):
    x, weight, bias, stride, padding, dilation, flip = config
    trace = conv2d_trace(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, flip=flip
    )
    data = trace.to_dict()
    s, d = as_pair(stride), as_pair(dilation)
    out_c, in_c, kh, kw = weight.shape
    _, oh, ow = trace.output.shape
    padded = torch.tensor(data["padded_input"], dtype=torch.float64)
    applied = torch.flip(weight, dims=(-2, -1)) if flip else weight
    assert len(data["steps"]) == out_c * oh * ow
    for n, step in enumerate(data["steps"]):
        o, i, j = step["position"]
        assert (o, i, j) == (n // (oh * ow), n // ow % oh, n % ow)  # (o, i, j) row-major
        assert step["window"] == [i * s[0], j * s[1]]
        r0, c0 = step["window"]
        window = padded[
            :, r0 : r0 + d[0] * (kh - 1) + 1 : d[0], c0 : c0 + d[1] * (kw - 1) + 1 : d[1]
        ]
        terms = torch.tensor(step["terms"], dtype=torch.float64)
        assert torch.equal(terms[:, 0], window.reshape(-1))
        assert torch.equal(terms[:, 1], applied[o].reshape(-1))
        products = terms[:, 0] * terms[:, 1]
        partials = products.reshape(in_c, -1).sum(1)
        size = (products.abs().reshape(in_c, -1).sum(1)).max().item()  # Σ|product| per channel
        found = torch.tensor(step["partials"], dtype=torch.float64)
        assert_close(found, partials, terms=kh * kw, scale=size)
        total = partials.sum().item() + bias[o].item()
        size = products.abs().sum().item() + abs(bias[o].item())
        assert step["value"] == approx(
            total, terms=in_c * kh * kw + 1, dtype=torch.float64, scale=size
        )
        assert step["value"] == trace.output[o, i, j].item()


@settings(max_examples=100, deadline=None)
@given(configs())
def test_size_formula_matches_the_output(config):
    x, weight, bias, stride, padding, dilation, _ = config
    trace = conv2d_trace(x, weight, bias, stride=stride, padding=padding, dilation=dilation)
    height, width = trace.formulas
    assert (height.value, width.value) == tuple(trace.output.shape[1:])
    assert height.substituted.endswith(f"= {height.value}")
    s, p, d = as_pair(stride), as_pair(padding), as_pair(dilation)
    assert height.value == conv_output_size(x.shape[1], weight.shape[2], s[0], p[0], d[0])


def test_integer_example_is_exact_and_shapes_are_normalised():
    x = torch.arange(9, dtype=torch.float64).reshape(3, 3)
    k = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    trace = conv2d_trace(x, k)
    assert trace.output.tolist() == [[[19.0, 25.0], [37.0, 43.0]]]
    assert trace.kernel.shape == (1, 1, 2, 2)
    assert trace.input.shape == (1, 3, 3)
    assert trace.to_dict()["steps"][0]["terms"].tolist() == [[0, 0], [1, 1], [3, 2], [4, 3]]


def test_three_dimensional_kernel_is_one_output_channel():
    x = torch.ones(2, 3, 3, dtype=torch.float64)
    trace = conv2d_trace(x, torch.ones(2, 2, 2, dtype=torch.float64))
    assert trace.output.shape == (1, 2, 2)
    assert trace.output.flatten().tolist() == [8.0] * 4


def test_flip_rotates_the_kernel_180_degrees():
    x = torch.zeros(3, 3, dtype=torch.float64)
    x[1, 1] = 1
    k = torch.arange(1, 10, dtype=torch.float64).reshape(3, 3)
    trace = conv2d_trace(x, k, padding=1, flip=True)
    # an impulse convolved (truly) with a kernel reproduces the kernel
    assert trace.output[0].tolist() == k.tolist()
    assert trace.kernel[0, 0].tolist() == torch.flip(k, (0, 1)).tolist()


def test_parameter_counts():
    x = torch.zeros(3, 5, 5, dtype=torch.float64)
    trace = conv2d_trace(x, torch.zeros(2, 3, 3, 3, dtype=torch.float64), padding=1)
    params = trace.parameters()
    assert params["conv"] == (3 * 3 * 3 + 1) * 2 == 56
    assert params["dense"] == (3 * 5 * 5 + 1) * (2 * 5 * 5)
    assert params["conv_expression"] == "(3·3·3 + 1)·2 = 56"


def t(*shape):
    return torch.zeros(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    ("x", "k", "kwargs", "message"),
    [
        (t(3, 3), t(2, 2, 2), {}, "kernel has 2 input channels but the input has 1"),
        (t(3, 3), t(4, 4), {}, "the 4×4 kernel is larger than the padded input (3×3)"),
        (t(5, 5), t(3, 3), {"dilation": 3}, "dilated to 7×7, is larger than the padded input"),
        (t(3, 3), t(2, 2), {"stride": 0}, "stride must be at least 1 (got 0)"),
        (t(3, 3), t(2, 2), {"padding": -1}, "padding must be at least 0 (got -1)"),
        (t(3, 3), t(2, 2), {"dilation": 0}, "dilation must be at least 1 (got 0)"),
        (t(3, 3), t(2, 2), {"stride": [1, 2, 3]}, "stride must be one integer or two"),
        (t(3, 3), t(2, 2), {"stride": 1.5}, "stride must be a whole number"),
        (t(3, 3), t(2, 2), {"padding": LIMITS.max_padding + 1}, "padding must be at most"),
        (t(17, 3, 3), t(17, 2, 2), {}, "input has 17 channels; the limit is 16"),
        (t(65, 3), t(2, 2), {}, "input is 65×3; the limit is 64×64 per channel"),
        (t(12, 12), t(12, 12), {}, "kernel is 12×12; the limit is 11×11"),
        (t(3, 3), t(17, 1, 2, 2), {}, "kernel has 17 output channels; the limit is 16"),
        (
            t(16, 64, 64),
            t(16, 16, 3, 3),
            {"padding": 1},
            "this trace would have 9,437,184 multiplications; the limit is 300,000",
        ),
    ],
)
def test_refuses_bad_settings_with_a_message(x, k, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        conv2d_trace(x, k, **kwargs)


def test_bias_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one value per output channel"):
        conv2d_trace(t(3, 3), t(2, 1, 2, 2), torch.zeros(3, dtype=torch.float64))


def test_a_lecture_size_example_always_fits():
    # 32×32 RGB, 5×5 kernel, 3 output channels, "same" padding
    trace = conv2d_trace(t(3, 32, 32), t(3, 3, 5, 5), padding=2)
    assert trace.output.shape == (3, 32, 32)
