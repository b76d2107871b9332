"""``/api/activations``: activation curves with derivatives, maxout, and a feature map before
and after an activation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field, WithJsonSchema
from starlette.responses import Response

from app.ops import activations as act
from app.ops import demo_maps
from app.services import activations
from app.web.deps import Pool
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes
from app.web.schemas import Body

router = APIRouter(prefix="/api", tags=["activations"])

Name = Annotated[Any, WithJsonSchema({"type": "string", "enum": list(act.ACTIVATIONS)})]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]
Text = Annotated[Any, WithJsonSchema({"type": "string"})]


class CurveRequest(Body):
    """A function and its setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"function": "leaky_relu", "negative_slope": 0.1}]},
    )

    function: Name
    negative_slope: Number = Field(
        act.DEFAULTS["negative_slope"],
        description=f"Leaky ReLU's slope for x < 0, 0 to {act.MAX_SLOPE:g} (torch's default "
        "is 0.01; the notes use 0.1)",
    )
    alpha: Number = Field(act.DEFAULTS["alpha"], description=f"ELU's α, 0 to {act.MAX_ALPHA:g}")


class ApplyRequest(CurveRequest):
    """A function, its setting and one feature-map source."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"function": "relu", "preset": "vertical_edge_numbers"},
                {"function": "tanh", "image": "chelsea", "kernel": "sobel_left"},
                {"function": "sigmoid", "input": [[-2, 0], [1, 3]]},
            ]
        },
    )

    input: Annotated[Any, WithJsonSchema({"type": "array", "items": {}})] = Field(
        None, description=f"An H×W feature map, up to {act.MAX_MAP_SIDE}×{act.MAX_MAP_SIDE}"
    )
    preset: Text = Field(None, description="A convolution preset: its first feature map")
    image: Text = Field(None, description="A sample image, convolved with `kernel`")
    kernel: Text = Field(None, description="A classic kernel's name, applied to `image`")


@router.post(
    "/activations/curve",
    summary="An activation function and its derivative on [−5, 5]",
    description="`y` from torch.nn.functional, `derivative` from autograd (at the kink, "
    "x = 0, the left-hand slope), 201 points.",
    responses=ERROR_RESPONSES,
)
async def activation_curve(body: CurveRequest, pool: Pool) -> Response:
    """Sample one activation function and its derivative."""
    content = await pool.run(activations.curve, **body.fields())
    return Response(content, media_type="application/json")


@router.post(
    "/activations/apply",
    summary="A feature map before and after an activation function",
    description="The map comes from `input`, a convolution `preset` (its first feature map) "
    "or a classic `kernel` applied to a sample `image` (grayscale, 0 to 1, at most "
    f"{demo_maps.IMAGE_SIDE} pixels on the long side, no padding). Returns both maps, "
    f"histograms on {act.HISTOGRAM_BINS} shared bins and summary statistics.",
    responses=ERROR_RESPONSES,
)
async def activation_apply(body: ApplyRequest, pool: Pool) -> Response:
    """Apply an activation to a feature map."""
    content = await pool.run(activations.apply, **body.fields())
    return Response(content, media_type="application/json")


@router.get("/activations", summary="Activation functions, default curves, maxout, map sources")
def activations_catalogue() -> Response:
    """Everything the activations page starts from."""
    return JSONBytes(activations.config())
