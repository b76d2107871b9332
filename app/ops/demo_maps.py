"""Feature maps to show an operation on: a lecture preset's convolution output, or a classic
kernel applied to a sample image (grayscale, values in [0, 1], no padding: zero padding would
light up the borders, where the photo seems to end in black).
"""

from __future__ import annotations

from typing import Any

import torch

from app.images.samples import get_sample, load_sample
from app.ops.arrays import brief
from app.ops.conv import conv2d_trace
from app.ops.kernels import get_kernel
from app.ops.presets.convolution import CONVOLUTION

IMAGE_SIDE = 64  # the long side of a sample image, in cells


def from_preset(name: Any) -> tuple[torch.Tensor, str]:
    """(H', W') first feature map of a convolution preset, and where it comes from."""
    if not isinstance(name, str) or name not in CONVOLUTION:
        raise ValueError(f"unknown preset {brief(name)}; known: {', '.join(CONVOLUTION)}")
    preset = CONVOLUTION[name]
    return preset.run().output[0], f"{preset.title} (convolution output)"


def from_image(image: Any, kernel: Any) -> tuple[torch.Tensor, str]:
    """(H, W) a classic kernel applied to a sample image in grayscale, and a description."""
    if not isinstance(image, str) or not isinstance(kernel, str):
        raise ValueError("image and kernel must be names, e.g. 'chelsea' and 'sobel_left'")
    sample = get_sample(image)
    pixels = load_sample(image, IMAGE_SIDE)  # (1, H, W) in [0, 1]
    classic = get_kernel(kernel)
    weight = torch.tensor(classic.weights, dtype=torch.float64)  # (k, k)
    trace = conv2d_trace(pixels, weight)
    return trace.output[0], f"{classic.title} kernel on {sample.title} (grayscale, 0 to 1)"
