"""``/api/kernels``: a kernel applied to a photo, and the weighted sum behind any output pixel.

The image is named by id (an upload or a sample). Kernels are applied at full size up to
``settings.kernel_max_pixels`` (larger images are area-downscaled to that first); the
picture sent back is downscaled only for display, and both sizes are reported. The raw
output is kept in a small cache so that hovering a pixel reads the very numbers the
picture was drawn from (and recomputes them when they were evicted).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import torch
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema
from starlette.responses import Response

from app.images import convert
from app.images.store import ImageStore, StoredImage
from app.ops import filtering
from app.ops.kernels import KERNELS
from app.runtime.cache import LRUCache
from app.settings import Settings
from app.web.deps import Images, Pool, SettingsDep
from app.web.errors import unprocessable
from app.web.responses import JSONBytes, dumps
from app.web.schemas import IntOrPair

router = APIRouter(prefix="/api/kernels", tags=["kernels"])


KernelValue = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "A preset name, e.g. `sharpen`"},
                {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
            ],
            "description": "kh×kw weights (1×1 up to 9×9), or the name of a preset kernel.",
        }
    ),
]


class KernelRequest(BaseModel):
    """An image, a kernel, and how to apply and show it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"image": "sample-chelsea", "kernel": "sharpen", "padding": 1}]
        },
    )

    image: str = Field(
        min_length=1, max_length=100, description="An id from POST /api/images or a sample id"
    )
    kernel: KernelValue
    normalize: StrictBool = Field(False, description="Divide the weights by their sum.")
    stride: IntOrPair = 1
    padding: IntOrPair = Field(1, description="Zeros added on every side.")
    channels: Literal["rgb", "gray"] = Field(
        "rgb", description="`rgb`: the kernel on each channel; `gray`: on the gray image."
    )
    display: Literal["clip", "abs", "minmax"] = "clip"
    max_side: int | None = Field(
        None, ge=16, le=8192, description="Longest side of the returned picture (display)."
    )


class PixelRequest(KernelRequest):
    """The same settings, and one output pixel."""

    row: int = Field(ge=0)
    col: int = Field(ge=0)


def get_outputs(request: Request) -> LRUCache[tuple[Any, ...], torch.Tensor]:
    return request.app.state.kernel_outputs


Outputs = Annotated[LRUCache[tuple[Any, ...], torch.Tensor], Depends(get_outputs)]


class Applied:
    """A kernel applied to an image: the input it saw and the raw output, cached."""

    def __init__(
        self,
        body: KernelRequest,
        images: ImageStore,
        outputs: LRUCache[tuple[Any, ...], torch.Tensor],
        settings: Settings,
        device: torch.device,
    ) -> None:
        self.settings = filtering.kernel_settings(
            body.kernel,
            normalize=body.normalize,
            stride=body.stride,
            padding=body.padding,
            gray=body.channels == "gray",
            display=body.display,
        )
        self.image: StoredImage = images.get(body.image)
        h, w = convert.fit_within(
            self.image.height, self.image.width, max_pixels=settings.kernel_max_pixels
        )
        self.x = filtering.prepare(images.resized(self.image, h, w), self.settings)  # (C, h, w)
        filtering.output_size(h, w, self.settings)  # refuses a kernel that does not fit
        key = (self.image.id, h, w, str(device), *self.settings.key())

        def compute() -> tuple[torch.Tensor, int]:
            output = filtering.convolve(self.x, self.settings, device)
            return output, output.numel() * output.element_size()

        self.output = outputs.get_or_make(key, compute)  # (C, H', W') float32 on device
        self.range = filtering.value_range(self.output)

    @property
    def names(self) -> list[str]:
        return list(convert.CHANNEL_NAMES[self.x.shape[0]])


def kernel_json(
    body: KernelRequest,
    images: ImageStore,
    outputs: LRUCache[tuple[Any, ...], torch.Tensor],
    settings: Settings,
    device: torch.device,
) -> bytes:
    """Apply, map for display, downscale for display, encode: the whole computation."""
    applied = Applied(body, images, outputs, settings, device)
    ks, output = applied.settings, applied.output
    channels, out_h, out_w = output.shape
    lo, hi = applied.range
    shown = filtering.to_display(output, ks.display, lo, hi).cpu()  # (C, H', W') uint8
    max_side = min(body.max_side or settings.display_max_side, settings.display_max_side)
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


def pixel_json(
    body: PixelRequest,
    images: ImageStore,
    outputs: LRUCache[tuple[Any, ...], torch.Tensor],
    settings: Settings,
    device: torch.device,
) -> bytes:
    applied = Applied(body, images, outputs, settings, device)
    detail = filtering.pixel_detail(
        applied.x, applied.output, applied.settings, body.row, body.col, applied.range
    )
    return dumps({**detail, "names": applied.names, "display": applied.settings.display})


ERRORS = {
    404: {"description": "Unknown or evicted image id: upload it again"},
    422: {"description": "Invalid kernel or settings; `detail` says what is wrong"},
    503: {"description": "Server busy; retry after `Retry-After` seconds"},
}


@router.post(
    "",
    summary="Apply a kernel to an image",
    description="The same 2D kernel on each of R, G and B (or on the gray image), computed "
    "with `torch.nn.functional.conv2d` on the server's device. Returns the output as a PNG "
    "(`data:` URL) mapped for display (`clip` to 0–255, `abs`, or `minmax` rescaled), its "
    "full and display sizes, the raw range, a histogram of the raw values and the "
    "output-size formula.",
    responses=ERRORS,
)
async def apply_kernel(
    body: KernelRequest,
    request: Request,
    pool: Pool,
    images: Images,
    outputs: Outputs,
    settings: SettingsDep,
) -> Response:
    """Apply a kernel to an uploaded or sample image."""
    try:
        content = await pool.run(
            kernel_json, body, images, outputs, settings, request.app.state.device
        )
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(content, media_type="application/json")


@router.post(
    "/pixel",
    summary="The weighted sum behind one output pixel",
    description="For output pixel (`row`, `col`) of the same request: the neighbourhood it "
    "read in each channel (`window`, 0 where it hangs over the padding, `inside` false), the "
    "kernel, every product, their sum per channel, the output `values` (the numbers the "
    "picture was drawn from, equal to `F.conv2d`'s) and the display levels they became.",
    responses=ERRORS,
)
async def kernel_pixel(
    body: PixelRequest,
    request: Request,
    pool: Pool,
    images: Images,
    outputs: Outputs,
    settings: SettingsDep,
) -> Response:
    """Explain one output pixel: neighbourhood × kernel = value."""
    try:
        content = await pool.run(
            pixel_json, body, images, outputs, settings, request.app.state.device
        )
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(content, media_type="application/json")


def kernels_config(settings: Settings) -> dict[str, Any]:
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


@router.get("/presets", summary="Preset kernels, display modes and limits")
def kernel_presets(settings: SettingsDep) -> Response:
    """The preset kernels (identity, sharpen, blurs, Laplacian, Sobel, Prewitt, ...)."""
    return JSONBytes(kernels_config(settings))
