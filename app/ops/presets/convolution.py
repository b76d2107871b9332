"""Worked examples from the lecture notes (``shared/seeds``), as convolution-playground presets.

Every ``expected`` output here was checked against ``torch.nn.functional.conv2d``. Where a
slide printed a wrong number, the preset carries the right one and a ``note`` saying what
the slide got wrong.
"""

from __future__ import annotations

from typing import Any

from app.ops.kernels import KERNELS
from app.ops.presets.base import Preset

Grid = list[list[float]]


def conv(
    name: str, title: str, source: str, input: list[Any], kernel: list[Any], *,
    bias: float | list[float] = 0, stride: int | list[int] = 1,
    padding: int | str | list[int] = 0, dilation: int | list[int] = 1, flip: bool = False,
    padding_mode: str = "zeros", dims: int = 2, expected: list[Any] | None = None,
    note: str = "", tags: tuple[str, ...] = (),
) -> Preset:  # fmt: skip
    """A playground preset: an input, a kernel (kh×kw, C×kh×kw or O×C×kh×kw; in 1-D and
    3-D, k… likewise) and the layer's settings; ``expected`` is the output (H'×W' or
    O×H'×W')."""
    settings = dict(
        kernel=kernel, bias=bias, stride=stride, padding=padding, dilation=dilation, flip=flip,
        padding_mode=padding_mode, dims=dims,
    )  # fmt: skip
    return Preset("convolution", name, title, source, input, settings, expected, note, tags)


_D2L_X: Grid = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
_D2L_K: Grid = [[0, 1], [2, 3]]
_SIX: Grid = [
    [3, 0, 1, 2, 7, 4],
    [1, 5, 8, 9, 3, 1],
    [2, 7, 2, 5, 1, 3],
    [0, 1, 3, 1, 7, 8],
    [4, 2, 1, 6, 2, 8],
    [2, 4, 5, 2, 3, 9],
]
_VERTICAL: Grid = [[1, 0, -1], [1, 0, -1], [1, 0, -1]]
_BINARY: Grid = [
    [0, 1, 1, 0, 0],
    [0, 1, 1, 0, 0],
    [1, 0, 0, 1, 1],
    [0, 1, 1, 0, 1],
    [1, 1, 1, 1, 1],
]
_SHARPEN: Grid = [list(r) for r in KERNELS["sharpen"].weights]
_GRAY: Grid = [[1, 0.5, 1, 0], [0, 0.25, 0.5, 1], [1, 0.25, 0, 1], [0.5, 0, 1, 1]]
_RGB: list[Grid] = [
    [[9, 8, 2, 1, 0], [8, 9, 3, 1, 1], [7, 8, 2, 0, 1], [8, 7, 1, 1, 0], [9, 9, 2, 0, 0]],
    [[1, 2, 8, 9, 7], [0, 1, 9, 8, 8], [1, 2, 7, 9, 9], [2, 1, 8, 8, 7], [1, 0, 9, 9, 8]],
    [[0, 1, 1, 2, 1], [1, 0, 2, 1, 0], [9, 9, 8, 9, 9], [1, 2, 0, 1, 1], [0, 1, 1, 0, 2]],
]
_SLIDES_SHARPEN = "Leong, 'How does convolution work?' (sharpen kernel)"

CONVOLUTION: dict[str, Preset] = {
    p.name: p
    for p in [
        conv(
            "d2l_cross_correlation",
            "2-D cross-correlation (3×3 ⋆ 2×2)",
            "Lipton & Chai, '2-D Cross Correlation' (d2l.ai)",
            _D2L_X,
            _D2L_K,
            expected=[[19, 25], [37, 43]],
            tags=("lecture",),
        ),
        conv(
            "d2l_padding",
            "Padding 1 around a 3×3 input",
            "Lipton & Chai, 'Padding'",
            _D2L_X,
            _D2L_K,
            padding=1,
            expected=[[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]],
            tags=("lecture", "padding"),
        ),
        conv(
            "d2l_stride",
            "Strides of 3 (rows) and 2 (columns)",
            "Lipton & Chai, 'Stride'",
            _D2L_X,
            _D2L_K,
            padding=1,
            stride=[3, 2],
            expected=[[0, 8], [6, 8]],
            tags=("lecture", "stride"),
        ),
        conv(
            "d2l_channels",
            "Two input channels, summed",
            "Lipton & Chai, 'Multiple Input Channels'",
            [_D2L_X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
            [_D2L_K, [[1, 2], [3, 4]]],
            expected=[[56, 72], [104, 120]],
            tags=("lecture", "channels"),
        ),
        conv(
            "vertical_edge_numbers",
            "Vertical edge detector on a 6×6 image",
            "Lipton & Chai, 'Convolution' (input 6×6, filter 3×3, output 4×4)",
            _SIX,
            _VERTICAL,
            expected=[[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]],
            note="The slide prints −16 in the second row, first column; the sum there is "
            "(1 + 2 + 0) − (8 + 2 + 3) = −10. Only the bottom-right value is −16.",
            tags=("lecture", "edges"),
        ),
        conv(
            "vertical_edge_step",
            "Vertical edge: bright left, dark right",
            "Lipton & Chai, 'Vertical edge detector'",
            [[10, 10, 10, 0, 0, 0]] * 6,
            _VERTICAL,
            expected=[[0, 30, 30, 0]] * 4,
            tags=("lecture", "edges"),
        ),
        conv(
            "vertical_edge_bar",
            "Vertical edge filter on a bright bar",
            "Data 182, 'Example' (−1 0 1 filter on a 5×6 image)",
            [[0, 50, 50, 0, 0, 0]] * 5,
            [[-1, 0, 1]] * 3,
            expected=[[150, -150, -150, 0]] * 3,
            tags=("lecture", "edges"),
        ),
        conv(
            "sharpen",
            "Sharpen a 5×5 binary image",
            _SLIDES_SHARPEN,
            _BINARY,
            _SHARPEN,
            expected=[[3, 3, -2], [-3, -3, 4], [3, 3, -4]],
            tags=("lecture",),
        ),
        conv(
            "sharpen_padded",
            "Sharpen with padding 1",
            f"{_SLIDES_SHARPEN}, padding",
            _BINARY,
            _SHARPEN,
            padding=1,
            expected=[
                [-1, 3, 3, -1, 0],
                [-2, 3, 3, -2, -1],
                [5, -3, -3, 4, 3],
                [-3, 3, 3, -4, 3],
                [4, 2, 2, 3, 3],
            ],
            note="The slide prints 5 in the bottom-left corner; the sum there is "
            "5×1 − 1 − 0 − 0 − 0 = 4.",
            tags=("lecture", "padding"),
        ),
        conv(
            "sharpen_stride",
            "Sharpen with padding 1 and stride 2",
            f"{_SLIDES_SHARPEN}, stride = 2",
            _BINARY,
            _SHARPEN,
            padding=1,
            stride=2,
            expected=[[-1, 3, 0], [5, -3, 3], [4, 2, 3]],
            note="The slide prints 5 in the bottom-left corner; the correct value is 4.",
            tags=("lecture", "stride"),
        ),
        conv(
            "flip_first",
            "True convolution: flip the kernel first",
            "Leong, 'Flip first' (kernel 1…9)",
            _BINARY,
            [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
            flip=True,
            expected=[[27, 29, 18], [24, 26, 22], [24, 24, 31]],
            tags=("lecture", "flip"),
        ),
        conv(
            "grayscale_4x4",
            "A 4×4 grayscale image and a 2×2 filter",
            "CNN overview, 'Fancy linear operation'",
            _GRAY,
            [[1, 0], [0, 2]],
            expected=[[1.5, 1.5, 3], [0.5, 0.25, 2.5], [1, 2.25, 2]],
            tags=("lecture",),
        ),
        conv(
            "rgb_two_filters",
            "RGB input, two output channels, with bias",
            "convscope: three channels, one kernel slice per channel, two feature maps",
            _RGB,
            [
                [_VERTICAL, _VERTICAL, [[0, 0, 0], [0, 0, 0], [0, 0, 0]]],
                [
                    [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
                    [[0, 0, 0]] * 3,
                    [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
                ],
            ],
            bias=[1, -1],
            padding=1,
            tags=("channels",),
        ),
        conv(
            "same_torch",
            "'same' padding with an even kernel: torch puts the extra row after",
            "Lipton & Chai, 'Padding' (p_h = k_h − 1), computed as torch.nn.Conv2d does",
            _D2L_X,
            _D2L_K,
            padding="same",
            expected=[[19, 25, 10], [37, 43, 16], [7, 8, 0]],
            note="torch pads ⌊p/2⌋ = 0 on top and on the left and ⌈p/2⌉ = 1 at the bottom and "
            "on the right; the slide pads ⌈p/2⌉ on top (see the next example).",
            tags=("lecture", "padding"),
        ),
        conv(
            "same_slide",
            "The slide's split: ⌈p/2⌉ on top and on the left",
            "Lipton & Chai, 'Padding': 'Even k_h pad ⌈p_h/2⌉ on top, ⌊p_h/2⌋ on bottom'",
            _D2L_X,
            _D2L_K,
            padding=[1, 0, 1, 0],
            expected=[[0, 3, 8], [9, 19, 25], [21, 37, 43]],
            note="Padding [top, bottom, left, right] = [1, 0, 1, 0]: the same size as torch's "
            "'same', one row and one column shifted.",
            tags=("lecture", "padding"),
        ),
        conv(
            "sharpen_reflect",
            "Sharpen, the border mirrored (padding_mode reflect)",
            f"{_SLIDES_SHARPEN}, padding 1, reflected instead of zeros",
            _BINARY,
            _SHARPEN,
            padding=1,
            padding_mode="reflect",
            tags=("padding",),
        ),
        conv(
            "vertical_edge_circular",
            "Vertical edge, the image wrapped around (padding_mode circular)",
            "Lipton & Chai, 'Vertical edge detector', padding 1, circular",
            [[10, 10, 10, 0, 0, 0]] * 6,
            _VERTICAL,
            padding=1,
            padding_mode="circular",
            note="Wrapped around, the dark right edge meets the bright left one: the first and "
            "last columns see an edge too.",
            tags=("padding",),
        ),
        conv(
            "dilated",
            "Dilation 2: a 3×3 kernel spanning 5×5",
            "convscope: dilated (atrous) convolution",
            _SIX,
            _VERTICAL,
            dilation=2,
            tags=("dilation",),
        ),
    ]
}

#: The preset the playground opens on.
DEFAULT = "sharpen"
