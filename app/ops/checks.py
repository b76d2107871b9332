"""The checks every step-by-step engine makes before it computes anything: the limits of a
trace, a kernel's shape against the input, one bias per output channel, and the size of
the whole trace. Errors name the value and the limit ("kernel is 13×13; the limit is
11×11"), so a page can show them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class KernelLimits:
    """The largest trace of an operation with a kernel (a convolution, a transposed one)."""

    max_channels: int  # input channels
    max_out_channels: int
    max_size: int  # input height and width, per channel
    max_kernel: int  # kernel height and width
    max_padding: int
    max_stride: int
    max_dilation: int
    max_terms: int = 300_000  # multiplications in the whole trace


def check_kernel(
    weight: torch.Tensor, in_channels: int, limits: KernelLimits, *, in_axis: int, layout: str
) -> None:
    """A ``weight`` (3-D to 5-D) whose axis ``in_axis`` (0 or 1) holds the input channels and
    the other the output channels, then one axis per spatial axis; ``layout`` says how it is
    laid out, for the sentence."""
    c, out_c = weight.shape[in_axis], weight.shape[1 - in_axis]
    size = [int(n) for n in weight.shape[2:]]
    if c != in_channels:
        where = " (its first axis)" if in_axis == 0 else ""
        raise ValueError(
            f"kernel has {c} input channel{'s' * (c != 1)}{where} but the input has "
            f"{in_channels}: {layout}"
        )
    if out_c > limits.max_out_channels:
        raise ValueError(
            f"kernel has {out_c} output channels; the limit is {limits.max_out_channels}"
        )
    if max(size) > limits.max_kernel:
        shown, limit = "×".join(map(str, size)), "×".join([str(limits.max_kernel)] * len(size))
        raise ValueError(f"kernel is {shown}; the limit is {limit}")


def bias_vector(bias: torch.Tensor | None, out_channels: int, like: torch.Tensor) -> torch.Tensor:
    """(O,) the bias, zeros when there is none; ``ValueError`` for the wrong length."""
    if bias is None:
        return torch.zeros(out_channels, dtype=like.dtype)
    if bias.shape != (out_channels,):
        raise ValueError(f"bias must have one value per output channel ({out_channels})")
    return bias


MULTIPLICATIONS = "have {:,} multiplications"
VALUES_READ = "read {:,} values"


def check_terms(terms: int, limit: int, *, counted: str, advice: str) -> None:
    """Refuse a trace that would hold more than ``limit`` numbers, before computing it;
    ``counted`` says what is counted (:data:`MULTIPLICATIONS` or :data:`VALUES_READ`)."""
    if terms > limit:
        raise ValueError(
            f"this trace would {counted.format(terms)}; the limit is {limit:,}: {advice}"
        )
