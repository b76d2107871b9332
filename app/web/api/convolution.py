"""``POST /api/convolution``: a step-by-step trace of a 1-D, 2-D or 3-D convolution, as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictBool, WithJsonSchema
from starlette.responses import Response

from app.ops.conv import LIMITS, LIMITS_BY_DIMS
from app.ops.padding import MODES
from app.services import operations
from app.web.deps import AnswersDep, Pool
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes, trace_response
from app.web.schemas import Body, NumberArray, NumberOrList

router = APIRouter(prefix="/api", tags=["convolution"])

LIMITS_TEXT = (
    f"Limits: input up to {LIMITS.max_size}×{LIMITS.max_size} per channel and "
    f"{LIMITS.max_channels} channels; kernel up to {LIMITS.max_kernel}×{LIMITS.max_kernel} and "
    f"{LIMITS.max_out_channels} output channels; padding ≤ {LIMITS.max_padding}, "
    f"stride ≤ {LIMITS.max_stride}, dilation ≤ {LIMITS.max_dilation}; at most "
    f"{LIMITS.max_terms:,} multiplications per trace. 1-D: length up to "
    f"{LIMITS_BY_DIMS[1].max_size}, {LIMITS_BY_DIMS[1].max_channels} channels, kernel up to "
    f"{LIMITS_BY_DIMS[1].max_kernel}. 3-D: up to {LIMITS_BY_DIMS[3].max_size} per axis, "
    f"{LIMITS_BY_DIMS[3].max_channels} channels, kernel up to {LIMITS_BY_DIMS[3].max_kernel} "
    f"per axis, padding ≤ {LIMITS_BY_DIMS[3].max_padding}."
)

_PER_AXIS = {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}
IntPerAxis = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, _PER_AXIS],
            "description": "One integer for every axis, or one per axis ([height, width]).",
        }
    ),
]
PaddingSetting = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 6},
                {"type": "string", "enum": ["same", "valid"]},
            ],
            "description": "Added on every side: one integer, one per axis, two per axis "
            "(2-D: [top, bottom, left, right]; 1-D: [left, right]; 3-D: [front, back, top, "
            "bottom, left, right]), 'valid' (none) or 'same' (stride 1 only: d·(k − 1) in "
            "all, ⌊half⌋ before and ⌈half⌉ after, as torch).",
        }
    ),
]


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

    dims: Annotated[Any, WithJsonSchema({"type": "integer", "enum": [1, 2, 3]})] = Field(
        2, description="1 (a signal), 2 (an image) or 3 (a volume)"
    )
    input: NumberArray = Field(
        description="2-D: H×W or C×H×W; 1-D: L or C×L; 3-D: D×H×W or C×D×H×W"
    )
    kernel: NumberArray = Field(
        description="2-D: kh×kw, C×kh×kw or O×C×kh×kw (O output channels); 1-D: k, C×k or "
        "O×C×k; 3-D: kd×kh×kw, C×kd×kh×kw or O×C×kd×kh×kw"
    )
    bias: NumberOrList = 0
    stride: IntPerAxis = 1
    padding: PaddingSetting = 0
    padding_mode: Annotated[Any, WithJsonSchema({"type": "string", "enum": list(MODES)})] = Field(
        "zeros",
        description="What fills the padding, as torch's padding_mode: "
        + ", ".join(MODES)
        + " (reflect: padding smaller than the input; circular: at most the input's size).",
    )
    dilation: IntPerAxis = 1
    flip: StrictBool = Field(
        False, description="True convolution (kernel rotated 180°) instead of cross-correlation."
    )


class Step(BaseModel):
    position: list[int] = Field(description="[o, i, j] of the output element (1-D: [o, i])")
    window: list[int] = Field(
        description="First corner of the window in the padded input: [row, col] (1-D: [i]; "
        "3-D: [slice, row, col])"
    )
    terms: list[list[float]] = Field(
        description="[x, w] pairs in channel, then kernel-axis order (row, column)"
    )
    partials: list[float] = Field(description="Sum of the products of each input channel")
    bias: float
    value: float = Field(description="Sum of all products plus the bias")


class ConvolutionResponse(BaseModel):
    dims: int
    output: list[Any] = Field(description="O×H'×W' (1-D: O×L'; 3-D: O×D'×H'×W')")
    output_shape: list[int]
    padded_input: list[Any] = Field(
        description="C×(H + p_top + p_bottom)×(W + p_left + p_right), the padding filled as "
        "padding_mode says"
    )
    kernel: list[Any] = Field(description="O×C×kh×kw (O×C×k, O×C×kd×kh×kw), flipped if flip")
    bias: list[float]
    stride: list[int]
    padding: list[int] = Field(description="Padding before each axis (top, left)")
    pads: list[list[int]] = Field(description="[before, after] per axis")
    padding_mode: str
    dilation: list[int]
    flip: bool
    footprint: list[int] = Field(description="Rows and columns the dilated kernel spans")
    formula: dict[str, Any] = Field(description="Output-size formula per axis (L; H, W; D, H, W)")
    parameters: dict[str, Any] = Field(description="Parameter counts: this layer vs dense")
    steps: list[Step] = Field(description="One per output element, (o, i, j) row-major")


@router.post(
    "/convolution",
    response_model=ConvolutionResponse,
    summary="Trace a 1-D, 2-D or 3-D convolution step by step",
    description="Convolve `input` with `kernel` as `torch.nn.functional.conv1d`, `conv2d` or "
    "`conv3d` does (`dims`), after padding it as `torch.nn.ConvNd`'s `padding` and "
    "`padding_mode` do (or with the kernel flipped, for true convolution) and return the "
    "output plus, for "
    "every output element, the window it read and each multiplication. " + LIMITS_TEXT,
    responses=ERROR_RESPONSES,
)
async def convolution(body: ConvolutionRequest, pool: Pool, answers: AnswersDep) -> Response:
    """Convolve an input with a kernel and return every multiply-and-sum."""
    return await trace_response(pool, answers, "convolution", body.fields())


@router.get("/convolution/presets", summary="Presets, classic kernels and limits of the playground")
def convolution_presets() -> Response:
    """The lecture's worked examples (checked against torch) and the classic kernels."""
    return JSONBytes(operations.convolution_config())
