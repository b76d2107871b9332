"""``/api/images``: upload an image once, then refer to it by id; its pixels as PNG or numbers.

Uploads are decoded by :mod:`app.images.intake` (the only decoder) and kept in memory by
:mod:`app.imagestore`; the samples are available under ids such as ``sample-chelsea``.
Nothing uploaded is ever served back as it came: PNGs here are re-encoded from the pixels.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.images import convert, intake
from app.images.samples import DEFAULT_SAMPLE, sample_list
from app.images.store import ImageStore, StoredImage
from app.settings import Settings
from app.web.deps import Images, Pool, SettingsDep
from app.web.errors import unprocessable
from app.web.middleware import human_size
from app.web.responses import JSONBytes, dumps
from app.web.uploads import read_upload

router = APIRouter(prefix="/api/images", tags=["images"])

#: Largest window of numbers one ``/pixels`` request returns.
MAX_WINDOW = 64
#: How long browsers may keep a re-encoded PNG (ids name content, samples rarely change).
PNG_CACHE = "private, max-age=3600"

Size = Annotated[
    int | None,
    Query(
        ge=1,
        le=16384,
        description="Longest side, in pixels, of the image resized by area averaging "
        "(never enlarged); leave out for the original size.",
    ),
]

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {"image": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def limits_text(settings: Settings) -> str:
    return (
        f"Accepted: {intake.ACCEPTED} (the first frame of an animation). Limits: "
        f"{human_size(settings.max_upload_bytes)} per upload and "
        f"{intake.megapixels(settings.max_image_pixels)} per image."
    )


def images_config(settings: Settings) -> dict[str, Any]:
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


def view_size(image: StoredImage, size: int | None) -> tuple[int, int]:
    """(height, width) of the image resized to fit ``size`` (never enlarged)."""
    return convert.fit_within(image.height, image.width, max_side=size)


@router.post(
    "",
    summary="Upload an image",
    description="Send one image as multipart/form-data in the field `image`. It is decoded "
    "(EXIF orientation applied; palette and alpha images composited on white, CMYK converted, "
    "16-bit rescaled, gray kept as one channel), kept in memory under an id (a hash of its "
    "bytes), and never written to disk. Later requests name the `id`; an unknown or evicted "
    "id is a 404, and the client uploads again. 413: too large (bytes or pixels); 415: not an "
    "accepted format; 422: truncated or damaged; 400: malformed multipart body.",
    openapi_extra=UPLOAD_BODY,
    responses={
        400: {"description": "Malformed multipart body, or too many parts"},
        413: {"description": "Too many bytes or pixels"},
        415: {"description": "Not a PNG, JPEG, WebP, GIF or BMP image"},
        422: {"description": "Truncated or damaged image, or no file in `image`"},
    },
)
async def upload(request: Request, pool: Pool, images: Images, settings: SettingsDep) -> Response:
    """Decode an uploaded image and keep it in memory; answer its id and size."""
    sent = await read_upload(
        request,
        field_name="image",
        max_bytes=settings.max_upload_bytes,
        max_parts=settings.max_upload_parts,
    )
    assert sent is not None  # required=True
    try:
        stored = await pool.run(images.add, sent.data)
    except ValueError as error:
        raise unprocessable(error) from error
    return JSONBytes(stored.info())


@router.get("/samples", summary="The sample images that ship with the app")
def samples() -> Response:
    """Ids, titles and credits of the shipped samples (usable wherever an upload id is)."""
    return JSONBytes(sample_list())


@router.get("/{image_id}", summary="What is known about an image")
async def image_info(image_id: str, images: Images, pool: Pool, size: Size = None) -> Response:
    """Size, channels, source format and mode of an uploaded or sample image; with `size`,
    also the `view` size it has once resized to that longest side."""
    stored = await pool.run(images.get, image_id)
    height, width = view_size(stored, size)
    return JSONBytes({**stored.info(), "view": {"width": width, "height": height}})


def png_bytes(images: ImageStore, image_id: str, size: int | None, channel: str) -> bytes:
    stored = images.get(image_id)
    pixels = images.resized(stored, *view_size(stored, size))
    return convert.encode_png(convert.channel_view(pixels, channel))


@router.get(
    "/{image_id}/png",
    summary="The image, re-encoded as PNG",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def image_png(
    image_id: str,
    images: Images,
    pool: Pool,
    size: Size = None,
    channel: Annotated[
        Literal["rgb", "r", "g", "b", "gray"],
        Query(description="`r`, `g`, `b`: that channel in its colour; `gray`: BT.601 luma"),
    ] = "rgb",
) -> Response:
    """The decoded pixels as a fresh PNG, optionally resized or as one channel."""
    try:
        content = await pool.run(png_bytes, images, image_id, size, channel)
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(content, media_type="image/png", headers={"cache-control": PNG_CACHE})


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


@router.get("/{image_id}/pixels", summary="The numbers in a window of the image")
async def image_pixels(
    image_id: str,
    images: Images,
    pool: Pool,
    size: Size = None,
    top: Annotated[int, Query(ge=0, description="First row of the window")] = 0,
    left: Annotated[int, Query(ge=0, description="First column of the window")] = 0,
    rows: Annotated[int, Query(ge=1, le=MAX_WINDOW)] = 16,
    cols: Annotated[int, Query(ge=1, le=MAX_WINDOW)] = 16,
) -> Response:
    """Pixel values (rows × cols × C, C = 3 for RGB or 1 for gray) of a window of the image
    resized to `size`, with the gray level and exact luma of each RGB pixel."""
    try:
        data = await pool.run(pixel_window, images, image_id, size, top, left, rows, cols)
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(dumps(data), media_type="application/json")
