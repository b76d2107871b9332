"""Kernels on photos: one 2D kernel slid over every channel of an image, or over its gray
version, with ``torch.nn.functional.conv2d``; how the raw output is turned into a picture;
a histogram of the raw values; and the weighted sum behind any one output pixel.

Per channel means the same kh×kw kernel on R, G and B separately (a depthwise convolution,
``groups=C``), so the output stays in colour. Computation is in float32 on the configured
device; pixels are whole numbers 0–255, so only the kernel's fractions round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.images import convert
from app.ops.arithmetic import Pair, as_pair, conv_output_size, conv_size_formula
from app.ops.arrays import check_result, to_tensor
from app.ops.kernels import get_kernel

MAX_KERNEL = 9
MAX_STRIDE = 16
MAX_PADDING = 16
HISTOGRAM_BINS = 64

#: How raw output values (any real number) become 0–255 display levels.
DISPLAYS = {
    "clip": "values below 0 are shown black, above 255 white",
    "abs": "the absolute value, clipped to 255: negative responses show as bright as positive",
    "minmax": "rescaled so the smallest value is black and the largest white",
}


@dataclass(frozen=True)
class KernelSettings:
    """A validated kernel and how to apply it."""

    kernel: torch.Tensor  # (kh, kw) float64, already divided by its sum when normalised
    stride: Pair
    padding: Pair
    gray: bool  # on the gray image (one channel) instead of per channel
    display: str
    normalized: bool
    raw_sum: float  # the weights' sum as given, before normalising

    def key(self) -> tuple[Any, ...]:
        """What determines the raw output (for caching it), besides the input pixels."""
        return (
            tuple(self.kernel.shape),
            tuple(self.kernel.flatten().tolist()),
            self.stride,
            self.padding,
            self.gray,
        )


def kernel_settings(
    kernel: Any,
    *,
    normalize: bool = False,
    stride: Any = 1,
    padding: Any = 0,
    gray: bool = False,
    display: str = "clip",
) -> KernelSettings:
    """Validate a kernel (nested lists or a preset name) and its settings."""
    if isinstance(kernel, str):
        kernel = [list(row) for row in get_kernel(kernel).weights]
    weights = to_tensor(kernel, "kernel", dims=(2,))
    kh, kw = weights.shape
    if kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise ValueError(f"kernel is {kh}×{kw}; the limit is {MAX_KERNEL}×{MAX_KERNEL}")
    total = float(weights.sum())
    if normalize:
        if abs(total) < 1e-12:
            raise ValueError(
                "the kernel's weights add up to 0, so it cannot be normalised to sum 1: "
                "turn normalisation off for edge detectors such as this one"
            )
        weights = weights / total
    if display not in DISPLAYS:
        raise ValueError(f"display must be one of {', '.join(DISPLAYS)}, not {display!r}")
    return KernelSettings(
        kernel=weights,
        stride=as_pair(stride, "stride", minimum=1, maximum=MAX_STRIDE),
        padding=as_pair(padding, "padding", minimum=0, maximum=MAX_PADDING),
        gray=gray,
        display=display,
        normalized=normalize,
        raw_sum=total,
    )


def prepare(pixels: torch.Tensor, settings: KernelSettings) -> torch.Tensor:
    """The input the kernel sees: ``uint8`` (C, H, W), or (1, H, W) gray when asked."""
    return convert.to_gray(pixels) if settings.gray else pixels


def output_size(height: int, width: int, settings: KernelSettings) -> Pair:
    """(H', W') after the kernel; ``ValueError`` when the kernel does not fit."""
    kh, kw = settings.kernel.shape
    ph, pw = settings.padding
    if kh > height + 2 * ph or kw > width + 2 * pw:
        raise ValueError(
            f"the {kh}×{kw} kernel is larger than the padded image "
            f"({height + 2 * ph}×{width + 2 * pw}): add padding or use a smaller kernel"
        )
    sh, sw = settings.stride
    return (conv_output_size(height, kh, sh, ph, 1), conv_output_size(width, kw, sw, pw, 1))


def formulas(height: int, width: int, settings: KernelSettings) -> dict[str, Any]:
    """The output-size formula per axis, with the numbers substituted."""
    kh, kw = settings.kernel.shape
    return {
        "H": conv_size_formula("H", height, kh, settings.stride[0], settings.padding[0], 1),
        "W": conv_size_formula("W", width, kw, settings.stride[1], settings.padding[1], 1),
    }


def convolve(x: torch.Tensor, settings: KernelSettings, device: torch.device) -> torch.Tensor:
    """Raw output (C, H', W') float32 on ``device``: the kernel on each channel separately."""
    output_size(x.shape[1], x.shape[2], settings)
    channels = x.shape[0]
    kh, kw = settings.kernel.shape
    # (C, 1, kh, kw), contiguous: a broadcast (expanded) weight takes a path 4× slower on CPU
    weight = settings.kernel.to(device, torch.float32).expand(channels, 1, kh, kw).contiguous()
    image = x.to(device).float()[None]  # (1, C, H, W)
    output = F.conv2d(
        image, weight, stride=settings.stride, padding=settings.padding, groups=channels
    )[0]
    return check_result(output, "the filtered image")


def value_range(output: torch.Tensor) -> tuple[float, float]:
    """Smallest and largest raw value over every channel."""
    lo, hi = torch.aminmax(output)
    return float(lo), float(hi)


def to_display(output: torch.Tensor, display: str, lo: float, hi: float) -> torch.Tensor:
    """Raw values to ``uint8`` display levels (``lo``, ``hi``: the whole output's range)."""
    if display == "abs":
        levels = output.abs()
    elif display == "minmax":
        span = hi - lo
        levels = (output - lo) * (255.0 / span) if span > 0 else torch.zeros_like(output)
    else:
        levels = output
    return levels.round().clamp(0, 255).to(torch.uint8)


def histogram(
    output: torch.Tensor, bins: int = HISTOGRAM_BINS, span: tuple[float, float] | None = None
) -> dict[str, Any]:
    """Counts of raw values per channel over a range that always includes 0–255 (``span``:
    the output's smallest and largest value, when already known)."""
    lo, hi = span or value_range(output)
    start, stop = min(lo, 0.0), max(hi, 255.0)
    channels = output.shape[0]
    # bin index of every value (the last bin includes its right edge), offset per channel,
    # then one bincount: several times faster than a histc per channel
    scaled = (output.reshape(channels, -1) - start).mul_(bins / (stop - start))  # float32
    index = scaled.clamp_(0, bins - 1).long()  # (C, H'·W'); truncation is floor here
    index += torch.arange(channels, device=index.device)[:, None] * bins
    counts = torch.bincount(index.flatten(), minlength=channels * bins).reshape(channels, bins)
    edges = torch.linspace(start, stop, bins + 1, dtype=torch.float64).tolist()
    return {
        "edges": edges,
        "counts": counts.tolist(),
        "below": int((output < 0).sum()),
        "above": int((output > 255).sum()),
        "total": output.numel(),
    }


def pixel_detail(
    x: torch.Tensor,
    output: torch.Tensor,
    settings: KernelSettings,
    row: int,
    col: int,
    span: tuple[float, float],
) -> dict[str, Any]:
    """What produced output pixel (row, col): the neighbourhood it read in each channel
    (0 where the window hangs over the padding), the kernel, every product, and the value,
    which is ``output[:, row, col]``, the same number the picture was drawn from."""
    channels, out_h, out_w = output.shape
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ValueError(f"pixel (row {row}, column {col}) is outside the {out_h}×{out_w} output")
    kh, kw = settings.kernel.shape
    top = row * settings.stride[0] - settings.padding[0]
    left = col * settings.stride[1] - settings.padding[1]
    height, width = x.shape[1:]
    r0, r1 = max(top, 0), min(top + kh, height)
    c0, c1 = max(left, 0), min(left + kw, width)
    window = torch.zeros((channels, kh, kw), dtype=torch.float64)  # (C, kh, kw)
    inside = torch.zeros((kh, kw), dtype=torch.bool)
    if r0 < r1 and c0 < c1:
        window[:, r0 - top : r1 - top, c0 - left : c1 - left] = x[:, r0:r1, c0:c1].double()
        inside[r0 - top : r1 - top, c0 - left : c1 - left] = True
    products = window * settings.kernel  # (C, kh, kw)
    values = output[:, row, col].float()  # (C,)
    lo, hi = span
    shown = to_display(values, settings.display, lo, hi)
    return {
        "row": row,
        "col": col,
        "top": top,
        "left": left,
        "window": window.to(torch.int64).tolist(),
        "inside": inside.tolist(),
        "kernel": settings.kernel.tolist(),
        "products": products.tolist(),
        "sums": products.sum(dim=(1, 2)).tolist(),
        "values": values.cpu().double().tolist(),
        "shown": shown.cpu().tolist(),
    }
