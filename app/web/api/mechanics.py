"""``POST /api/dense-to-convolution``, ``POST /api/normalization`` and
``POST /api/pooling/adaptive``: the lecture's remaining mechanics, each computed by
:mod:`app.services.mechanics` on a worker thread and compared with torch in the tests."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field, WithJsonSchema
from starlette.responses import Response

from app.ops.adaptive_pool import LIMITS as ADAPTIVE
from app.ops.dense_conv import LIMITS as DENSE
from app.ops.normalization import LIMITS as NORM
from app.services import mechanics
from app.web.deps import Pool
from app.web.errors import ERROR_RESPONSES
from app.web.schemas import Body, IntOrPair, NumberArray, NumberOrList

router = APIRouter(prefix="/api", tags=["mechanics"])


def _enum(*values: str) -> Any:
    return Annotated[Any, WithJsonSchema({"type": "string", "enum": list(values)})]


#: The examples /docs shows (the pages' first inputs).
DENSE_EXAMPLE: dict[str, Any] = {"input": mechanics.DENSE_INPUT, "delta": 1}
NORM_EXAMPLE: dict[str, Any] = {"input": mechanics.NORM_INPUT, "kind": "batch"}
ADAPTIVE_EXAMPLE: dict[str, Any] = {
    "input": [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]],
    "kind": "avg",
    "output_size": [1, 3],
}

Int = Annotated[Any, WithJsonSchema({"type": "integer"})]
Number = Annotated[Any, WithJsonSchema({"type": "number"})]


class DenseRequest(Body):
    """An image, Δ, and the dense layer to start from."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [DENSE_EXAMPLE]},
    )

    input: NumberArray = Field(description=f"H×W, up to {DENSE.max_size}×{DENSE.max_size}")
    delta: Int = Field(1, description="Δ: offsets |a|, |b| ≤ Δ keep their weight")
    weights: NumberArray | None = Field(
        None, description="The dense layer W[i, j, k, l], H×W×H×W; default: drawn by `init`"
    )
    init: _enum("random", "blur", "edge") = Field(  # type: ignore[valid-type]
        "random",
        description="Without `weights`: integers −3…3, or a blur or edge kernel laid out as a "
        "dense layer plus integer noise −1…1",
    )
    seed: Int = Field(0, description="The random generator's seed for `init`")


@router.post(
    "/dense-to-convolution",
    summary="From a dense layer to a convolution: translation invariance, then locality",
    description="A dense layer W[i, j, k, l] from `input` (H×W) to an H×W output; the "
    "nearest translation-invariant layer (W averaged over every entry with the same offset "
    "(k − i, l − j): V[a, b]); then V zeroed beyond |a|, |b| > Δ. Each stage: its weights as "
    "an (H·W)×(H·W) matrix, its parameter count and its output; from the second on, the "
    "same output by `F.conv2d` and the largest difference between the two. "
    f"Limits: input up to {DENSE.max_size}×{DENSE.max_size}, Δ ≤ {DENSE.max_size - 1}.",
    responses=ERROR_RESPONSES,
)
async def dense_to_convolution(body: DenseRequest, pool: Pool) -> Response:
    """Derive a convolution from a dense layer."""
    content = await pool.run(mechanics.dense, **body.fields())
    return Response(content, media_type="application/json")


class NormalizationRequest(Body):
    """A batch of feature maps and a normalisation's settings."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [NORM_EXAMPLE]},
    )

    input: NumberArray = Field(description="N×C×H×W")
    kind: _enum("batch", "layer", "group", "instance") = Field(  # type: ignore[valid-type]
        description="Which maps share a mean and a variance"
    )
    groups: Int = Field(1, description="GroupNorm: G, dividing C")
    eps: Number = Field(1e-5, description="ε, added to the variance (0 < ε ≤ 1)")
    gamma: NumberOrList = Field(1.0, description="γ, one per channel (or one for all)")
    beta: NumberOrList = Field(0.0, description="β, one per channel (or one for all)")
    mode: _enum("train", "eval") = Field(  # type: ignore[valid-type]
        "train", description="BatchNorm: the batch's statistics (train) or the running ones"
    )
    momentum: Number = Field(0.1, description="BatchNorm: weight of the batch in the update")
    running_mean: NumberOrList = Field(0.0, description="BatchNorm: per channel, before")
    running_var: NumberOrList = Field(1.0, description="BatchNorm: per channel, before (≥ 0)")


@router.post(
    "/normalization",
    summary="Batch, layer, group and instance normalisation with every statistic",
    description="Normalise `input` as `F.batch_norm`, `F.layer_norm` (over C×H×W, γ and β "
    "per channel), `F.group_norm` or `F.instance_norm` do. Returns the axes averaged over, "
    "`index` (N×C: the statistic each map belongs to), each statistic's `mean`, biased "
    "`var`, `std` = √(var + ε) and number of `values`, x̂ (`normalized`) and the `output`; "
    "for BatchNorm the running statistics before and after (train mode updates them with "
    "the unbiased variance). Limits: N ≤ "
    f"{NORM.max_batch}, C ≤ {NORM.max_channels}, maps up to {NORM.max_size}×{NORM.max_size}.",
    responses=ERROR_RESPONSES,
)
async def normalization(body: NormalizationRequest, pool: Pool) -> Response:
    """Normalise a batch of feature maps."""
    content = await pool.run(mechanics.normalization, **body.fields())
    return Response(content, media_type="application/json")


class AdaptiveRequest(Body):
    """An input and the output size adaptive pooling must reach."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [ADAPTIVE_EXAMPLE]},
    )

    input: NumberArray = Field(description="H×W or C×H×W")
    kind: _enum("max", "avg") = Field(description='"max" or "avg"')  # type: ignore[valid-type]
    output_size: IntOrPair = Field(description="The output's height and width")


@router.post(
    "/pooling/adaptive",
    summary="Adaptive max or average pooling: any input to a fixed output size",
    description="Pool `input` to `output_size` as `F.adaptive_max_pool2d` / "
    "`F.adaptive_avg_pool2d` do: output row i pools rows ⌊i·H/H'⌋ to ⌈(i + 1)·H/H'⌉ "
    "(exclusive), columns alike. Returns those `rows` and `cols`, and every step's window, "
    f"values and result. Limits: input up to {ADAPTIVE.max_size}×{ADAPTIVE.max_size} and "
    f"{ADAPTIVE.max_channels} channels, output up to {ADAPTIVE.max_output}×"
    f"{ADAPTIVE.max_output}.",
    responses=ERROR_RESPONSES,
)
async def adaptive_pooling(body: AdaptiveRequest, pool: Pool) -> Response:
    """Adaptive pooling with the windows torch chooses."""
    content = await pool.run(mechanics.adaptive, **body.fields())
    return Response(content, media_type="application/json")
