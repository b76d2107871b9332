"""Step-by-step convolution in 1, 2 or 3 dimensions: the output plus, for every output
element, what it read.

``conv_trace`` computes the whole trace at once (im2col): column ``l`` of ``columns`` holds
the C·k₁·…·k_n input values that output position ``l`` multiplies by the kernel, in channel,
then kernel-axis order (2-D: channel, row, column). The output is ``weights @ columns +
bias``, which equals ``torch.nn.functional.conv1d`` / ``conv2d`` / ``conv3d`` of the input
padded as ``padding`` and ``padding_mode`` say (:mod:`app.ops.padding`;
tests/ops/test_conv.py and tests/ops/test_conv_nd.py check every setting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arithmetic import Axes, SizeFormula, as_axes
from app.ops.arrays import as_stack, compact
from app.ops.checks import MULTIPLICATIONS, KernelLimits, bias_vector, check_kernel, check_terms
from app.ops.padding import AXES, Pads, check_mode, pad, padding_amounts
from app.ops.padding import size_formula as padded_size_formula

#: The largest 2-D trace the app computes; a lecture-size example always fits.
LIMITS = KernelLimits(
    max_channels=16, max_out_channels=16, max_size=64, max_kernel=11, max_padding=16,
    max_stride=64, max_dilation=16,
)  # fmt: skip

#: The largest trace per number of dimensions: a signal (a sound, a sentence's embedding
#: with one channel per feature) or a volume (a short video, a scan).
LIMITS_BY_DIMS = {
    1: KernelLimits(
        max_channels=16, max_out_channels=16, max_size=256, max_kernel=15, max_padding=16,
        max_stride=64, max_dilation=16,
    ),
    2: LIMITS,
    3: KernelLimits(
        max_channels=8, max_out_channels=8, max_size=24, max_kernel=7, max_padding=8,
        max_stride=24, max_dilation=8,
    ),
}  # fmt: skip

LAYOUTS = {
    1: ("L or C×L", "k, C×k or O×C×k", "k"),
    2: ("H×W or C×H×W", "kh×kw, C×kh×kw or O×C×kh×kw", "kh×kw"),
    3: ("D×H×W or C×D×H×W", "kd×kh×kw, C×kd×kh×kw or O×C×kd×kh×kw", "kd×kh×kw"),
}


def shape_text(sizes: Any) -> str:
    """``5×3`` for a 2-D shape; ``5`` for a 1-D one."""
    return "×".join(str(int(n)) for n in sizes)


@dataclass(frozen=True)
class ConvTrace:
    """A computed convolution, ready to be stepped through (S: the input's n axes)."""

    input: torch.Tensor  # (C, *S)
    padded_input: torch.Tensor  # (C, *S padded)
    kernel: torch.Tensor  # (O, C, *k), as applied: already rotated 180° when flip
    bias: torch.Tensor  # (O,)
    columns: torch.Tensor  # (C·∏k, L): the values each output position reads
    output: torch.Tensor  # (O, *S')
    stride: Axes
    pads: Pads  # (before, after) per axis
    dilation: Axes
    flip: bool
    formulas: tuple[SizeFormula, ...]
    padding_mode: str = "zeros"

    @property
    def dims(self) -> int:
        return self.input.dim() - 1

    @property
    def padding(self) -> Axes:
        """The padding before each axis (top, left): where the input starts in the padded one."""
        return tuple(before for before, _ in self.pads)

    @property
    def positions(self) -> torch.Tensor:
        """(L, n) the coordinates of each output position, row-major."""
        axes = [torch.arange(n) for n in self.output.shape[1:]]
        grids = torch.meshgrid(*axes, indexing="ij")
        return torch.stack([g.reshape(-1) for g in grids], dim=1)

    @property
    def windows(self) -> torch.Tensor:
        """(L, n) the first corner of each window in the padded input (2-D: [row, col])."""
        return self.positions * torch.tensor(self.stride)

    @property
    def footprint(self) -> Axes:
        """How far the dilated kernel spans along each axis of the padded input."""
        sizes = self.kernel.shape[2:]
        return tuple(d * (k - 1) + 1 for k, d in zip(sizes, self.dilation, strict=True))

    def partial_sums(self) -> torch.Tensor:
        """(O, L, C): each input channel's share of each output element, before the bias."""
        out_c, in_c = self.kernel.shape[:2]
        weights = self.kernel.reshape(out_c, 1, -1)  # (O, 1, K)
        products = weights * self.columns.T[None]  # (O, L, K)
        return products.reshape(out_c, products.shape[1], in_c, -1).sum(-1)

    def parameters(self) -> dict[str, Any]:
        """Parameter count of this layer next to a dense layer with the same input and output."""
        out_c, in_c, *k = self.kernel.shape
        c, *size = self.input.shape
        _, *out = self.output.shape
        conv = (math.prod(k) * in_c + 1) * out_c
        dense = (c * math.prod(size) + 1) * (out_c * math.prod(out))
        dots = lambda sizes: "·".join(str(n) for n in sizes)  # noqa: E731
        return {
            "conv": conv,
            "conv_expression": f"({dots(k)}·{in_c} + 1)·{out_c} = {conv:,}",
            "dense": dense,
            "dense_expression": f"({dots([c, *size])} + 1)·({dots([out_c, *out])}) = {dense:,}",
        }

    def to_dict(self) -> dict[str, Any]:
        """The layout of ``POST /api/convolution``: lists and numbers, except that each step's
        ``terms`` is a (K, 2) numpy view (serialise with ``orjson.OPT_SERIALIZE_NUMPY``):
        converting hundreds of thousands of floats to Python objects would cost 10× more.
        """
        out_c = self.kernel.shape[0]
        length = math.prod(self.output.shape[1:])
        weights = self.kernel.reshape(out_c, -1)  # (O, K)
        cols_t = self.columns.T  # (L, K)
        stacked = torch.stack(
            (cols_t.expand(out_c, -1, -1), weights[:, None, :].expand(-1, length, -1)), dim=-1
        )  # (O, L, K, 2)
        pairs = compact(stacked)  # whole numbers are written as 3, not 3.0
        partials = self.partial_sums().tolist()
        values = self.output.reshape(out_c, length).tolist()
        positions = self.positions.tolist()
        windows = self.windows.tolist()
        bias = self.bias.tolist()
        steps = [
            {
                "position": [o, *positions[l]],
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
            "dims": self.dims,
            "output": self.output.tolist(),
            "output_shape": list(self.output.shape),
            "padded_input": self.padded_input.tolist(),
            "kernel": self.kernel.tolist(),
            "bias": bias,
            "stride": list(self.stride),
            "padding": list(self.padding),
            "pads": [list(p) for p in self.pads],
            "padding_mode": self.padding_mode,
            "dilation": list(self.dilation),
            "flip": self.flip,
            "footprint": list(self.footprint),
            "formula": {f.axis: f.to_dict() for f in self.formulas},
            "parameters": self.parameters(),
            "steps": steps,
        }


def as_signal(x: torch.Tensor, dims: int, limits: KernelLimits) -> torch.Tensor:
    """The input as C×S (``dims`` axes S), refused when it exceeds the limits."""
    if dims == 2:
        return as_stack(x, "input", max_channels=limits.max_channels, max_size=limits.max_size)
    if x.dim() == dims:
        x = x[None]
    if x.dim() != dims + 1:
        raise ValueError(f"input must be {LAYOUTS[dims][0]}")
    c, *size = x.shape
    if c > limits.max_channels:
        raise ValueError(f"input has {c} channels; the limit is {limits.max_channels}")
    if max(size) > limits.max_size:
        if dims == 1:
            raise ValueError(f"input is {size[0]} long; the limit is {limits.max_size}")
        raise ValueError(
            f"input is {shape_text(size)}; the limit is "
            f"{shape_text([limits.max_size] * dims)} per channel"
        )
    return x


def _as_kernel(
    weight: torch.Tensor, in_channels: int, dims: int, limits: KernelLimits
) -> torch.Tensor:
    if dims <= weight.dim() < dims + 2:
        weight = weight[(None,) * (dims + 2 - weight.dim())]
    if weight.dim() != dims + 2:
        raise ValueError(f"kernel must be {LAYOUTS[dims][1]}")
    layout = f"give one {LAYOUTS[dims][2]} slice per input channel"
    check_kernel(weight, in_channels, limits, in_axis=1, layout=layout)
    return weight


def conv_trace(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    dims: int = 2,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    padding_mode: Any = "zeros",
    flip: bool = False,
    limits: KernelLimits | None = None,
) -> ConvTrace:
    """Convolve ``x`` (S or C×S, S having ``dims`` axes) with ``weight`` (k, C×k or O×C×k)
    and record every step.

    ``flip=True`` computes true convolution (kernel rotated 180°), otherwise
    cross-correlation, which is what ``F.conv2d`` and every deep-learning library compute.
    """
    limits = limits or LIMITS_BY_DIMS[dims]
    x = as_signal(x, dims, limits)
    weight = _as_kernel(weight, x.shape[0], dims, limits)
    out_c, in_c, *k = weight.shape
    s = as_axes(stride, "stride", dims, minimum=1, maximum=limits.max_stride)
    d = as_axes(dilation, "dilation", dims, minimum=1, maximum=limits.max_dilation)
    pads = padding_amounts(padding, tuple(k), s, d, maximum=limits.max_padding)
    mode = check_mode(padding_mode)
    bias = bias_vector(bias, out_c, x)

    size = x.shape[1:]
    padded_size = [n + before + after for n, (before, after) in zip(size, pads, strict=True)]
    reach = [dd * (kk - 1) + 1 for kk, dd in zip(k, d, strict=True)]
    if any(r > n for r, n in zip(reach, padded_size, strict=True)):
        name = f"size-{k[0]} kernel" if dims == 1 else f"{shape_text(k)} kernel"
        dilated = f", dilated to {shape_text(reach)}," if reach != k else ""
        raise ValueError(
            f"the {name}{dilated} is larger than the padded input "
            f"({shape_text(padded_size)}): use a smaller kernel or dilation, or more padding"
        )
    formulas = tuple(
        padded_size_formula(axis, n, kk, ss, pp, dd)
        for axis, n, kk, ss, pp, dd in zip(AXES[dims], size, k, s, pads, d, strict=True)
    )
    out = [f.value for f in formulas]
    check_terms(
        out_c * math.prod(out) * in_c * math.prod(k), limits.max_terms, counted=MULTIPLICATIONS,
        advice="use a smaller input or kernel, fewer channels or a larger stride",
    )  # fmt: skip

    spatial = tuple(range(2, dims + 2))
    kernel = torch.flip(weight, dims=spatial) if flip else weight
    padded = pad(x, pads, mode)  # (C, *Sp)
    columns = _columns(padded, tuple(k), s, d)  # (C·∏k, L)
    output = kernel.reshape(out_c, -1) @ columns + bias[:, None]  # (O, L)
    return ConvTrace(
        input=x,
        padded_input=padded,
        kernel=kernel,
        bias=bias,
        columns=columns,
        output=output.reshape(out_c, *out),
        stride=s,
        pads=pads,
        dilation=d,
        flip=flip,
        formulas=formulas,
        padding_mode=mode,
    )


def _columns(padded: torch.Tensor, k: Axes, s: Axes, d: Axes) -> torch.Tensor:
    """(C·∏k, L) im2col of ``padded`` (C, *Sp): ``F.unfold`` in 2-D, strided windows else."""
    if len(k) == 2:
        return F.unfold(padded[None], k, dilation=d, stride=s)[0]
    dims = len(k)
    windows = padded
    for axis in range(dims):  # each axis adds its window as a trailing one
        windows = windows.unfold(1 + axis, d[axis] * (k[axis] - 1) + 1, s[axis])
    index: tuple[Any, ...] = (..., *(slice(None, None, step) for step in d))
    taps = windows[index]  # (C, *L, *k)
    c = padded.shape[0]
    order = (0, *range(dims + 1, 2 * dims + 1), *range(1, dims + 1))  # (C, *k, *L)
    return taps.permute(order).reshape(c * math.prod(k), -1)


def conv2d_trace(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    padding_mode: Any = "zeros",
    flip: bool = False,
    limits: KernelLimits = LIMITS,
) -> ConvTrace:
    """A 2-D convolution of ``x`` (H×W or C×H×W) with ``weight`` (kh×kw, C×kh×kw or
    O×C×kh×kw): :func:`conv_trace` with ``dims=2``."""
    return conv_trace(
        x, weight, bias, dims=2, stride=stride, padding=padding, dilation=dilation,
        padding_mode=padding_mode, flip=flip, limits=limits,
    )  # fmt: skip
