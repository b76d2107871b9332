"""1×1 convolution as a per-pixel mix of channels: presets for the 1×1 page.

A 1×1 convolution with weights W (C_out×C_in) and bias b maps every pixel's channel vector
x = X[:, i, j] to W·x + b: the same small dense layer at every position (Lin, Chen & Yan,
"Network In Network", 2014). The page computes it with ``POST /api/convolution`` and a
C_out×C_in×1×1 kernel; tests/ops/test_pointwise.py checks that equals the matrix product.
"""

from __future__ import annotations

from typing import Any

from app.images.samples import load_sample
from app.ops.presets.base import Preset

#: ITU-R BT.601 luma weights, which Pillow's grayscale conversion uses.
LUMA = [0.299, 0.587, 0.114]


def pointwise(
    name: str, title: str, source: str, input: list[Any], weights: list[list[float]],
    bias: list[float], tags: tuple[str, ...] = (),
) -> Preset:  # fmt: skip
    """A 1×1 preset: an input stack (C_in×H×W) and a mixing matrix ``weights`` (C_out×C_in)."""
    return Preset(
        "pointwise", name, title, source, input, dict(weights=weights, bias=bias), tags=tags
    )


def _cat() -> list[Any]:
    """Chelsea the cat as a 3×8×12 stack of 0–255 pixel values."""
    return (load_sample("chelsea", 12, "RGB") * 255).round().int().tolist()


def pointwise_presets() -> dict[str, Preset]:
    """The presets (built on demand: one reads a sample image)."""
    cat = _cat()
    three = [
        [[1, 2, 0], [3, 1, 2], [0, 1, 4]],
        [[2, 0, 1], [1, 3, 0], [2, 2, 1]],
        [[0, 1, 3], [2, 0, 1], [1, 4, 2]],
    ]
    return {
        p.name: p
        for p in [
            pointwise(
                "fuse_channels",
                "Three channels fused into two",
                "Lipton & Chai, '1 x 1 Convolutional Layer' (it doesn't recognize spatial "
                "patterns, but fuses channels)",
                three,
                [[1, 0, -1], [0.5, 0.5, 0.5]],
                [0, 1],
                tags=("lecture",),
            ),
            pointwise(
                "gray",
                "Colour to grayscale is a 1×1 convolution",
                "convscope: ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B, on Chelsea the cat",
                cat,
                [LUMA],
                [0],
                tags=("lecture",),
            ),
            pointwise(
                "swap",
                "Swap red and blue",
                "convscope: a permutation matrix only reorders the channels",
                cat,
                [[0, 0, 1], [0, 1, 0], [1, 0, 0]],
                [0, 0, 0],
            ),
            pointwise(
                "condense",
                "Condense four channels into one",
                "CNN overview, 'Other Techniques' (with a 1x1 filter size you can condense "
                "the channel dimension)",
                [*three, [[1, 1, 1], [0, 0, 0], [2, 2, 2]]],
                [[0.25, 0.25, 0.25, 0.25]],
                [0],
            ),
        ]
    }


DEFAULT = "fuse_channels"
