"""``/api/models/{name}/saliency``: which pixels a class's score depends on, over HTTP.

- ``POST /api/models/{name}/saliency``: one map (:mod:`app.explain.saliency.service`) of an
  image (multipart ``image`` or ``image_id``) for a ``method`` (an enumerated query
  parameter, so ``/openapi.json`` lists the methods), a ``target`` class (default: the top
  prediction) and the method's settings as query parameters (only those given are passed
  on; a setting the method does not have is a 422 naming its settings). Answers the
  coloured overlay as PNG, or with ``format=json`` the map's description and the raw H×W
  map under ``map`` (H×W the network's input), for a notebook.
- ``POST /api/models/{name}/saliency/jobs``: the same as a job (202): the page follows its
  progress (server-sent events) and cancels it (``DELETE /api/jobs/{id}``).
- ``GET /api/models/{name}/saliency/methods``: the methods with their settings, this
  model's defaults and caps, and the convolution layers Grad-CAM accepts.
- ``GET /api/models/{name}/classes?q=``: classes by name ("dog" → the ImageNet dogs).

Both POSTs run as jobs (:mod:`app.jobs`) keyed by what they compute: requests for the same
map share one computation, a finished one is answered from the cache, and a client that
goes away (or cancels) frees its worker at the method's next batch. Bad input is refused
before any job starts: 422 for a class index out of range, an unknown layer, a layer that
is not a convolution, a setting over its cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.explain.saliency import METHODS
from app.nets.classes import MAX_RESULTS, find_classes
from app.services import networks, saliency
from app.web.deps import ImageForm, InputsDep, NetworkDep, Spec
from app.web.errors import MODEL_ERRORS
from app.web.jobs import Planned, job_endpoints
from app.web.responses import JSONBytes
from app.web.uploads import IMAGE_BODY

router = APIRouter(prefix="/api/models", tags=["saliency"])

#: The methods, as the enumerated ``method`` query parameter.
Method = StrEnum("Method", [(name.replace("-", "_"), name) for name in METHODS])  # type: ignore[misc]


@dataclass(frozen=True)
class SaliencyQuery:
    """What a saliency request asks for, besides the image."""

    method: str
    target: int | None
    settings: dict[str, Any]


def saliency_query(
    method: Annotated[
        Method,
        Query(
            description="The method: `gradient` (Simonyan et al. 2014), `smoothgrad` "
            "(Smilkov et al. 2017), `integrated-gradients` (Sundararajan et al. 2017), "
            "`grad-cam` (Selvaraju et al. 2017), `occlusion` (Zeiler and Fergus 2014)"
        ),
    ],
    target: Annotated[
        int | None, Query(description="Class index; default the top prediction")
    ] = None,
    samples: Annotated[
        int | None, Query(description="SmoothGrad: noisy copies averaged (1–100)")
    ] = None,
    noise: Annotated[
        float | None, Query(description="SmoothGrad: σ as a fraction of the value range (0–1)")
    ] = None,
    seed: Annotated[int | None, Query(description="SmoothGrad: seed of the noise")] = None,
    steps: Annotated[
        int | None, Query(description="Integrated Gradients: points along the path (1–300)")
    ] = None,
    rule: Annotated[
        str | None,
        Query(description="Integrated Gradients: `gausslegendre` or a `riemann_*` rule"),
    ] = None,
    baseline: Annotated[
        str | None,
        Query(description="Integrated Gradients and occlusion: `black`, `gray`, `white`, `blur`"),
    ] = None,
    layer: Annotated[
        str | None,
        Query(max_length=200, description="Grad-CAM: a convolution layer (see `.../methods`)"),
    ] = None,
    patch: Annotated[int | None, Query(description="Occlusion: side of the square")] = None,
    stride: Annotated[int | None, Query(description="Occlusion: step between squares")] = None,
) -> SaliencyQuery:
    """The method, the target and the settings that were given (``None`` ones left out)."""
    given = dict(
        samples=samples, noise=noise, seed=seed, steps=steps, rule=rule, baseline=baseline,
        layer=layer, patch=patch, stride=stride,
    )  # fmt: skip
    settings = {key: value for key, value in given.items() if value is not None}
    return SaliencyQuery(str(method.value), target, settings)


SaliencyParams = Annotated[SaliencyQuery, Depends(saliency_query)]


SALIENCY_DESCRIPTION = (
    "Send the image as multipart (`image`: a file, or `image_id`: an upload's or a sample's "
    "id); everything else is a query parameter. Answers the map coloured for an overlay "
    "(PNG, RGBA at the network's input size: opaque where |value| reaches the colour "
    "limit), or with `format=json`: `model`, `method`, `settings` (all of them, defaults "
    "filled in), `target` and the top `predictions` (`index`, `label`, `probability`), "
    "`shape` [H, W], `signed`, `range`, `limit` (where the colours stop), `colorscale`, "
    "`completeness` (Integrated Gradients: Σ map against f(x) − f(baseline)) and `map`, the "
    "H×W values. A class index out of range, an unknown or non-convolution layer, a setting "
    "the method does not have or one over its cap is 422 with a sentence."
)


async def answer(
    result: saliency.SaliencyMap,
    format: Annotated[
        Literal["png", "json"], Query(description="`png` (the overlay) or `json` (the values)")
    ] = "png",
) -> Response:
    """The map as the overlay PNG, or as JSON with its values (encoded off the compute
    pool: never behind the long jobs)."""
    body = await run_in_threadpool(saliency.encode, result, format)
    media = "image/png" if format == "png" else "application/json"
    return Response(body, media_type=media, headers={"x-image-id": result.image_id})


@job_endpoints(
    router,
    "/{name}/saliency",
    respond=answer,
    summary="A saliency map of an image",
    description=SALIENCY_DESCRIPTION,
    job_summary="A saliency map as a job (for pages)",
    job_description="The same request as `POST /api/models/{name}/saliency`, started as a "
    "job: 202 with its `id`, `status`, `progress` and the URLs to follow it (`events`, "
    "server-sent), cancel it (`DELETE url`) and fetch its `result` (`?format=png|json`).",
    openapi_extra=IMAGE_BODY,
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "application/json": {}}}, **MODEL_ERRORS},
)
async def saliency_map(
    network: NetworkDep, query: SaliencyParams, inputs: InputsDep, source: ImageForm
) -> Planned:
    """The request checked on a thread of its own, not in the compute pool: a request must
    not wait behind the long maps that fill the pool (nor be refused when it is full) to be
    told that its patch is too large, or to join a job that is already running."""
    image, key = await run_in_threadpool(
        saliency.check, network, inputs.images, source, query.method, query.target,
        query.settings,
    )  # fmt: skip
    return Planned(key, saliency.computation(network, inputs, image, query.method,
                                             query.target, query.settings))  # fmt: skip


@router.get(
    "/{name}/saliency/methods",
    summary="The saliency methods and their settings",
    responses=MODEL_ERRORS,
)
def saliency_methods(network: NetworkDep) -> Response:
    """`methods`: each method's `name`, `title`, `paper`, `reduction`, `signed` and `params`
    (`name`, `type`, `default` for this model, `minimum`, `maximum`, `choices`, `doc`);
    `layers`: the convolution layers Grad-CAM takes."""
    return JSONBytes(networks.saliency_methods(network))


@router.get("/{name}/classes", summary="Classes by name", responses=MODEL_ERRORS)
def classes(
    spec: Spec,
    q: Annotated[str, Query(max_length=100, description="Part of a class name, e.g. `dog`")],
    limit: Annotated[int, Query(description=f"At most this many (1–{MAX_RESULTS})")] = 20,
) -> Response:
    """Classes whose names match `q`, best first, each with `index`, `label`, `names` (its
    synonyms) and `rank` (0 the whole label, 1 a group such as the ImageNet dogs for
    "dog", 2 the label's start, 3 a word of a synonym, 4 any part)."""
    return JSONBytes({"query": q, "classes": find_classes(spec, q, limit)})
