"""Step-by-step transposed convolution, in its two equivalent views.

Stamping: every input cell ``x[c, i, j]`` stamps the kernel, scaled by its value, into a
canvas at rows ``i·s + a·d`` and columns ``j·s + b·d`` (all output channels at once); the
canvas is cropped by ``p`` on every side (after ``output_padding`` extra rows and columns
at the bottom and right) and the bias is added. ``F.fold`` (col2im) does exactly this, so
the output is computed by it.

Zero insertion: put ``s − 1`` zeros between neighbouring input cells, pad with
``d·(k − 1) − p`` zeros (plus ``output_padding`` at the bottom and right; a negative amount
crops instead), and run an ordinary convolution, stride 1, dilation ``d``, with the kernel
rotated 180° and its two channel axes swapped. Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning" (2016), §4, derives this; tests/ops/test_transposed.py checks
both views against ``F.conv_transpose2d`` for every accepted setting.

The kernel is laid out as torch lays out a ``ConvTranspose2d`` weight: C_in×C_out×kh×kw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arithmetic import Pair, SizeFormula, as_pair, transposed_size_formula
from app.ops.arrays import as_stack, compact
from app.ops.checks import MULTIPLICATIONS, KernelLimits, bias_vector, check_kernel, check_terms

#: The largest transposed-convolution trace the app computes (terms: input elements ×
#: output channels × kh × kw).
LIMITS = KernelLimits(
    max_channels=8, max_out_channels=8, max_size=16, max_kernel=7, max_padding=16,
    max_stride=4, max_dilation=4,
)  # fmt: skip


@dataclass(frozen=True)
class TransposedTrace:
    """A computed transposed convolution: the stamps, the output and the equivalent view."""

    input: torch.Tensor  # (C, H, W)
    kernel: torch.Tensor  # (C, O, kh, kw), torch's ConvTranspose2d layout
    bias: torch.Tensor  # (O,)
    output: torch.Tensor  # (O, H', W')
    stride: Pair
    padding: Pair
    output_padding: Pair
    dilation: Pair
    formulas: tuple[SizeFormula, SizeFormula]

    @property
    def footprint(self) -> Pair:
        """Rows and columns one stamp covers: d·(k − 1) + 1."""
        kh, kw = self.kernel.shape[2:]
        return (self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1)

    def zero_inserted(self) -> torch.Tensor:
        """(C, (H − 1)·s + 1, (W − 1)·s + 1): the input with s − 1 zeros between cells."""
        c, h, w = self.input.shape
        s = self.stride
        out = torch.zeros(c, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1, dtype=self.input.dtype)
        out[:, :: s[0], :: s[1]] = self.input
        return out

    def equivalent_padding(self) -> tuple[int, int, int, int]:
        """[top, bottom, left, right] zeros around the zero-inserted input (negative: crop)."""
        (kh, kw), d, p, op = self.kernel.shape[2:], self.dilation, self.padding, self.output_padding
        top, left = d[0] * (kh - 1) - p[0], d[1] * (kw - 1) - p[1]
        return (top, top + op[0], left, left + op[1])

    def equivalent_kernel(self) -> torch.Tensor:
        """(O, C, kh, kw): the kernel of the equivalent convolution, rotated 180°."""
        return torch.flip(self.kernel.transpose(0, 1), dims=(-2, -1))

    def equivalent_input(self) -> torch.Tensor:
        """(C, Hq, Wq): the zero-inserted input, padded (or cropped) for the convolution."""
        top, bottom, left, right = self.equivalent_padding()
        return F.pad(self.zero_inserted(), (left, right, top, bottom))

    def stamps(self) -> dict[str, torch.Tensor]:
        """Every output cell each input cell adds to, in step order, with running totals.

        Steps go over the input cells in (c, i, j) row-major order; each step adds
        ``x[c, i, j]·kernel[c, o, a, b]`` to output cell ``(o, i·s + a·d − p, j·s + b·d − p)``
        for the taps that land inside the output. ``totals`` is the value of that cell just
        after the addition, starting from the bias: the last total of a cell is its output.
        """
        c, h, w = self.input.shape
        _, o, kh, kw = self.kernel.shape
        _, out_h, out_w = self.output.shape
        s, p, d = self.stride, self.padding, self.dilation
        steps, taps = c * h * w, o * kh * kw
        amounts = self.input.reshape(steps, 1) * self.kernel.reshape(c, 1, taps).expand(
            c, h * w, taps
        ).reshape(steps, taps)  # (N, T)
        i = torch.arange(h).repeat_interleave(w).repeat(c)  # (N,) input row of each step
        j = torch.arange(w).repeat(h * c)
        channel = torch.arange(o).repeat_interleave(kh * kw)  # (T,) output channel of each tap
        a = torch.arange(kh).repeat_interleave(kw).repeat(o)
        b = torch.arange(kw).repeat(kh * o)
        rows = (i * s[0] - p[0])[:, None] + (a * d[0])[None]  # (N, T)
        cols = (j * s[1] - p[1])[:, None] + (b * d[1])[None]
        inside = (rows >= 0) & (rows < out_h) & (cols >= 0) & (cols < out_w)
        step, tap = inside.nonzero(as_tuple=True)  # row-major: in step order
        cells = torch.stack((channel[tap], rows[step, tap], cols[step, tap]), dim=1)  # (M, 3)
        totals = self._running_totals().reshape(steps, taps)[step, tap]
        counts = torch.bincount(step, minlength=steps)
        return {"cells": cells, "added": amounts[step, tap], "totals": totals, "counts": counts}

    def _running_totals(self) -> torch.Tensor:
        """(C, H, W, O, kh, kw): each output cell's value just after each stamp adds to it.

        For a fixed output cell, the stamps that reach it come in step order when the taps
        are taken channel by channel, and within a channel from the last kernel row and
        column to the first (a larger tap row means an earlier input row). Taken in that
        order, one tap of every stamp at once, the stamps of a tap hit distinct cells: each
        cell receives its additions one at a time, in step order, as in the stepper.
        """
        c, h, w = self.input.shape
        _, o, kh, kw = self.kernel.shape
        _, out_h, out_w = self.output.shape
        s, p, d = self.stride, self.padding, self.dilation
        canvas = self.bias[:, None, None].expand(o, out_h, out_w).clone()  # (O, H', W')
        totals = torch.zeros(c, h, w, o, kh, kw, dtype=self.input.dtype)
        rows, cols = torch.arange(h) * s[0] - p[0], torch.arange(w) * s[1] - p[1]
        for ch in range(c):
            for a in reversed(range(kh)):
                r = rows + a * d[0]
                ii = ((r >= 0) & (r < out_h)).nonzero()[:, 0]  # input rows that land inside
                for b in reversed(range(kw)):
                    q = cols + b * d[1]
                    jj = ((q >= 0) & (q < out_w)).nonzero()[:, 0]
                    if not len(ii) or not len(jj):
                        continue
                    where = (slice(None), r[ii][:, None], q[jj][None, :])
                    added = self.input[ch][ii][:, jj] * self.kernel[ch, :, a, b][:, None, None]
                    canvas[where] = canvas[where] + added  # (O, |ii|, |jj|)
                    totals[ch, ii[:, None], jj[None, :], :, a, b] = canvas[where].permute(1, 2, 0)
        return totals

    def to_dict(self) -> dict[str, Any]:
        """The layout of ``POST /api/transposed-convolution`` (bulky arrays as numpy views)."""
        c, h, w = self.input.shape
        s, p = self.stride, self.padding
        stamps = self.stamps()
        bounds = [0, *torch.cumsum(stamps["counts"], 0).tolist()]
        cells = stamps["cells"].numpy()
        added, totals = compact(stamps["added"]), compact(stamps["totals"])
        values = self.input.reshape(-1).tolist()
        steps = []
        for n in range(c * h * w):
            i, j = n // w % h, n % w
            lo, hi = bounds[n], bounds[n + 1]
            steps.append(
                {
                    "source": [n // (h * w), i, j],
                    "value": values[n],
                    "origin": [i * s[0] - p[0], j * s[1] - p[1]],
                    "cells": cells[lo:hi],
                    "added": added[lo:hi],
                    "totals": totals[lo:hi],
                }
            )
        return {
            "output": self.output.tolist(),
            "output_shape": list(self.output.shape),
            "input": self.input.tolist(),
            "kernel": self.kernel.tolist(),
            "bias": self.bias.tolist(),
            "stride": list(s),
            "padding": list(p),
            "output_padding": list(self.output_padding),
            "dilation": list(self.dilation),
            "footprint": list(self.footprint),
            "formula": {f.axis: f.to_dict() for f in self.formulas},
            "steps": steps,
            "equivalent": {
                "zero_inserted": self.zero_inserted().tolist(),
                "padding": list(self.equivalent_padding()),
                "input": self.equivalent_input().tolist(),
                "kernel": self.equivalent_kernel().tolist(),
                "dilation": list(self.dilation),
            },
        }


def _as_kernel(weight: torch.Tensor, in_channels: int, limits: KernelLimits) -> torch.Tensor:
    if weight.dim() == 2:
        weight = weight[None, None]
    if weight.dim() != 4:
        raise ValueError("kernel must be kh×kw or C_in×C_out×kh×kw (torch's layout)")
    layout = "a transposed kernel is laid out C_in×C_out×kh×kw"
    check_kernel(weight, in_channels, limits, in_axis=0, layout=layout)
    return weight


def conv_transpose2d_trace(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    stride: int | Pair | list[int] = 1,
    padding: int | Pair | list[int] = 0,
    output_padding: int | Pair | list[int] = 0,
    dilation: int | Pair | list[int] = 1,
    limits: KernelLimits = LIMITS,
) -> TransposedTrace:
    """Transposed-convolve ``x`` (H×W or C×H×W) with ``weight`` (kh×kw or C×O×kh×kw)."""
    x = as_stack(x, "input", max_channels=limits.max_channels, max_size=limits.max_size)
    weight = _as_kernel(weight, x.shape[0], limits)
    _, out_c, kh, kw = weight.shape
    s = as_pair(stride, "stride", minimum=1, maximum=limits.max_stride)
    p = as_pair(padding, "padding", minimum=0, maximum=limits.max_padding)
    top = max(limits.max_stride, limits.max_dilation)
    op = as_pair(output_padding, "output_padding", minimum=0, maximum=top)
    d = as_pair(dilation, "dilation", minimum=1, maximum=limits.max_dilation)
    for extra, step, spread, axis in zip(op, s, d, ("rows", "columns"), strict=True):
        if extra >= max(step, spread):  # torch: smaller than either stride or dilation
            raise ValueError(
                f"output_padding must be smaller than the stride or the dilation ({extra} ≥ "
                f"{max(step, spread)} for the {axis}: stride {step}, dilation {spread}): it "
                "only picks one of the output sizes that map back to the same input size"
            )
    bias = bias_vector(bias, out_c, x)

    c, h, w = x.shape
    formulas = (
        transposed_size_formula("H", h, kh, s[0], p[0], op[0], d[0]),
        transposed_size_formula("W", w, kw, s[1], p[1], op[1], d[1]),
    )
    out_h, out_w = formulas[0].value, formulas[1].value
    for size, pad, axis in ((out_h, p[0], "rows"), (out_w, p[1], "columns")):
        if size < 1:
            covered = size + 2 * pad
            raise ValueError(
                f"padding {pad} crops 2·{pad} = {2 * pad} {axis} from a result {covered} "
                f"{axis} long, leaving none: use less padding"
            )
    check_terms(
        c * h * w * out_c * kh * kw, limits.max_terms, counted=MULTIPLICATIONS,
        advice="use a smaller input or kernel, or fewer channels",
    )  # fmt: skip

    stamped_h = (h - 1) * s[0] + d[0] * (kh - 1) + 1  # what the stamps cover
    stamped_w = (w - 1) * s[1] + d[1] * (kw - 1) + 1
    columns = weight.reshape(c, -1).T @ x.reshape(c, h * w)  # (O·kh·kw, H·W), summed over C
    stamped = F.fold(columns[None], (stamped_h, stamped_w), (kh, kw), dilation=d, stride=s)[
        0
    ]  # (O, stamped_h, stamped_w): every stamp added in place
    canvas = F.pad(stamped, (0, op[1], 0, op[0]))  # output_padding: zeros below and right
    output = canvas[:, p[0] : p[0] + out_h, p[1] : p[1] + out_w] + bias[:, None, None]
    return TransposedTrace(
        input=x,
        kernel=weight,
        bias=bias,
        output=output,
        stride=s,
        padding=p,
        output_padding=op,
        dilation=d,
        formulas=formulas,
    )
