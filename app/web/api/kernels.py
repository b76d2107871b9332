"""``/api/kernels``: a kernel applied to a photo, and the weighted sum behind any output pixel
(:mod:`app.services.kernels`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import ConfigDict, Field, StrictBool, WithJsonSchema
from starlette.responses import Response

from app.services import kernels
from app.services.kernels import Context
from app.web.deps import Device, Images, Pool, SettingsDep
from app.web.responses import JSONBytes
from app.web.schemas import Body, IntOrPair

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


class KernelRequest(Body):
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


def get_context(request: Request, images: Images, settings: SettingsDep, device: Device) -> Context:
    """What applying a kernel needs from the app (its output cache is ``app.state``'s)."""
    return Context(images, request.app.state.kernel_outputs, settings, device)


KernelContext = Annotated[Context, Depends(get_context)]


def as_request(body: KernelRequest) -> kernels.KernelRequest:
    return kernels.KernelRequest(
        **{k: v for k, v in body.fields().items() if k not in ("row", "col")}
    )


ERRORS: dict[int | str, dict[str, Any]] = {
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
async def apply_kernel(body: KernelRequest, pool: Pool, context: KernelContext) -> Response:
    """Apply a kernel to an uploaded or sample image."""
    content = await pool.run(kernels.apply, context, as_request(body))
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
async def kernel_pixel(body: PixelRequest, pool: Pool, context: KernelContext) -> Response:
    """Explain one output pixel: neighbourhood × kernel = value."""
    content = await pool.run(kernels.pixel, context, as_request(body), body.row, body.col)
    return Response(content, media_type="application/json")


@router.get("/presets", summary="Preset kernels, display modes and limits")
def kernel_presets(settings: SettingsDep) -> Response:
    """The preset kernels (identity, sharpen, blurs, Laplacian, Sobel, Prewitt, ...)."""
    return JSONBytes(kernels.config(settings))
