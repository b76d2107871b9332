"""Images as numbers, request → result: what a page that works on images needs (samples,
accepted types, limits, the luma formula), an image's info, its pixels re-encoded as PNG
(resized, one channel, gray) and the numbers of a window of it."""

from __future__ import annotations

from typing import Any

import torch

from app.images import convert, intake
from app.images.samples import DEFAULT_SAMPLE, sample_list
from app.images.store import ImageStore, StoredImage
from app.settings import Settings

#: Largest window of numbers one ``/pixels`` request returns.
MAX_WINDOW = 64


def limits_text(settings: Settings) -> str:
    """What the image picker says it accepts."""
    return (
        f"Accepted: {intake.ACCEPTED} (the first frame of an animation). Limits: "
        f"{intake.human_size(settings.max_upload_bytes)} per upload and "
        f"{intake.megapixels(settings.max_image_pixels)} per image."
    )


def view_size(image: StoredImage, size: int | None) -> tuple[int, int]:
    """(height, width) of the image resized to fit ``size`` (never enlarged)."""
    return convert.fit_within(image.height, image.width, max_side=size)


def config(settings: Settings) -> dict[str, Any]:
    """What a page that works on images needs: samples, accepted types, limits, the luma."""
    return {
        "samples": sample_list(),
        "default": DEFAULT_SAMPLE,
        "accept_types": ",".join(intake.MEDIA_TYPES),
        "limits": {
            "max_upload_bytes": settings.max_upload_bytes,
            "max_image_pixels": settings.max_image_pixels,
            "text": limits_text(settings),
        },
        "luma": {
            "weights": [w / 1000 for w in convert.LUMA_PER_MILLE],
            "formula": convert.LUMA_FORMULA,
        },
        "max_window": MAX_WINDOW,
        "display_max_side": settings.display_max_side,
    }


def info(images: ImageStore, image_id: str, size: int | None) -> dict[str, Any]:
    """What is known about an image, and its ``view`` size once resized to ``size``."""
    stored = images.get(image_id)
    height, width = view_size(stored, size)
    return {**stored.info(), "view": {"width": width, "height": height}}


def png_bytes(images: ImageStore, image_id: str, size: int | None, channel: str) -> bytes:
    """The image (resized to ``size``, one ``channel`` or all) re-encoded as PNG."""
    stored = images.get(image_id)
    pixels = images.resized(stored, *view_size(stored, size))
    return convert.encode_png(convert.channel_view(pixels, channel))


def pixel_window(
    images: ImageStore, image_id: str, size: int | None, top: int, left: int, rows: int, cols: int
) -> dict[str, Any]:
    """The numbers of a window of the (resized) image, and its gray levels."""
    stored = images.get(image_id)
    height, width = view_size(stored, size)
    if top >= height or left >= width:
        raise ValueError(
            f"the window starts at row {top}, column {left}, outside the {height}×{width} image"
        )
    pixels = images.resized(stored, height, width)
    bottom, right = min(top + rows, height), min(left + cols, width)
    window = pixels[:, top:bottom, left:right]  # (C, rows, cols)
    data: dict[str, Any] = {
        "id": stored.id,
        "width": width,
        "height": height,
        "channels": stored.channels,
        "names": list(convert.CHANNEL_NAMES[stored.channels]),
        "top": top,
        "left": left,
        "rows": bottom - top,
        "cols": right - left,
        "values": window.permute(1, 2, 0).contiguous().numpy(),  # (rows, cols, C)
    }
    if stored.channels == 3:
        luma = convert.luma_per_mille(window)[0]  # (rows, cols), gray × 1000, exact
        data["gray"] = convert.to_gray(window)[0].numpy()
        data["luma"] = (luma.to(torch.float64) / 1000).numpy()
    return data
