"""``POST /api/transposed-convolution``: a transposed convolution step by step, in both views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.ops.transposed import LIMITS
from app.services import operations
from app.web.deps import AnswersDep, Pool
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes, trace_response
from app.web.schemas import Body, IntOrPair, NumberArray, NumberOrList

router = APIRouter(prefix="/api", tags=["transposed convolution"])

LIMITS_TEXT = (
    f"Limits: input up to {LIMITS.max_size}×{LIMITS.max_size} per channel and "
    f"{LIMITS.max_channels} channels; kernel up to {LIMITS.max_kernel}×{LIMITS.max_kernel} and "
    f"{LIMITS.max_out_channels} output channels; stride ≤ {LIMITS.max_stride}, padding ≤ "
    f"{LIMITS.max_padding} (and the output must keep at least one row and column), "
    f"output_padding < max(stride, dilation) on each axis (as torch), dilation ≤ "
    f"{LIMITS.max_dilation}; at most "
    f"{LIMITS.max_terms:,} multiplications per trace."
)


class TransposedRequest(Body):
    """An input, a kernel in torch's ConvTranspose2d layout and the layer's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"input": [[1, 0], [2, 3]], "kernel": [[0, 1], [1, 0]], "stride": 2}]
        },
    )

    input: NumberArray = Field(description="C_in×H×W or H×W")
    kernel: NumberArray = Field(
        description="C_in×C_out×kh×kw (torch's ConvTranspose2d weight layout) or kh×kw"
    )
    bias: NumberOrList = 0
    stride: IntOrPair = 1
    padding: IntOrPair = Field(0, description="Rows and columns cropped from every side")
    output_padding: IntOrPair = Field(
        0,
        description="Extra rows and columns at the bottom and right; smaller than the stride "
        "or the dilation",
    )
    dilation: IntOrPair = 1


class TransposedStep(BaseModel):
    source: list[int] = Field(description="[c, i, j] of the input element")
    value: float = Field(description="The input element, which scales the kernel")
    origin: list[int] = Field(
        description="[row, col] in the output of the stamp's top-left tap (may be negative)"
    )
    cells: list[list[int]] = Field(description="[o, row, col] of each output cell it adds to")
    added: list[float] = Field(description="What it adds to each: value × kernel tap")
    totals: list[float] = Field(description="Each cell's value just after (bias included)")


class Equivalent(BaseModel):
    zero_inserted: list[list[list[float]]] = Field(
        description="C_in×((H−1)s+1)×((W−1)s+1): s − 1 zeros between input cells"
    )
    padding: list[int] = Field(
        description="[top, bottom, left, right] zeros around it: d(k − 1) − p, plus "
        "output_padding at the bottom and right; negative crops"
    )
    input: list[list[list[float]]] = Field(description="The zero-inserted input, padded")
    kernel: list[list[list[list[float]]]] = Field(
        description="C_out×C_in×kh×kw: the kernel rotated 180°, channel axes swapped"
    )
    dilation: list[int]


class TransposedResponse(BaseModel):
    output: list[list[list[float]]] = Field(description="C_out×H'×W'")
    output_shape: list[int]
    input: list[list[list[float]]] = Field(description="C_in×H×W")
    kernel: list[list[list[list[float]]]] = Field(description="C_in×C_out×kh×kw")
    bias: list[float]
    stride: list[int]
    padding: list[int]
    output_padding: list[int]
    dilation: list[int]
    footprint: list[int] = Field(description="Rows and columns one stamp covers")
    formula: dict[str, Any] = Field(description="Output-size formula per axis (H, W)")
    steps: list[TransposedStep] = Field(description="One per input element, (c, i, j) row-major")
    equivalent: Equivalent = Field(
        description="The same output as an ordinary convolution (stride 1, dilation d) of the "
        "zero-inserted, padded input with the rotated kernel"
    )


@router.post(
    "/transposed-convolution",
    response_model=TransposedResponse,
    summary="Trace a transposed convolution step by step",
    description="Compute `input` transposed-convolved with `kernel` as "
    "`torch.nn.functional.conv_transpose2d` does, and return the output, every input "
    "cell's stamp (the output cells it adds to, what it adds, the running totals) and the "
    "equivalent ordinary convolution of the zero-inserted input. H' = (H − 1)·s − 2p + "
    "d·(k − 1) + output_padding + 1. " + LIMITS_TEXT,
    responses=ERROR_RESPONSES,
)
async def transposed_convolution(
    body: TransposedRequest, pool: Pool, answers: AnswersDep
) -> Response:
    """Transposed-convolve an input with a kernel and return every stamp."""
    return await trace_response(pool, answers, "transposed", body.fields())


@router.get(
    "/transposed-convolution/presets",
    summary="Presets and limits of the transposed-convolution page",
)
def transposed_presets() -> Response:
    """Worked examples (checked against torch, the slide's mistake noted) and the limits."""
    return JSONBytes(operations.transposed_config())
