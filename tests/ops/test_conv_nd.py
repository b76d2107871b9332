"""The convolution trace in 1, 2 and 3 dimensions, with every padding (numbers per axis or per
side, "same", "valid") and padding mode, against F.conv1d / F.conv2d / F.conv3d (with F.pad
for the modes, as torch.nn.ConvNd pads), and every setting it must refuse."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from app.ops.conv import LIMITS_BY_DIMS, conv_trace
from app.ops.traces import convolution_trace
from tests.utils.tolerance import assert_close, magnitude

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
MODES = ("zeros", "reflect", "replicate", "circular")


def per_axis(value, dims):
    return (value,) * dims if isinstance(value, int) else tuple(value)


def torch_pads(padding, kernel, dilation, dims):
    """(before, after) per axis as torch.nn.ConvNd computes them (padding='same' included)."""
    layer = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](
        1, 1, kernel, padding=padding, dilation=dilation, padding_mode="reflect"
    )
    reversed_twice = layer._reversed_padding_repeated_twice  # last axis first, as F.pad
    return [tuple(reversed_twice[2 * i : 2 * i + 2]) for i in reversed(range(dims))]


def reference(x, weight, bias, *, dims, stride, padding, dilation, mode, flip):
    """torch's own answer: nn.ConvNd's forward for a padding mode, F.convNd for zeros."""
    w = torch.flip(weight, dims=tuple(range(2, dims + 2))) if flip else weight
    conv = CONV[dims]
    if isinstance(padding, list) and len(padding) == 2 * dims:  # per side: F.pad first
        amounts = [a for i in reversed(range(dims)) for a in padding[2 * i : 2 * i + 2]]
        torch_mode = "constant" if mode == "zeros" else mode
        padded = F.pad(x[None], amounts, mode=torch_mode)
        return conv(padded, w, bias, stride=stride, dilation=dilation)[0]
    if mode == "zeros":
        with warnings.catch_warnings():  # "same", even kernel: "may require a padded copy"
            warnings.simplefilter("ignore", UserWarning)
            return conv(x[None], w, bias, stride=stride, padding=padding, dilation=dilation)[0]
    layer = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims](
        x.shape[0], w.shape[0], w.shape[2:], stride=stride, padding=padding,
        dilation=dilation, padding_mode=mode, dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad():
        layer.weight.copy_(w)
        layer.bias.copy_(bias)  # type: ignore[union-attr]
        return layer(x[None])[0]


@st.composite
def configs(draw, dims=None):
    dims = dims or draw(st.sampled_from((1, 2, 3)))
    top = {1: 14, 2: 8, 3: 5}[dims]
    c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    size = [draw(st.integers(1, top)) for _ in range(dims)]
    kernel = [draw(st.integers(1, 4)) for _ in range(dims)]
    axes = lambda lo, hi: st.one_of(  # noqa: E731
        st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=dims, max_size=dims)
    )
    dilation = draw(axes(1, 2))
    padding = draw(
        st.one_of(
            axes(0, 3),
            st.lists(st.integers(0, 3), min_size=2 * dims, max_size=2 * dims),
            st.sampled_from(("same", "valid")),
        )
    )
    stride = 1 if padding == "same" else draw(axes(1, 3))
    mode = draw(st.sampled_from(MODES))
    d = per_axis(dilation, dims)
    if isinstance(padding, str):
        pads = torch_pads(padding, kernel, d, dims)
    elif isinstance(padding, list) and len(padding) == 2 * dims:
        pads = [tuple(padding[2 * i : 2 * i + 2]) for i in range(dims)]
    else:
        pads = [(p, p) for p in per_axis(padding, dims)]
    for n, k, dd, (before, after) in zip(size, kernel, d, pads, strict=True):
        assume(dd * (k - 1) + 1 <= n + before + after)
        if mode == "reflect":
            assume(max(before, after) < n)
        if mode == "circular":
            assume(max(before, after) <= n)
    gen = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    x = torch.randn(c, *size, generator=gen, dtype=torch.float64)
    weight = torch.randn(o, c, *kernel, generator=gen, dtype=torch.float64)
    bias = torch.randn(o, generator=gen, dtype=torch.float64)
    options = {
        "dims": dims, "stride": stride, "padding": padding, "dilation": dilation,
        "mode": mode, "flip": draw(st.booleans()),
    }  # fmt: skip
    return x, weight, bias, options


def traced(x, weight, bias, options):
    return conv_trace(
        x, weight, bias, dims=options["dims"], stride=options["stride"],
        padding=options["padding"], dilation=options["dilation"],
        padding_mode=options["mode"], flip=options["flip"],
    )  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(configs())
def test_output_equals_torch_for_every_dimension_padding_and_mode(config):
    x, weight, bias, options = config
    trace = traced(x, weight, bias, options)
    expected = reference(x, weight, bias, **options)
    assert trace.output.shape == expected.shape
    # float64 sums of C·∏k products and the bias, in another order than torch's; the modes'
    # padding copies values, so |x| padded the same way bounds the magnitude
    scale = magnitude(
        lambda a, w, b: reference(a, w, b, **options), x.abs(), weight.abs(), bias.abs()
    )
    assert_close(trace.output, expected, terms=weight[0].numel() + 1, scale=scale)


@settings(max_examples=150, deadline=None)
@given(configs())
def test_padded_input_is_torchs_and_every_step_reads_its_window(config):
    x, weight, bias, options = config
    dims = options["dims"]
    trace = traced(x, weight, bias, options)
    data = trace.to_dict()
    pads = [tuple(p) for p in data["pads"]]
    amounts = [a for i in reversed(range(dims)) for a in pads[i]]
    mode = "constant" if options["mode"] == "zeros" else options["mode"]
    padded = F.pad(x[None], amounts, mode=mode)[0]
    assert torch.equal(torch.tensor(data["padded_input"], dtype=torch.float64), padded)
    assert data["padding"] == [before for before, _ in pads]
    s, d = per_axis(options["stride"], dims), per_axis(options["dilation"], dims)
    k = weight.shape[2:]
    out = trace.output.shape[1:]
    assert len(data["steps"]) == weight.shape[0] * math.prod(out)
    applied = torch.flip(weight, tuple(range(2, dims + 2))) if options["flip"] else weight
    for step in data["steps"][:: max(1, len(data["steps"]) // 40)]:
        o, *position = step["position"]
        assert step["window"] == [i * si for i, si in zip(position, s, strict=True)]
        index = tuple(
            slice(w0, w0 + dd * (kk - 1) + 1, dd)
            for w0, dd, kk in zip(step["window"], d, k, strict=True)
        )
        window = padded[(slice(None), *index)]
        terms = torch.tensor(step["terms"], dtype=torch.float64)
        assert torch.equal(terms[:, 0], window.reshape(-1))
        assert torch.equal(terms[:, 1], applied[o].reshape(-1))
        assert step["value"] == trace.output[(o, *position)].item()


@pytest.mark.parametrize("dims", [1, 2, 3])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_size_formula_matches_the_output(dims, data):
    x, weight, bias, options = data.draw(configs(dims))
    trace = traced(x, weight, bias, options)
    assert tuple(f.value for f in trace.formulas) == tuple(trace.output.shape[1:])
    assert [f.axis for f in trace.formulas] == {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[dims]
    for formula in trace.formulas:
        assert formula.substituted.endswith(f"= {formula.value}")


def test_same_padding_puts_an_even_kernels_extra_row_after_as_torch_does():
    x = torch.arange(20, dtype=torch.float64).reshape(4, 5)
    k = torch.tensor([[1.0, -1.0], [2.0, 0.5]], dtype=torch.float64)
    trace = conv_trace(x, k, padding="same")
    assert trace.pads == ((0, 1), (0, 1))
    with warnings.catch_warnings():  # torch: "may require a zero-padded copy"
        warnings.simplefilter("ignore", UserWarning)
        expected = F.conv2d(x[None, None], k[None, None], padding="same")[0]
    assert torch.equal(trace.output, expected)
    # seed 000's convention (⌈p/2⌉ on top and on the left) is [1, 0, 1, 0]
    slide = conv_trace(x, k, padding=[1, 0, 1, 0])
    assert torch.equal(
        slide.output[0], F.conv2d(F.pad(x, (1, 0, 1, 0))[None, None], k[None, None])[0, 0]
    )
    assert not torch.equal(slide.output, trace.output)
    assert slide.output.shape == trace.output.shape == (1, 4, 5)


def test_valid_is_no_padding_and_one_dimensional_example_is_exact():
    trace = conv_trace(
        torch.tensor([1.0, 2, 3, 4, 5]).double(),
        torch.tensor([1.0, 0, -1]).double(),
        dims=1,
        padding="valid",
    )
    assert trace.output.tolist() == [[-2.0, -2.0, -2.0]]
    assert trace.to_dict()["steps"][1]["position"] == [0, 1]
    assert trace.to_dict()["steps"][1]["window"] == [1]


def test_three_dimensional_parameter_count_includes_the_bias():
    trace = conv_trace(
        torch.zeros(2, 4, 5, 5).double(), torch.zeros(3, 2, 3, 3, 3).double(), dims=3, padding=1
    )
    params = trace.parameters()
    assert params["conv"] == (3 * 3 * 3 * 2 + 1) * 3 == 165
    assert params["conv_expression"] == "(3·3·3·2 + 1)·3 = 165"
    assert params["dense"] == (2 * 4 * 5 * 5 + 1) * (3 * 4 * 5 * 5)


def t(*shape):
    return torch.zeros(*shape, dtype=torch.float64)


@pytest.mark.parametrize(
    ("x", "k", "kwargs", "message"),
    [
        (t(3, 4), t(2, 2), {"padding": "same", "stride": 2}, "padding 'same' needs stride 1"),
        (t(3, 4), t(2, 2), {"padding": "full"}, "padding 'full' is not known"),
        (
            t(3, 4),
            t(2, 2),
            {"padding": [1, 2, 3]},
            "padding must be one integer, [height, width], [top, bottom, left, right]",
        ),
        (t(3, 4), t(2, 2), {"padding": [1, 2, -1, 0]}, "padding must be at least 0 (got -1)"),
        (t(3, 4), t(2, 2), {"padding": [1, 2, 1.5, 0]}, "padding must be a whole number, not 1.5"),
        (t(3, 4), t(2, 2), {"padding": [0, 0, 0, 17]}, "padding must be at most 16 (got 17)"),
        (
            t(3, 4),
            t(2, 2),
            {"padding": 3, "padding_mode": "reflect"},
            "reflect padding mirrors the input without its edge, so it must be smaller than "
            "the input: 3 ≥ 3 rows along H",
        ),
        (
            t(3, 4),
            t(2, 2),
            {"padding": [0, 0, 4, 0], "padding_mode": "reflect"},
            "4 ≥ 4 columns along W",
        ),
        (
            t(3, 4),
            t(2, 2),
            {"padding": 4, "padding_mode": "circular"},
            "circular padding wraps the input around once at most: 4 > 3 rows along H",
        ),
        (
            t(3, 4),
            t(2, 2),
            {"padding_mode": "mirror"},
            "padding_mode 'mirror' is not known; use one of zeros, reflect, replicate, circular",
        ),
        (t(3, 4), t(2, 2), {"padding_mode": None}, "padding_mode null is not known"),
        (
            t(2, 3),
            t(2, 2),
            {"dims": 1, "padding": 3, "padding_mode": "reflect"},
            "3 ≥ 3 positions along L",
        ),
        (t(2, 6), t(2, 7), {"dims": 1}, "the size-7 kernel is larger than the padded input (6)"),
        (
            t(2, 6),
            t(2, 3),
            {"dims": 1, "dilation": 3},
            "the size-3 kernel, dilated to 7, is larger than the padded input (6)",
        ),
        (t(2, 6), t(2, 3), {"dims": 1, "stride": [1, 1]}, "stride must be one integer, [length]"),
        (t(257), t(3), {"dims": 1}, "input is 257 long; the limit is 256"),
        (t(17, 8), t(17, 3), {"dims": 1}, "input has 17 channels; the limit is 16"),
        (t(20), t(16), {"dims": 1}, "kernel is 16; the limit is 15"),
        (t(2, 5), t(3, 3), {"dims": 1}, "kernel has 3 input channels but the input has 2"),
        (
            t(3, 3, 3),
            t(2, 2, 2),
            {"dims": 3, "stride": [1, 2]},
            "stride must be one integer or three, [depth, height, width]",
        ),
        (
            t(3, 3, 25),
            t(2, 2, 2),
            {"dims": 3},
            "input is 3×3×25; the limit is 24×24×24 per channel",
        ),
        (t(9, 3, 3, 3), t(9, 2, 2, 2), {"dims": 3}, "input has 9 channels; the limit is 8"),
        (t(8, 8, 8), t(8, 1, 1), {"dims": 3}, "kernel is 8×1×1; the limit is 7×7×7"),
        (
            t(3, 3, 3),
            t(2, 4, 2),
            {"dims": 3},
            "the 2×4×2 kernel is larger than the padded input (3×3×3)",
        ),
        (
            t(3, 3, 3),
            t(2, 2, 2),
            {"dims": 3, "padding": [1, 1, 1, 1, 9, 0]},
            "padding must be at most 8 (got 9)",
        ),
        (
            t(3, 4, 4),
            t(2, 2, 2),
            {"dims": 3, "padding": 3, "padding_mode": "reflect"},
            "3 ≥ 3 slices along D",
        ),
        (
            t(8, 24, 24, 24),
            t(8, 8, 3, 3, 3),
            {"dims": 3, "padding": 1},
            "this trace would have 23,887,872 multiplications; the limit is 300,000",
        ),
        (t(5, 5, 5), t(5, 5), {"dims": 3}, "kernel must be kd×kh×kw, C×kd×kh×kw or O×C×kd×kh×kw"),
    ],
)
def test_refuses_bad_settings_with_a_message(x, k, kwargs, message):
    with pytest.raises(ValueError) as raised:
        conv_trace(x, k, **kwargs)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dims": 4}, "dims must be 1, 2 or 3, not 4"),
        ({"dims": 2.0}, "dims must be 1, 2 or 3, not 2.0"),
        ({"dims": True}, "dims must be 1, 2 or 3, not True"),
        ({"dims": "3"}, "dims must be 1, 2 or 3, not '3'"),
        (
            {"dims": 1, "input": [[[1, 2]]]},
            "input of a 1-D convolution must be L or C×L; it has 3 levels",
        ),
        (
            {"dims": 3, "input": [[1, 2]]},
            "input of a 3-D convolution must be D×H×W or C×D×H×W; it has 2",
        ),
        (
            {"dims": 1, "kernel": [[[[1]]]]},
            "kernel of a 1-D convolution must be k, C×k or O×C×k; it has 4",
        ),
        ({"dims": 1, "input": [1, "a"]}, "input[1] is the text 'a', not a number"),
    ],
)
def test_request_fields_are_checked_with_a_sentence(fields, message):
    body = {"input": [1, 2, 3, 4], "kernel": [1, -1], **fields}
    with pytest.raises(ValueError) as raised:
        convolution_trace(**body)
    assert message in str(raised.value)


@pytest.mark.parametrize("dims", [1, 3])
def test_a_lecture_size_example_always_fits(dims):
    if dims == 1:  # a sentence of 32 words in an 8-dimensional embedding, 4 filters of 3
        trace = conv_trace(t(8, 32), t(4, 8, 3), dims=1, padding="same")
        assert trace.output.shape == (4, 32)
    else:  # an 8-frame 12×12 RGB clip, 2 filters of 3×3×3
        trace = conv_trace(t(3, 8, 12, 12), t(2, 3, 3, 3, 3), dims=3, padding=1)
        assert trace.output.shape == (2, 8, 12, 12)
    assert LIMITS_BY_DIMS[dims].max_terms >= trace.output.numel() * trace.kernel[0].numel()
