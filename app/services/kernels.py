"""Kernels on photos, request → result: a kernel applied to an image (a sample or an upload)
and the weighted sum behind any output pixel.

Kernels are applied at full size up to ``settings.kernel_max_pixels`` (larger images are
area-downscaled to that first); the picture sent back is downscaled only for display, and
both sizes are reported. The raw output is kept in a small cache so that hovering a pixel
reads the very numbers the picture was drawn from (and recomputes them when they were
evicted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.images import convert
from app.images.store import ImageStore, StoredImage
from app.ops import filtering
from app.ops.kernels import KERNELS
from app.runtime.cache import LRUCache
from app.services.serialize import dumps
from app.settings import Settings


@dataclass(frozen=True)
class Context:
    """What applying a kernel needs from the app: images, the output cache, limits, device."""

    images: ImageStore
    outputs: LRUCache[tuple[Any, ...], torch.Tensor]
    settings: Settings
    device: torch.device


@dataclass(frozen=True)
class KernelRequest:
    """An image, a kernel, and how to apply and show it."""

    image: str
    kernel: Any  # kh×kw weights, or a preset's name
    normalize: bool = False
    stride: Any = 1
    padding: Any = 1
    channels: str = "rgb"  # or "gray"
    display: str = "clip"  # "abs", "minmax"
    max_side: int | None = None


class Applied:
    """A kernel applied to an image: the input it saw and the raw output, cached."""

    def __init__(self, context: Context, request: KernelRequest) -> None:
        settings, images, device = context.settings, context.images, context.device
        self.settings = filtering.kernel_settings(
            request.kernel,
            normalize=request.normalize,
            stride=request.stride,
            padding=request.padding,
            gray=request.channels == "gray",
            display=request.display,
        )
        self.image: StoredImage = images.get(request.image)
        h, w = convert.fit_within(
            self.image.height, self.image.width, max_pixels=settings.kernel_max_pixels
        )
        self.x = filtering.prepare(images.resized(self.image, h, w), self.settings)  # (C, h, w)
        filtering.output_size(h, w, self.settings)  # refuses a kernel that does not fit
        key = (self.image.id, h, w, str(device), *self.settings.key())

        def compute() -> tuple[torch.Tensor, int]:
            output = filtering.convolve(self.x, self.settings, device)
            return output, output.numel() * output.element_size()

        self.output = context.outputs.get_or_make(key, compute)  # (C, H', W') float32 on device
        self.range = filtering.value_range(self.output)

    @property
    def names(self) -> list[str]:
        return list(convert.CHANNEL_NAMES[self.x.shape[0]])


def apply(context: Context, request: KernelRequest) -> bytes:
    """``POST /api/kernels``: apply, map for display, downscale for display, encode."""
    settings, device = context.settings, context.device
    applied = Applied(context, request)
    ks, output = applied.settings, applied.output
    channels, out_h, out_w = output.shape
    lo, hi = applied.range
    shown = filtering.to_display(output, ks.display, lo, hi).cpu()  # (C, H', W') uint8
    max_side = min(request.max_side or settings.display_max_side, settings.display_max_side)
    disp_h, disp_w = convert.fit_within(out_h, out_w, max_side=max_side)
    _, in_h, in_w = applied.x.shape
    return dumps(
        {
            "image": applied.image.info(),
            "input": {
                "width": in_w,
                "height": in_h,
                "channels": applied.x.shape[0],
                "names": applied.names,
                "downscaled": (in_h, in_w) != (applied.image.height, applied.image.width),
                "limit_pixels": settings.kernel_max_pixels,
            },
            "kernel": ks.kernel.tolist(),
            "kernel_sum": float(ks.kernel.sum()),
            "raw_sum": ks.raw_sum,
            "normalized": ks.normalized,
            "stride": list(ks.stride),
            "padding": list(ks.padding),
            "output": {
                "width": out_w,
                "height": out_h,
                "channels": channels,
                "display_width": disp_w,
                "display_height": disp_h,
                "png": convert.png_data_url(convert.resize(shown, disp_h, disp_w)),
                "min": lo,
                "max": hi,
            },
            "display": {"mode": ks.display, "text": filtering.DISPLAYS[ks.display]},
            "formula": {
                axis: f.to_dict() for axis, f in filtering.formulas(in_h, in_w, ks).items()
            },
            "histogram": filtering.histogram(output, span=applied.range),
            "device": str(device),
        }
    )


def pixel(context: Context, request: KernelRequest, row: int, col: int) -> bytes:
    """``POST /api/kernels/pixel``: what produced output pixel (row, col) of ``request``."""
    applied = Applied(context, request)
    detail = filtering.pixel_detail(
        applied.x, applied.output, applied.settings, row, col, applied.range
    )
    return dumps({**detail, "names": applied.names, "display": applied.settings.display})


def config(settings: Settings) -> dict[str, Any]:
    """Presets and limits for the kernels page (and ``GET /api/kernels/presets``)."""
    return {
        "kernels": [kernel.to_dict() for kernel in KERNELS.values()],
        "displays": filtering.DISPLAYS,
        "limits": {
            "max_kernel": filtering.MAX_KERNEL,
            "max_stride": filtering.MAX_STRIDE,
            "max_padding": filtering.MAX_PADDING,
            "kernel_max_pixels": settings.kernel_max_pixels,
            "display_max_side": settings.display_max_side,
        },
    }
