"""1×1 convolution is a per-pixel matrix product: the presets, through the convolution engine."""

from __future__ import annotations

import pytest
import torch

from app.images.samples import load_sample
from app.ops.conv import conv2d_trace
from app.ops.pointwise import LUMA, pointwise_presets
from tests.utils.tolerance import assert_close

PRESETS = pointwise_presets()


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_1x1_convolution_is_the_mixing_matrix_at_every_pixel(name):
    preset = PRESETS[name]
    x = torch.tensor(preset.input, dtype=torch.float64)  # (C, H, W)
    w = torch.tensor(preset.weights, dtype=torch.float64)  # (O, C)
    b = torch.tensor(preset.bias, dtype=torch.float64)
    trace = conv2d_trace(x, w[:, :, None, None], b)
    c, h, width = x.shape
    mixed = (w @ x.reshape(c, -1) + b[:, None]).reshape(-1, h, width)
    scale = float((w.abs() @ x.reshape(c, -1).abs() + b.abs()[:, None]).max())
    assert_close(trace.output, mixed, terms=c + 1, scale=scale)  # float64, C products + bias
    assert trace.parameters()["conv"] == (c + 1) * w.shape[0]


def test_grayscale_preset_is_pillows_conversion_up_to_rounding():
    preset = PRESETS["gray"]
    rgb = torch.tensor(preset.input, dtype=torch.float64)
    gray = torch.tensordot(torch.tensor(LUMA, dtype=torch.float64), rgb, dims=1)
    pillow = load_sample("chelsea", 12, "L")[0] * 255  # Pillow's own "L" conversion
    assert (gray - pillow).abs().max() < 2.5  # Pillow rounds before and after shrinking
