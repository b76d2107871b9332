"""``POST /api/convolution``: a step-by-step trace of a 2D convolution, as JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response

from app.ops.arrays import to_tensor, to_vector
from app.ops.conv import LIMITS, conv2d_trace
from app.ops.kernels import KERNELS
from app.ops.presets import PRESETS
from app.web.deps import Pool
from app.web.errors import ERROR_RESPONSES, unprocessable
from app.web.responses import JSONBytes, dumps
from app.web.schemas import IntOrPair, NumberArray, NumberOrList

router = APIRouter(prefix="/api", tags=["convolution"])

DEFAULT_PRESET = "sharpen"

LIMITS_TEXT = (
    f"Limits: input up to {LIMITS.max_size}×{LIMITS.max_size} per channel and "
    f"{LIMITS.max_channels} channels; kernel up to {LIMITS.max_kernel}×{LIMITS.max_kernel} and "
    f"{LIMITS.max_out_channels} output channels; padding ≤ {LIMITS.max_padding}, "
    f"stride ≤ {LIMITS.max_stride}, dilation ≤ {LIMITS.max_dilation}; at most "
    f"{LIMITS.max_terms:,} multiplications per trace."
)


class ConvolutionRequest(BaseModel):
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


def convolution_json(body: ConvolutionRequest) -> bytes:
    """Validate, trace and serialise: the whole computation, run on a worker thread."""
    x = to_tensor(body.input, "input", dims=(2, 3))
    weight = to_tensor(body.kernel, "kernel", dims=(2, 3, 4))
    out_channels = weight.shape[0] if weight.dim() == 4 else 1
    bias = to_vector(body.bias, "bias", out_channels)
    trace = conv2d_trace(
        x,
        weight,
        bias,
        stride=body.stride,
        padding=body.padding,
        dilation=body.dilation,
        flip=body.flip,
    )
    return dumps(trace.to_dict())


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
    try:
        content = await pool.run(convolution_json, body)
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(content, media_type="application/json")


def playground_config() -> dict[str, Any]:
    """What the playground page needs besides traces: presets, classic kernels, limits."""
    return {
        "presets": [preset.to_dict() for preset in PRESETS.values()],
        "kernels": [kernel.to_dict() for kernel in KERNELS.values()],
        "limits": asdict(LIMITS),
        "default_preset": DEFAULT_PRESET,
    }


@router.get("/convolution/presets", summary="Presets, classic kernels and limits of the playground")
def convolution_presets() -> Response:
    """The lecture's worked examples (checked against torch) and the classic kernels."""
    return JSONBytes(playground_config())
