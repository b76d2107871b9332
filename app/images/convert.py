"""Pixels (``uint8`` tensors ``(C, H, W)``, C = 1 or 3) to what pages show: PIL images, PNG
(the re-encoding that is served back, never the uploaded bytes), area-averaged resizes, the
ITU-R BT.601 gray, one channel in its own colour."""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

#: Luma weights of ITU-R BT.601 (what JPEG and Pillow's ``convert("L")`` use), per mille.
LUMA_PER_MILLE = (299, 587, 114)
LUMA_FORMULA = "gray = 0.299·R + 0.587·G + 0.114·B"
CHANNEL_NAMES = {1: ("gray",), 3: ("R", "G", "B")}


def to_pil(pixels: torch.Tensor) -> Image.Image:
    """``uint8`` ``(C, H, W)`` (C = 1 or 3) as a PIL image in mode ``L`` or ``RGB``."""
    array = pixels.detach().to("cpu", torch.uint8).numpy()
    if array.shape[0] == 1:
        return Image.fromarray(array[0], mode="L")
    return Image.fromarray(np.ascontiguousarray(array.transpose(1, 2, 0)), mode="RGB")


def encode_png(pixels: torch.Tensor) -> bytes:
    """PNG bytes of ``uint8`` ``(C, H, W)``: fast zlib level 1 (size matters less than time)."""
    buffer = io.BytesIO()
    to_pil(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def png_data_url(pixels: torch.Tensor) -> str:
    """A ``data:image/png;base64,...`` URL (what Plotly's image trace draws)."""
    return "data:image/png;base64," + base64.b64encode(encode_png(pixels)).decode("ascii")


def fit_within(
    height: int, width: int, *, max_side: int | None = None, max_pixels: int | None = None
) -> tuple[int, int]:
    """The largest (h, w) with the same aspect ratio within the bounds; never larger."""
    scale = 1.0
    if max_side is not None:
        scale = min(scale, max_side / max(height, width))
    if max_pixels is not None:
        scale = min(scale, (max_pixels / (height * width)) ** 0.5)
    if scale >= 1.0:
        return height, width
    h, w = _scaled(height, scale), _scaled(width, scale)
    while max_pixels is not None and h * w > max_pixels and h * w > 1:  # rounded up too far
        scale *= 0.995
        h, w = _scaled(height, scale), _scaled(width, scale)
    return h, w


def _scaled(size: int, scale: float) -> int:
    return min(size, max(1, round(size * scale)))


def resize(pixels: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``uint8`` ``(C, H, W)`` resized by area averaging (each new pixel is the mean of
    the pixels it covers; ``F.interpolate(mode="area")``), rounded back to ``uint8``."""
    if tuple(pixels.shape[1:]) == (height, width):
        return pixels
    resized = F.interpolate(pixels[None].float(), size=(height, width), mode="area")[0]
    return resized.round_().clamp_(0, 255).to(torch.uint8)


def luma_per_mille(pixels: torch.Tensor) -> torch.Tensor:
    """``int32`` ``(1, H, W)``: 299·R + 587·G + 114·B, exact (gray × 1000)."""
    weights = torch.tensor(LUMA_PER_MILLE, dtype=torch.int32, device=pixels.device)
    return (pixels.to(torch.int32) * weights[:, None, None]).sum(0, keepdim=True)


def to_gray(pixels: torch.Tensor) -> torch.Tensor:
    """``uint8`` ``(1, H, W)``: BT.601 luma rounded half up; gray input is returned as is."""
    if pixels.shape[0] == 1:
        return pixels
    return ((luma_per_mille(pixels) + 500) // 1000).to(torch.uint8)


def channel_view(pixels: torch.Tensor, channel: str) -> torch.Tensor:
    """What a page shows for one channel: ``rgb`` as is, ``gray`` as luma, ``r``/``g``/``b``
    as that channel's intensity in its own colour (the other two set to 0)."""
    if channel == "rgb":
        return pixels
    if channel == "gray":
        return to_gray(pixels)
    index = "rgb".index(channel)
    if pixels.shape[0] != 3:
        raise ValueError(f"this image has one channel (gray), so it has no {channel} channel")
    tinted = torch.zeros_like(pixels)
    tinted[index] = pixels[index]
    return tinted
