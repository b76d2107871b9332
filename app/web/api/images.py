"""``/api/images``: upload an image once, then refer to it by id; its pixels as PNG or numbers.

Uploads are decoded by :mod:`app.images.intake` (the only decoder) and kept in memory by
:mod:`app.imagestore`; the samples are available under ids such as ``sample-chelsea``.
Nothing uploaded is ever served back as it came: PNGs here are re-encoded from the pixels.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.images.samples import sample_list
from app.services import images as service
from app.web.deps import Images, Pool, SettingsDep
from app.web.responses import JSONBytes
from app.web.uploads import image_body, read_upload

router = APIRouter(prefix="/api/images", tags=["images"])

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

UPLOAD_BODY = image_body(required=True)  # the file only, in the field `image`


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
    stored = await pool.run(images.add, sent.data)
    return JSONBytes(stored.info())


@router.get("/samples", summary="The sample images that ship with the app")
def samples() -> Response:
    """Ids, titles and credits of the shipped samples (usable wherever an upload id is)."""
    return JSONBytes(sample_list())


@router.get("/{image_id}", summary="What is known about an image")
async def image_info(image_id: str, images: Images, pool: Pool, size: Size = None) -> Response:
    """Size, channels, source format and mode of an uploaded or sample image; with `size`,
    also the `view` size it has once resized to that longest side."""
    return JSONBytes(await pool.run(service.info, images, image_id, size))


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
    content = await pool.run(service.png_bytes, images, image_id, size, channel)
    return Response(content, media_type="image/png", headers={"cache-control": PNG_CACHE})


@router.get("/{image_id}/pixels", summary="The numbers in a window of the image")
async def image_pixels(
    image_id: str,
    images: Images,
    pool: Pool,
    size: Size = None,
    top: Annotated[int, Query(ge=0, description="First row of the window")] = 0,
    left: Annotated[int, Query(ge=0, description="First column of the window")] = 0,
    rows: Annotated[int, Query(ge=1, le=service.MAX_WINDOW)] = 16,
    cols: Annotated[int, Query(ge=1, le=service.MAX_WINDOW)] = 16,
) -> Response:
    """Pixel values (rows × cols × C, C = 3 for RGB or 1 for gray) of a window of the image
    resized to `size`, with the gray level and exact luma of each RGB pixel."""
    data = await pool.run(service.pixel_window, images, image_id, size, top, left, rows, cols)
    return JSONBytes(data)
