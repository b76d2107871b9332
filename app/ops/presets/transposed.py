"""Transposed-convolution examples, as presets of the transposed-convolution page.

Every ``expected`` output was checked against ``F.conv_transpose2d``. The lecture's
upsampling example prints a wrong result: the preset shows the right one and a note saying
what the slide got wrong.
"""

from __future__ import annotations

from typing import Any

from app.ops.presets.base import Preset

Grid = list[list[float]]


def transposed(
    name: str, title: str, source: str, input: list[Any], kernel: list[Any], *,
    bias: float | list[float] = 0, stride: int | list[int] = 1, padding: int | list[int] = 0,
    output_padding: int | list[int] = 0, dilation: int | list[int] = 1,
    expected: list[Any] | None = None, note: str = "", tags: tuple[str, ...] = (),
) -> Preset:  # fmt: skip
    """A transposed-convolution preset: an input, a kernel (kh×kw or C_in×C_out×kh×kw) and
    the layer's settings; ``expected`` is the output (H'×W' or O×H'×W')."""
    settings = dict(
        kernel=kernel, bias=bias, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation,
    )  # fmt: skip
    return Preset("transposed", name, title, source, input, settings, expected, note, tags)


_SLIDE_X: Grid = [[1, 0], [2, 3]]
_SLIDE_K: Grid = [[0, 1], [1, 0]]
_D2L_X: Grid = [[0, 1], [2, 3]]
_D2L_SOURCE = "Zhang et al., d2l.ai §14.10 'Transposed Convolution'"

TRANSPOSED: dict[str, Preset] = {
    p.name: p
    for p in [
        transposed(
            "slides_upsampling",
            "Upsampling a 2×2 input to 4×4 (stride 2)",
            "Data 182, 'Transpose convolution' (input [[1, 0], [2, 3]], kernel [[0, 1], [1, 0]])",
            _SLIDE_X,
            _SLIDE_K,
            stride=2,
            expected=[[0, 1, 0, 0], [1, 0, 0, 0], [0, 2, 0, 3], [2, 0, 3, 0]],
            note="The slide prints the last two rows as 2 2 3 0 and 0 3 0 0. The input 2 "
            "stamps 2·kernel = [[0, 2], [2, 0]] at rows 2–3, columns 0–1, and the input 3 "
            "stamps [[0, 3], [3, 0]] at rows 2–3, columns 2–3, so those rows are 0 2 0 3 and "
            "2 0 3 0 (F.conv_transpose2d agrees). Its 4×4 zero-inserted input is the 3×3 zero "
            "insertion plus a row and a column of zeros at the bottom and right; the "
            "equivalent convolution pads one more at the top and left too.",
            tags=("lecture",),
        ),
        transposed(
            "slides_stride_1",
            "The same input and kernel, stride 1",
            "Data 182, 'Transpose convolution', with stride 1",
            _SLIDE_X,
            _SLIDE_K,
            expected=[[0, 1, 0], [1, 2, 3], [2, 3, 0]],
            tags=("lecture",),
        ),
        transposed(
            "d2l_basic",
            "Each input cell stamps the scaled kernel",
            _D2L_SOURCE,
            _D2L_X,
            [[0, 1], [2, 3]],
            expected=[[0, 0, 1], [0, 4, 6], [4, 12, 9]],
        ),
        transposed(
            "d2l_stride",
            "Stride 2: the stamps move two cells apart",
            f"{_D2L_SOURCE}, stride 2",
            _D2L_X,
            [[0, 1], [2, 3]],
            stride=2,
            expected=[[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]],
            tags=("stride",),
        ),
        transposed(
            "d2l_padding",
            "Padding 1 crops a row and a column from each side",
            f"{_D2L_SOURCE}, padding 1",
            _D2L_X,
            [[0, 1], [2, 3]],
            padding=1,
            expected=[[4]],
            tags=("padding",),
        ),
        transposed(
            "double_size",
            "Exactly twice the size: 3×3 → 6×6",
            "convscope: stride 2, padding 1, output padding 1, as in decoder networks",
            [[1, 2, 0], [0, 1, 3], [2, 0, 1]],
            [[1, 1, 1], [1, 1, 1], [1, 1, 1]],
            stride=2,
            padding=1,
            output_padding=1,
            expected=[
                [1, 3, 2, 2, 0, 0],
                [1, 4, 3, 6, 3, 3],
                [0, 1, 1, 4, 3, 3],
                [2, 3, 1, 5, 4, 4],
                [2, 2, 0, 1, 1, 1],
                [2, 2, 0, 1, 1, 1],
            ],
            tags=("output_padding",),
        ),
        transposed(
            "dilated",
            "Dilation 2: each stamp spreads out",
            "convscope: dilated transposed convolution",
            [[1, 2], [3, 4]],
            [[1, 2], [3, 4]],
            dilation=2,
            expected=[[1, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16]],
            tags=("dilation",),
        ),
        transposed(
            "two_channels",
            "Two input channels add into one output",
            "convscope: one kernel slice per input channel, stride 2, bias 1",
            [[[1, 2], [3, 4]], [[1, 0], [0, 1]]],
            [[[[1, 0], [0, 1]]], [[[1, 1], [1, 1]]]],
            bias=1,
            stride=2,
            expected=[[3, 2, 3, 1], [2, 3, 1, 3], [4, 1, 6, 2], [1, 4, 2, 6]],
            tags=("channels",),
        ),
    ]
}
DEFAULT = "slides_upsampling"
