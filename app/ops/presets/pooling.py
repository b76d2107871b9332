"""Pooling examples from the lecture notes (``shared/seeds``), as presets of the pooling page.

Every ``expected`` output was checked against ``F.max_pool2d`` / ``F.avg_pool2d`` (sum:
average × window area).
"""

from __future__ import annotations

from typing import Any

from app.ops.presets.base import Preset

Grid = list[list[float]]


def pool(
    name: str, title: str, source: str, input: list[Any], kind: str, size: int | list[int], *,
    stride: int | list[int] | None = None, padding: int | list[int] = 0,
    expected: list[Any] | None = None, note: str = "", tags: tuple[str, ...] = (),
) -> Preset:  # fmt: skip
    """A pooling preset: an input, the kind and window (``stride`` None: the window size);
    ``expected`` is the output (H'×W' or C×H'×W')."""
    settings = dict(kind=kind, size=size, stride=stride, padding=padding)
    return Preset("pooling", name, title, source, input, settings, expected, note, tags)


_LEONG: Grid = [[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]
_D2L_X: Grid = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
_D2L_16: Grid = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
_GRAY: Grid = [[1, 0.5, 1, 0], [0, 0.25, 0.5, 1], [1, 0.25, 0, 1], [0.5, 0, 1, 1]]
_LEONG_SOURCE = "Leong, 'Pooling Layer' (2x2 Max-Pool)"
_D2L_STRIDE = (
    "Zhang et al., d2l.ai §7.5 'Padding and Stride' (Lipton & Chai's slide 'Padding, "
    "Stride, and Multiple Channels' lost its figure)"
)

POOLING: dict[str, Preset] = {
    p.name: p
    for p in [
        pool(
            "leong_max",
            "2×2 max pooling of a 4×4 feature map",
            _LEONG_SOURCE,
            _LEONG,
            "max",
            2,
            expected=[[20, 30], [112, 37]],
            tags=("lecture",),
        ),
        pool(
            "leong_avg",
            "The same map, 2×2 average pooling",
            f"{_LEONG_SOURCE}: average instead of max",
            _LEONG,
            "avg",
            2,
            expected=[[13, 8], [79, 19.5]],
            tags=("lecture",),
        ),
        pool(
            "leong_sum",
            "The same map, 2×2 sum pooling",
            "Leong, 'Pooling Layer' (aggregation methods: Max-Pool, Average-Pool, Sum-Pool)",
            _LEONG,
            "sum",
            2,
            expected=[[52, 32], [316, 78]],
            tags=("lecture",),
        ),
        pool(
            "d2l_max",
            "2-D max pooling: max(0, 1, 3, 4) = 4",
            "Lipton & Chai, '2-D Max Pooling' (3×3 input, 2×2 window, stride 1)",
            _D2L_X,
            "max",
            2,
            stride=1,
            expected=[[4, 5], [7, 8]],
            tags=("lecture",),
        ),
        pool(
            "d2l_avg",
            "2-D average pooling of the same grid",
            "Lipton & Chai, 'Max vs Mean' (average pooling, 2×2 window, stride 1)",
            _D2L_X,
            "avg",
            2,
            stride=1,
            expected=[[2, 3], [5, 6]],
            tags=("lecture",),
        ),
        pool(
            "d2l_padding_stride",
            "3×3 window, padding 1, stride 2",
            _D2L_STRIDE,
            _D2L_16,
            "max",
            3,
            stride=2,
            padding=1,
            expected=[[5, 7], [13, 15]],
            tags=("lecture", "padding"),
        ),
        pool(
            "d2l_rectangular",
            "A 2×3 window, stride (2, 3), padding (0, 1)",
            _D2L_STRIDE,
            _D2L_16,
            "max",
            [2, 3],
            stride=[2, 3],
            padding=[0, 1],
            expected=[[5, 7], [13, 15]],
            tags=("lecture", "padding"),
        ),
        pool(
            "d2l_channels",
            "Two channels, pooled separately",
            "Lipton & Chai, 'Padding, Stride, and Multiple Channels' (#output channels = "
            "#input channels; the channels of d2l.ai §7.5)",
            [_D2L_16, [[v + 1 for v in row] for row in _D2L_16]],
            "max",
            3,
            stride=2,
            padding=1,
            expected=[[[5, 7], [13, 15]], [[6, 8], [14, 16]]],
            tags=("lecture", "channels"),
        ),
        pool(
            "grayscale_max",
            "Max pooling a 4×4 grayscale image (2×2, stride 2)",
            "CNN overview, 'Max Pooling' (2x2 filter size, stride 2)",
            _GRAY,
            "max",
            2,
            expected=[[1, 1], [1, 1]],
            tags=("lecture",),
        ),
        pool(
            "grayscale_avg",
            "Average pooling the same image",
            "CNN overview, 'Average Pooling' (2x2 filter size)",
            _GRAY,
            "avg",
            2,
            expected=[[0.4375, 0.625], [0.4375, 0.75]],
            tags=("lecture",),
        ),
        pool(
            "overlapping",
            "Overlapping windows: 3×3, stride 2 (as in AlexNet)",
            "convscope: Krizhevsky et al. (2012) pool with z = 3, s = 2",
            [
                [1, 3, 2, 9, 0, 4, 1],
                [5, 6, 1, 2, 3, 1, 0],
                [7, 2, 8, 4, 6, 2, 5],
                [0, 1, 3, 9, 2, 8, 3],
                [4, 7, 2, 1, 5, 0, 6],
                [2, 3, 6, 0, 4, 7, 1],
                [8, 1, 0, 5, 3, 2, 9],
            ],
            "max",
            3,
            stride=2,
            tags=("stride",),
        ),
        pool(
            "average_padding",
            "Average pooling counts padded zeros",
            "convscope: count_include_pad=True, torch's default",
            _D2L_X,
            "avg",
            2,
            stride=2,
            padding=1,
            expected=[[0, 0.75], [2.25, 6]],
            tags=("padding",),
        ),
    ]
}
DEFAULT = "leong_max"
