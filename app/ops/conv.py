"""Step-by-step 2D convolution: the output plus, for every output element, what it read.

``conv2d_trace`` computes the whole trace at once with ``unfold`` (im2col): column ``l`` of
``columns`` holds the C·kh·kw input values that output position ``l`` multiplies by the
kernel, in channel, row, column order. The output is ``weights @ columns + bias``, which
equals ``torch.nn.functional.conv2d`` (tests/ops/test_conv.py checks every setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arithmetic import Pair, SizeFormula, as_pair, conv_size_formula
from app.ops.arrays import as_stack, compact
from app.ops.checks import MULTIPLICATIONS, KernelLimits, bias_vector, check_kernel, check_terms

#: The largest trace the app computes; a lecture-size example always fits.
LIMITS = KernelLimits(
    max_channels=16, max_out_channels=16, max_size=64, max_kernel=11, max_padding=16,
    max_stride=64, max_dilation=16,
)  # fmt: skip


@dataclass(frozen=True)
class ConvTrace:
    """A computed convolution, ready to be stepped through."""

    input: torch.Tensor  # (C, H, W)
    padded_input: torch.Tensor  # (C, Hp, Wp)
    kernel: torch.Tensor  # (O, C, kh, kw), as applied: already rotated 180° when flip
    bias: torch.Tensor  # (O,)
    columns: torch.Tensor  # (C·kh·kw, L): the values each output position reads
    output: torch.Tensor  # (O, H', W')
    stride: Pair
    padding: Pair
    dilation: Pair
    flip: bool
    formulas: tuple[SizeFormula, SizeFormula]

    @property
    def windows(self) -> torch.Tensor:
        """(L, 2) top-left [row, col] of each window in the padded input, row-major."""
        out_h, out_w = self.output.shape[1:]
        rows = torch.arange(out_h).repeat_interleave(out_w) * self.stride[0]
        cols = torch.arange(out_w).repeat(out_h) * self.stride[1]
        return torch.stack((rows, cols), dim=1)

    @property
    def footprint(self) -> Pair:
        """Height and width the dilated kernel spans in the padded input."""
        kh, kw = self.kernel.shape[2:]
        return (self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1)

    def partial_sums(self) -> torch.Tensor:
        """(O, L, C): each input channel's share of each output element, before the bias."""
        out_c, in_c = self.kernel.shape[:2]
        weights = self.kernel.reshape(out_c, 1, -1)  # (O, 1, K)
        products = weights * self.columns.T[None]  # (O, L, K)
        return products.reshape(out_c, products.shape[1], in_c, -1).sum(-1)

    def parameters(self) -> dict[str, Any]:
        """Parameter count of this layer next to a dense layer with the same input and output."""
        out_c, in_c, kh, kw = self.kernel.shape
        c, h, w = self.input.shape
        _, oh, ow = self.output.shape
        conv = (kh * kw * in_c + 1) * out_c
        dense = (c * h * w + 1) * (out_c * oh * ow)
        return {
            "conv": conv,
            "conv_expression": f"({kh}·{kw}·{in_c} + 1)·{out_c} = {conv:,}",
            "dense": dense,
            "dense_expression": f"({c}·{h}·{w} + 1)·({out_c}·{oh}·{ow}) = {dense:,}",
        }

    def to_dict(self) -> dict[str, Any]:
        """The layout of ``POST /api/convolution``: lists and numbers, except that each step's
        ``terms`` is a (K, 2) numpy view (serialise with ``orjson.OPT_SERIALIZE_NUMPY``):
        converting hundreds of thousands of floats to Python objects would cost 10× more.
        """
        out_c, _, oh, ow = (*self.kernel.shape[:2], *self.output.shape[1:])
        length = oh * ow
        weights = self.kernel.reshape(out_c, -1)  # (O, K)
        cols_t = self.columns.T  # (L, K)
        stacked = torch.stack(
            (cols_t.expand(out_c, -1, -1), weights[:, None, :].expand(-1, length, -1)), dim=-1
        )  # (O, L, K, 2)
        pairs = compact(stacked)  # whole numbers are written as 3, not 3.0
        partials = self.partial_sums().tolist()
        values = self.output.reshape(out_c, length).tolist()
        windows = self.windows.tolist()
        bias = self.bias.tolist()
        steps = [
            {
                "position": [o, l // ow, l % ow],
                "window": windows[l],
                "terms": pairs[o, l],
                "partials": partials[o][l],
                "bias": bias[o],
                "value": values[o][l],
            }
            for o in range(out_c)
            for l in range(length)  # noqa: E741
        ]
        return {
            "output": self.output.tolist(),
            "output_shape": list(self.output.shape),
            "padded_input": self.padded_input.tolist(),
            "kernel": self.kernel.tolist(),
            "bias": bias,
            "stride": list(self.stride),
            "padding": list(self.padding),
            "dilation": list(self.dilation),
            "flip": self.flip,
            "footprint": list(self.footprint),
            "formula": {f.axis: f.to_dict() for f in self.formulas},
            "parameters": self.parameters(),
            "steps": steps,
        }


def _as_kernel(weight: torch.Tensor, in_channels: int, limits: KernelLimits) -> torch.Tensor:
    if weight.dim() == 2:
        weight = weight[None, None]
    elif weight.dim() == 3:
        weight = weight[None]
    if weight.dim() != 4:
        raise ValueError("kernel must be kh×kw, C×kh×kw or O×C×kh×kw")
    layout = "give one kh×kw slice per input channel"
    check_kernel(weight, in_channels, limits, in_axis=1, layout=layout)
    return weight


def conv2d_trace(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int | Pair | list[int] = 1,
    padding: int | Pair | list[int] = 0,
    dilation: int | Pair | list[int] = 1,
    flip: bool = False,
    limits: KernelLimits = LIMITS,
) -> ConvTrace:
    """Convolve ``x`` (H×W or C×H×W) with ``weight`` and record every step.

    ``flip=True`` computes true convolution (kernel rotated 180°), otherwise
    cross-correlation, which is what ``F.conv2d`` and every deep-learning library compute.
    """
    x = as_stack(x, "input", max_channels=limits.max_channels, max_size=limits.max_size)
    weight = _as_kernel(weight, x.shape[0], limits)
    out_c, in_c, kh, kw = weight.shape
    s = as_pair(stride, "stride", minimum=1, maximum=limits.max_stride)
    p = as_pair(padding, "padding", minimum=0, maximum=limits.max_padding)
    d = as_pair(dilation, "dilation", minimum=1, maximum=limits.max_dilation)
    bias = bias_vector(bias, out_c, x)

    _, h, w = x.shape
    padded_h, padded_w = h + 2 * p[0], w + 2 * p[1]
    reach_h, reach_w = d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1
    if reach_h > padded_h or reach_w > padded_w:
        dilated = f", dilated to {reach_h}×{reach_w}," if (reach_h, reach_w) != (kh, kw) else ""
        raise ValueError(
            f"the {kh}×{kw} kernel{dilated} is larger than the padded input "
            f"({padded_h}×{padded_w}): use a smaller kernel or dilation, or more padding"
        )
    formulas = (
        conv_size_formula("H", h, kh, s[0], p[0], d[0]),
        conv_size_formula("W", w, kw, s[1], p[1], d[1]),
    )
    out_h, out_w = formulas[0].value, formulas[1].value
    check_terms(
        out_c * out_h * out_w * in_c * kh * kw, limits.max_terms, counted=MULTIPLICATIONS,
        advice="use a smaller input or kernel, fewer channels or a larger stride",
    )  # fmt: skip

    kernel = torch.flip(weight, dims=(-2, -1)) if flip else weight
    padded = F.pad(x, (p[1], p[1], p[0], p[0]))  # (C, Hp, Wp)
    columns = F.unfold(padded[None], (kh, kw), dilation=d, stride=s)[0]  # (C·kh·kw, L)
    output = kernel.reshape(out_c, -1) @ columns + bias[:, None]  # (O, L)
    return ConvTrace(
        input=x,
        padded_input=padded,
        kernel=kernel,
        bias=bias,
        columns=columns,
        output=output.reshape(out_c, out_h, out_w),
        stride=s,
        padding=p,
        dilation=d,
        flip=flip,
        formulas=formulas,
    )
