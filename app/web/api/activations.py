"""``/api/activations``: activation curves with derivatives, maxout, and a feature map before
and after an activation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.responses import Response

from app.images.samples import SAMPLES
from app.ops import activations as act
from app.ops import demo_maps
from app.ops.arrays import to_tensor
from app.ops.kernels import KERNELS
from app.ops.presets import PRESETS
from app.web.deps import Pool
from app.web.errors import ERROR_RESPONSES, unprocessable
from app.web.responses import JSONBytes, dumps

router = APIRouter(prefix="/api", tags=["activations"])

Name = Annotated[Any, WithJsonSchema({"type": "string", "enum": list(act.ACTIVATIONS)})]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]
Text = Annotated[Any, WithJsonSchema({"type": "string"})]


class CurveRequest(BaseModel):
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


def _feature_map(body: ApplyRequest) -> tuple[Any, str]:
    given = [name for name in ("input", "preset", "image") if getattr(body, name) is not None]
    if len(given) != 1:
        raise ValueError(
            "give exactly one feature map: input (numbers), preset (a name) or image and "
            f"kernel (names); got {', '.join(given) or 'none'}"
        )
    if body.input is not None:
        x = to_tensor(body.input, "input", dims=(2,))
        if max(x.shape) > act.MAX_MAP_SIDE:
            raise ValueError(
                f"input is {x.shape[0]}×{x.shape[1]}; the limit is "
                f"{act.MAX_MAP_SIDE}×{act.MAX_MAP_SIDE}"
            )
        return x, "your numbers"
    if body.preset is not None:
        return demo_maps.from_preset(body.preset)
    if body.kernel is None:
        raise ValueError("image needs a kernel to make a feature map, e.g. 'sobel_left'")
    return demo_maps.from_image(body.image, body.kernel)


def curve_json(body: CurveRequest) -> bytes:
    function = act.get_activation(body.function)
    value = act.setting(function, body.negative_slope, body.alpha)
    return dumps(act.curve(function, value))


def apply_json(body: ApplyRequest) -> bytes:
    function = act.get_activation(body.function)
    value = act.setting(function, body.negative_slope, body.alpha)
    before, source = _feature_map(body)
    return dumps({**act.apply(function, value, before), "source": source})


@router.post(
    "/activations/curve",
    summary="An activation function and its derivative on [−5, 5]",
    description="`y` from torch.nn.functional, `derivative` from autograd (at the kink, "
    "x = 0, the left-hand slope), 201 points.",
    responses=ERROR_RESPONSES,
)
async def activation_curve(body: CurveRequest, pool: Pool) -> Response:
    """Sample one activation function and its derivative."""
    try:
        content = await pool.run(curve_json, body)
    except ValueError as error:
        raise unprocessable(error) from error
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
    try:
        content = await pool.run(apply_json, body)
    except ValueError as error:
        raise unprocessable(error) from error
    return Response(content, media_type="application/json")


def activations_config() -> dict[str, Any]:
    """The activations page's data: functions, their default curves, maxout, map sources."""
    return {
        "functions": [a.to_dict() for a in act.ACTIVATIONS.values()],
        "defaults": act.DEFAULTS,
        "limits": {"max_slope": act.MAX_SLOPE, "max_alpha": act.MAX_ALPHA},
        "curves": act.all_curves(**act.DEFAULTS),
        "maxout": act.maxout_example(),
        "presets": [{"name": p.name, "title": p.title} for p in PRESETS.values()],
        "images": [{"name": s.name, "title": s.title} for s in SAMPLES.values()],
        "kernels": [{"name": k.name, "title": k.title} for k in KERNELS.values()],
        "default_map": {"preset": "vertical_edge_numbers"},
    }


@router.get("/activations", summary="Activation functions, default curves, maxout, map sources")
def activations_catalogue() -> Response:
    """Everything the activations page starts from."""
    return JSONBytes(activations_config())
