"""``POST /api/pooling``: max, average and sum pooling step by step; ``POST /api/pooling/shift``:
the translation-invariance demonstration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.responses import Response

from app.ops.invariance import D2L_EDGES, D2L_KERNEL, SHIFTS
from app.ops.pool import KINDS, LIMITS
from app.services import operations
from app.web.deps import AnswersDep, Pool
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes, trace_response
from app.web.schemas import Body, IntOrPair, NumberArray

router = APIRouter(prefix="/api", tags=["pooling"])

LIMITS_TEXT = (
    f"Limits: input up to {LIMITS.max_size}×{LIMITS.max_size} per channel and "
    f"{LIMITS.max_channels} channels; window up to {LIMITS.max_window}×{LIMITS.max_window}; "
    f"stride ≤ {LIMITS.max_stride}; padding ≤ {LIMITS.max_padding} and at most half the "
    f"window (torch's rule); at most {LIMITS.max_terms:,} values read per trace."
)
PADDING_TEXT = (
    "Average and sum pooling count padded cells as zeros (torch's default "
    "`count_include_pad=True`: the divisor is always the window area); max pooling ignores "
    "them (torch pads with −∞). Torch has no sum pooling: sum = `F.avg_pool2d` × window area."
)

Kind = Annotated[Any, WithJsonSchema({"type": "string", "enum": list(KINDS)})]
Direction = Annotated[Any, WithJsonSchema({"type": "string", "enum": list(SHIFTS)})]


class PoolingRequest(Body):
    """An input and the pooling's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "input": [[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]],
                    "kind": "max",
                    "size": 2,
                }
            ]
        },
    )

    input: NumberArray = Field(description="H×W or C×H×W; channels are pooled separately")
    kind: Kind = Field(description='"max", "avg" or "sum"')
    size: IntOrPair = Field(description="Window height and width")
    stride: IntOrPair | None = Field(None, description="Defaults to the window size")
    padding: IntOrPair = Field(0, description="On every side; at most half the window")


class PoolingStep(BaseModel):
    position: list[int] = Field(description="[c, i, j] of the output element")
    window: list[int] = Field(description="Top-left [row, col] of the window in the padded input")
    values: list[float | None] = Field(
        description="The window's values, row by row; null marks padding that max ignores"
    )
    value: float = Field(description="The max, the average or the sum")
    winner: list[int] | None = Field(
        None, description="Max only: [row, col] of the winning value in the padded input"
    )


class PoolingResponse(BaseModel):
    output: list[list[list[float]]] = Field(description="C×H'×W'")
    output_shape: list[int]
    padded_input: list[list[list[float | None]]] = Field(
        description="C×(H+2p)×(W+2p); for max the padding is null (−∞, never wins)"
    )
    kind: str
    size: list[int]
    stride: list[int]
    padding: list[int]
    area: int = Field(description="Cells per window, padding included: the divisor of avg")
    formula: dict[str, Any] = Field(description="Output-size formula per axis (H, W)")
    steps: list[PoolingStep] = Field(description="One per output element, (c, i, j) row-major")


@router.post(
    "/pooling",
    response_model=PoolingResponse,
    summary="Trace max, average or sum pooling step by step",
    description="Pool `input` as `F.max_pool2d` / `F.avg_pool2d` do and return the output "
    "plus, for every output element, its window, the values in it and the result (and for "
    f"max the winner). {PADDING_TEXT} {LIMITS_TEXT}",
    responses=ERROR_RESPONSES,
)
async def pooling(body: PoolingRequest, pool: Pool, answers: AnswersDep) -> Response:
    """Pool an input and return every window."""
    return await trace_response(pool, answers, "pooling", body.fields())


class ShiftRequest(Body):
    """An image, a kernel, a direction and the max pooling that follows the convolution."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    # copies typed as JSON lists (pydantic's JsonValue) for the schema
                    "input": [list(row) for row in D2L_EDGES],
                    "kernel": [list(row) for row in D2L_KERNEL],
                    "shift": "right",
                    "size": 2,
                }
            ]
        },
    )

    input: NumberArray = Field(description="H×W")
    kernel: NumberArray = Field(description="kh×kw")
    shift: Direction = Field(description='"right", "left", "down" or "up": one pixel')
    size: IntOrPair = Field(2, description="Max-pooling window")
    stride: IntOrPair | None = Field(None, description="Max-pooling stride (default: the window)")


@router.post(
    "/pooling/shift",
    summary="Translation invariance: shift the input, compare convolution and max pooling",
    description="Convolve `input` with `kernel` (no padding, stride 1), max-pool the result, "
    "then do the same with the input moved one pixel (zeros enter on the other side). "
    "Returns both stages before and after, their difference, how many cells changed and "
    "‖after − before‖ / ‖before‖ (`relative`, null when `before` is all zeros). The "
    "convolution's and the pooling's limits apply.",
    responses=ERROR_RESPONSES,
)
async def pooling_shift(body: ShiftRequest, pool: Pool) -> Response:
    """Shift an image one pixel and compare how convolution and max pooling respond."""
    content = await pool.run(operations.shift, **body.fields())
    return Response(content, media_type="application/json")


@router.get("/pooling/presets", summary="Presets, limits and shift examples of the pooling page")
def pooling_presets() -> Response:
    """The lecture's pooling examples (checked against torch) and the shift demonstration's."""
    return JSONBytes(operations.pooling_config())
