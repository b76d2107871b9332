"""Every lecture preset: the engine, F.conv2d and the (corrected) slide agree."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from app.ops.arrays import to_tensor, to_vector
from app.ops.conv import conv2d_trace
from app.ops.kernels import KERNELS, get_kernel
from app.ops.presets import PRESETS
from tests.utils.tolerance import assert_close, magnitude


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_matches_torch(name):
    preset = PRESETS[name]
    x = to_tensor(preset.input, "input", dims=(2, 3))
    weight = to_tensor(preset.kernel, "kernel", dims=(2, 3, 4))
    x3 = x if x.dim() == 3 else x[None]
    w4 = (
        weight if weight.dim() == 4 else (weight[None] if weight.dim() == 3 else weight[None, None])
    )
    bias = to_vector(preset.bias, "bias", w4.shape[0])
    trace = conv2d_trace(
        x,
        weight,
        bias,
        stride=preset.stride,
        padding=preset.padding,
        dilation=preset.dilation,
        flip=preset.flip,
    )
    applied = torch.flip(w4, (-2, -1)) if preset.flip else w4
    options = {"stride": preset.stride, "padding": preset.padding, "dilation": preset.dilation}
    expected = F.conv2d(x3[None], applied, bias, **options)[0]
    # float64 sums of C·kh·kw products and the bias (exact for the slides' small numbers)
    terms = applied[0].numel() + 1
    scale = magnitude(F.conv2d, x3[None], applied, bias, **options)
    assert_close(trace.output, expected, terms=terms, scale=scale)
    if preset.expected is not None:
        slide = torch.tensor(preset.expected, dtype=torch.float64)
        assert_close(trace.output.reshape(slide.shape), slide, terms=terms, scale=scale)


def test_the_slides_mistakes_are_corrected_and_explained():
    assert PRESETS["vertical_edge_numbers"].expected[1][0] == -10  # the slide says −16
    assert "−16" in PRESETS["vertical_edge_numbers"].note
    assert PRESETS["sharpen_padded"].expected[4][0] == 4  # the slide says 5
    assert PRESETS["sharpen_stride"].expected[2][0] == 4


def test_classic_kernels():
    for name in ("box_blur", "gaussian_blur", "gaussian_blur_5"):
        assert sum(map(sum, KERNELS[name].weights)) == pytest.approx(1.0)
    for name in (
        "laplacian",
        "outline",
        "sobel_top",
        "sobel_left",
        "prewitt_right",
        "vertical_edge",
        "horizontal_edge",
    ):
        assert sum(map(sum, KERNELS[name].weights)) == 0
    assert get_kernel("sharpen").weights[1][1] == 5
    with pytest.raises(ValueError, match="unknown kernel 'nope'; known: identity, sharpen"):
        get_kernel("nope")
