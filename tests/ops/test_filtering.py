"""Kernels on images against torch.nn.functional.conv2d, per channel and on gray."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.images import convert
from app.ops import filtering
from app.ops.kernels import KERNELS
from tests.utils.tolerance import approx, assert_close, magnitude

CPU = torch.device("cpu")


def reference(x: torch.Tensor, kernel: torch.Tensor, stride, padding) -> torch.Tensor:
    """Each channel convolved on its own, in float64: the independent answer."""
    channels = [
        F.conv2d(x[c : c + 1].double()[None], kernel.double()[None, None], None, stride, padding)[
            0, 0
        ]
        for c in range(x.shape[0])
    ]
    return torch.stack(channels)


def assert_conv(out: torch.Tensor, x: torch.Tensor, kernel: torch.Tensor, stride, padding) -> None:
    """``out`` (float32) is ``reference``'s answer within float32 rounding of a sum of kh·kw
    products, relative to the magnitude the products add up to (an edge kernel on a flat
    patch sums large terms to 0)."""
    expected = reference(x, kernel, stride, padding)
    scale = magnitude(reference, x.double(), kernel.double(), stride, padding)
    assert_close(out, expected, terms=kernel.numel(), dtype=torch.float32, scale=scale)


@st.composite
def cases(draw):
    channels = draw(st.sampled_from([1, 3]))
    h, w = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    kh, kw = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    ph, pw = draw(st.integers(0, 4)), draw(st.integers(0, 4))
    if kh > h + 2 * ph or kw > w + 2 * pw:
        ph, pw = max(ph, (kh - h + 1) // 2), max(pw, (kw - w + 1) // 2)
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    seed = draw(st.integers(0, 10_000))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (channels, h, w), generator=gen, dtype=torch.uint8)
    weights = (torch.randint(-8, 9, (kh, kw), generator=gen).double() / 4).tolist()
    gray = draw(st.booleans())
    return x, weights, stride, (ph, pw), gray


@settings(max_examples=120, deadline=None)
@given(cases())
def test_output_equals_conv2d_on_each_channel(case):
    x, weights, stride, padding, gray = case
    ks = filtering.kernel_settings(weights, stride=list(stride), padding=list(padding), gray=gray)
    prepared = filtering.prepare(x, ks)
    assert prepared.shape[0] == (1 if gray else x.shape[0])
    out = filtering.convolve(prepared, ks, CPU)
    expected = reference(prepared, torch.tensor(weights), stride, padding)
    assert out.shape == expected.shape
    assert out.shape[1:] == filtering.output_size(x.shape[1], x.shape[2], ks)
    assert_conv(out, prepared, torch.tensor(weights, dtype=torch.float64), stride, padding)


@settings(max_examples=80, deadline=None)
@given(cases(), st.data())
def test_the_pixel_detail_is_the_output_and_its_weighted_sum(case, data):
    x, weights, stride, padding, gray = case
    ks = filtering.kernel_settings(weights, stride=list(stride), padding=list(padding), gray=gray)
    prepared = filtering.prepare(x, ks)
    out = filtering.convolve(prepared, ks, CPU)
    row = data.draw(st.integers(0, out.shape[1] - 1))
    col = data.draw(st.integers(0, out.shape[2] - 1))
    detail = filtering.pixel_detail(prepared, out, ks, row, col, filtering.value_range(out))
    kernel = torch.tensor(weights, dtype=torch.float64)
    expected = reference(prepared, kernel, stride, padding)[:, row, col]
    scale = magnitude(reference, prepared.double(), kernel, stride, padding)
    assert detail["values"] == out[:, row, col].double().tolist()
    values = torch.tensor(detail["values"], dtype=torch.float64)
    assert_close(values, expected, terms=kernel.numel(), dtype=torch.float32, scale=scale)
    sums = torch.tensor(detail["sums"], dtype=torch.float64)  # float64 on both sides
    assert_close(sums, expected, terms=kernel.numel(), dtype=torch.float64, scale=scale)
    # the neighbourhood is what the kernel covered: the padded input's window
    padded = F.pad(prepared.double(), (padding[1], padding[1], padding[0], padding[0]))
    kh, kw = len(weights), len(weights[0])
    top, left = row * stride[0], col * stride[1]
    window = padded[:, top : top + kh, left : left + kw]
    assert detail["window"] == window.to(torch.int64).tolist()
    assert (detail["top"], detail["left"]) == (top - padding[0], left - padding[1])
    products = torch.tensor(detail["products"], dtype=torch.float64)
    assert torch.equal(products, window * kernel)  # the same float64 products


def test_every_preset_applies_and_keeps_the_size_with_same_padding():
    gen = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (3, 20, 30), generator=gen, dtype=torch.uint8)
    for name, kernel in KERNELS.items():
        kh, kw = len(kernel.weights), len(kernel.weights[0])
        ks = filtering.kernel_settings(name, padding=[kh // 2, kw // 2])
        out = filtering.convolve(x, ks, CPU)
        assert out.shape == (3, 20, 30), name
        weights = torch.tensor(kernel.weights, dtype=torch.float64)  # the exact fractions
        assert_conv(out, x, weights, (1, 1), (kh // 2, kw // 2))


def test_identity_gives_the_image_back_and_box_blur_the_mean():
    x = torch.arange(25, dtype=torch.uint8).reshape(1, 5, 5) * 10
    ident = filtering.convolve(x, filtering.kernel_settings("identity", padding=1), CPU)
    assert torch.equal(ident, x.float())
    ks = filtering.kernel_settings([[1] * 3] * 3, normalize=True)
    # nine float64 ninths, each rounded once, and their sum; the float32 blur the same
    assert ks.raw_sum == 9 and float(ks.kernel.sum()) == approx(1, terms=9 + 1, dtype=torch.float64)
    blur = filtering.convolve(x, ks, CPU)
    assert blur[0, 0, 0].item() == approx(x[0, :3, :3].double().mean().item(), terms=9 + 1)


def test_gray_mode_uses_the_same_luma_as_the_pixels_page():
    x = torch.tensor([[[200]], [[100]], [[50]]], dtype=torch.uint8)
    ks = filtering.kernel_settings([[1]], gray=True)
    assert filtering.prepare(x, ks).tolist() == convert.to_gray(x).tolist() == [[[124]]]


def test_display_modes():
    out = torch.tensor([[[-300.0, -20.4, 0.0], [100.5, 255.4, 900.0]]])
    lo, hi = filtering.value_range(out)
    assert (lo, hi) == (-300.0, 900.0)
    assert filtering.to_display(out, "clip", lo, hi).tolist() == [[[0, 0, 0], [100, 255, 255]]]
    assert filtering.to_display(out, "abs", lo, hi).tolist() == [[[255, 20, 0], [100, 255, 255]]]
    scaled = ((out - lo) / (hi - lo) * 255).round()
    assert filtering.to_display(out, "minmax", lo, hi).tolist() == scaled.int().tolist()
    flat = torch.full((1, 2, 2), 7.0)
    assert filtering.to_display(flat, "minmax", 7.0, 7.0).tolist() == [[[0, 0], [0, 0]]]


def test_histogram_counts_every_value_over_a_range_that_includes_0_to_255():
    gen = torch.Generator().manual_seed(3)
    out = torch.randn((3, 40, 50), generator=gen) * 200
    h = filtering.histogram(out)
    assert len(h["edges"]) == filtering.HISTOGRAM_BINS + 1
    assert h["edges"][0] <= min(0, out.min().item()) and h["edges"][-1] >= 255
    assert [sum(c) for c in h["counts"]] == [2000, 2000, 2000]
    assert h["below"] == int((out < 0).sum()) and h["above"] == int((out > 255).sum())
    assert h["total"] == 6000
    numpy_counts = torch.histogram(
        out[0].double(), bins=torch.tensor(h["edges"], dtype=torch.float64)
    )[0]
    assert h["counts"][0] == numpy_counts.to(torch.int64).tolist()


BAD = [
    ({"kernel": [[1] * 10] * 3}, "kernel is 3×10; the limit is 9×9"),
    ({"kernel": [[1, 2], [3]]}, "kernel[1] has 1 entries where 2 were expected"),
    ({"kernel": [[1, "a"]]}, "kernel[0][1] is the text 'a', not a number"),
    ({"kernel": [1, 2, 3]}, "kernel must be an H×W grid"),
    ({"kernel": "blurry"}, "unknown kernel 'blurry'"),
    ({"kernel": "sobel_left", "normalize": True}, "add up to 0, so it cannot be normalised"),
    ({"kernel": [[1]], "stride": 0}, "stride must be at least 1 (got 0)"),
    ({"kernel": [[1]], "stride": 17}, "stride must be at most 16 (got 17)"),
    ({"kernel": [[1]], "padding": -1}, "padding must be at least 0 (got -1)"),
    ({"kernel": [[1]], "padding": [1, 2, 3]}, "padding must be one integer or two"),
    ({"kernel": [[1]], "display": "log"}, "display must be one of clip, abs, minmax"),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_settings_are_refused_with_a_sentence(options, message):
    with pytest.raises(ValueError) as refused:
        filtering.kernel_settings(**options)
    assert message in str(refused.value)


def test_a_kernel_larger_than_the_padded_image_is_refused():
    ks = filtering.kernel_settings("sharpen", padding=0)
    with pytest.raises(ValueError, match=r"the 3×3 kernel is larger than the padded image \(1×1\)"):
        filtering.convolve(torch.zeros((3, 1, 1), dtype=torch.uint8), ks, CPU)
    padded = filtering.kernel_settings("sharpen", padding=1)
    out = filtering.convolve(torch.full((3, 1, 1), 10, dtype=torch.uint8), padded, CPU)
    assert out.flatten().tolist() == [50.0, 50.0, 50.0]


def test_a_pixel_outside_the_output_is_refused():
    x = torch.zeros((1, 4, 4), dtype=torch.uint8)
    ks = filtering.kernel_settings([[1]])
    out = filtering.convolve(x, ks, CPU)
    with pytest.raises(ValueError, match=r"pixel \(row 4, column 0\) is outside the 4×4 output"):
        filtering.pixel_detail(x, out, ks, 4, 0, (0.0, 0.0))
