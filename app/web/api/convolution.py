"""``POST /api/convolution``: a step-by-step trace of a 2D convolution, as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response

from app.ops.conv import LIMITS
from app.services import operations
from app.web.deps import Pool
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes
from app.web.schemas import Body, IntOrPair, NumberArray, NumberOrList

router = APIRouter(prefix="/api", tags=["convolution"])

LIMITS_TEXT = (
    f"Limits: input up to {LIMITS.max_size}×{LIMITS.max_size} per channel and "
    f"{LIMITS.max_channels} channels; kernel up to {LIMITS.max_kernel}×{LIMITS.max_kernel} and "
    f"{LIMITS.max_out_channels} output channels; padding ≤ {LIMITS.max_padding}, "
    f"stride ≤ {LIMITS.max_stride}, dilation ≤ {LIMITS.max_dilation}; at most "
    f"{LIMITS.max_terms:,} multiplications per trace."
)


class ConvolutionRequest(Body):
    """An input, a kernel and the layer's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]],
                    "kernel": [[0, 1], [2, 3]],
                    "bias": 0,
                    "stride": 1,
                    "padding": 0,
                    "dilation": 1,
                    "flip": False,
                }
            ]
        },
    )

    input: NumberArray = Field(description="H×W or C×H×W")
    kernel: NumberArray = Field(description="kh×kw, C×kh×kw or O×C×kh×kw (O output channels)")
    bias: NumberOrList = 0
    stride: IntOrPair = 1
    padding: IntOrPair = Field(0, description="Zeros added on every side.")
    dilation: IntOrPair = 1
    flip: StrictBool = Field(
        False, description="True convolution (kernel rotated 180°) instead of cross-correlation."
    )


class Step(BaseModel):
    position: list[int] = Field(description="[o, i, j] of the output element")
    window: list[int] = Field(description="Top-left [row, col] of the window in the padded input")
    terms: list[list[float]] = Field(description="[x, w] pairs in channel, row, column order")
    partials: list[float] = Field(description="Sum of the products of each input channel")
    bias: float
    value: float = Field(description="Sum of all products plus the bias")


class ConvolutionResponse(BaseModel):
    output: list[list[list[float]]] = Field(description="O×H'×W'")
    output_shape: list[int]
    padded_input: list[list[list[float]]] = Field(description="C×(H+2p)×(W+2p)")
    kernel: list[list[list[list[float]]]] = Field(description="O×C×kh×kw, flipped if flip")
    bias: list[float]
    stride: list[int]
    padding: list[int]
    dilation: list[int]
    flip: bool
    footprint: list[int] = Field(description="Rows and columns the dilated kernel spans")
    formula: dict[str, Any] = Field(description="Output-size formula per axis (H, W)")
    parameters: dict[str, Any] = Field(description="Parameter counts: this layer vs dense")
    steps: list[Step] = Field(description="One per output element, (o, i, j) row-major")


@router.post(
    "/convolution",
    response_model=ConvolutionResponse,
    summary="Trace a 2D convolution step by step",
    description="Convolve `input` with `kernel` as `torch.nn.functional.conv2d` does (or with "
    "the kernel flipped, for true convolution) and return the output plus, for "
    "every output element, the window it read and each multiplication. " + LIMITS_TEXT,
    responses=ERROR_RESPONSES,
)
async def convolution(body: ConvolutionRequest, pool: Pool) -> Response:
    """Convolve an input with a kernel and return every multiply-and-sum."""
    content = await pool.run(operations.trace, "convolution", **body.fields())
    return Response(content, media_type="application/json")


@router.get("/convolution/presets", summary="Presets, classic kernels and limits of the playground")
def convolution_presets() -> Response:
    """The lecture's worked examples (checked against torch) and the classic kernels."""
    return JSONBytes(operations.convolution_config())
