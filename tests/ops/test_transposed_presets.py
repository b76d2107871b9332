"""Every transposed-convolution preset: the engine, F.conv_transpose2d and the (corrected)
slide agree."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from app.ops.arrays import to_tensor, to_vector
from app.ops.transposed_presets import DEFAULT_TRANSPOSED_PRESET, TRANSPOSED_PRESETS
from tests.utils.tolerance import assert_close, magnitude


@pytest.mark.parametrize("name", list(TRANSPOSED_PRESETS))
def test_preset_matches_torch(name):
    preset = TRANSPOSED_PRESETS[name]
    x = to_tensor(preset.input, "input", dims=(2, 3))
    weight = to_tensor(preset.kernel, "kernel", dims=(2, 4))
    x = x if x.dim() == 3 else x[None]
    weight = weight if weight.dim() == 4 else weight[None, None]
    bias = to_vector(preset.bias, "bias", weight.shape[1])
    options = {
        "stride": preset.stride,
        "padding": preset.padding,
        "output_padding": preset.output_padding,
        "dilation": preset.dilation,
    }
    expected = F.conv_transpose2d(x[None], weight, bias, **options)[0]
    trace = preset.run()
    # float64: an output sums at most C_in·kh·kw stamps and the bias
    terms = weight.shape[0] * weight.shape[2] * weight.shape[3] + 1
    scale = magnitude(F.conv_transpose2d, x[None], weight, bias, **options)
    assert_close(trace.output, expected, terms=terms, scale=scale)
    if preset.expected is not None:
        slide = torch.tensor(preset.expected, dtype=torch.float64)
        assert_close(trace.output.reshape(slide.shape), slide, terms=terms, scale=scale)


def test_the_slides_upsampling_mistake_is_corrected_and_explained():
    preset = TRANSPOSED_PRESETS["slides_upsampling"]
    slide = [[0, 1, 0, 0], [1, 0, 0, 0], [2, 2, 3, 0], [0, 3, 0, 0]]  # as printed
    assert preset.expected != slide
    assert preset.expected[2:] == [[0, 2, 0, 3], [2, 0, 3, 0]]
    assert "2 2 3 0 and 0 3 0 0" in preset.note
    assert DEFAULT_TRANSPOSED_PRESET == "slides_upsampling"
