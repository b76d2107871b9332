"""``/api/models``: the model zoo over HTTP: list, architecture, predict, one layer's maps,
and how one activation was computed.

An image is named by id (``POST /api/images``, or a sample such as ``sample-chelsea``);
``predict`` also takes the file itself (multipart field ``image``) and answers the id it
was kept under, so that a drawing sent as it is being drawn can be explored afterwards.
All model work runs in the bounded compute pool (503 + ``Retry-After`` when it is full).
An unknown model or layer is a 404 naming the valid ones; an unknown or evicted image id a
404 saying to upload again; a bad image or setting a 4xx with a sentence.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.nets.predict import check_k
from app.services import explorer, networks
from app.services.architecture import architecture as architecture_of
from app.web.deps import (
    AnswersDep,
    Colors,
    ImageForm,
    ImageId,
    InputsDep,
    LayerName,
    NetworkDep,
    Pool,
    Spec,
)
from app.web.errors import MODEL_ERRORS, NOT_FOUND, UPLOAD_ERRORS
from app.web.responses import CACHE, JSONBytes
from app.web.uploads import IMAGE_BODY

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get("", summary="The models of the zoo")
def models() -> Response:
    """Each model's `name`, `title`, `input_shape` (C, H, W), `num_classes`, `parameters`,
    accuracy, description, paper, weights and preprocessing."""
    return JSONBytes(networks.cards())


@router.get("/{name}", summary="One model", responses={404: NOT_FOUND})
def model(spec: Spec) -> Response:
    """What `GET /api/models` says about one model."""
    return JSONBytes(networks.card(spec))


@router.get("/{name}/architecture", summary="The architecture table", responses={404: NOT_FOUND})
def architecture(network: NetworkDep) -> Response:
    """One row per layer, in the order the forward pass runs them: `name`, `type`,
    `hyperparameters` (and `text`, the same in words), `output_shape` (without the batch),
    `parameters`, `receptive_field` (`size` and `jump` in input pixels, `start` of unit 0's
    field; `global` when every unit sees the whole input), `macs` (multiply-adds for one
    image) and `kind` (`maps` or `vector`: how the explorer shows the layer's output);
    `total_parameters` and `total_macs`."""
    return JSONBytes(architecture_of(network))


@router.post(
    "/{name}/predict",
    summary="Classify an image",
    description="Send an image file in the multipart field `image`, or the `image_id` of an "
    "earlier upload (or a sample id). The image is preprocessed as the model's training data "
    "was (digits: light on dark, scaled to 20×20 and centred in 28×28; photos: the central "
    "square at 224×224) and classified. Answers `predictions`: the top `k` classes, most "
    "probable first, each with `index`, `label` and softmax `probability`; and `image`, the "
    "id the image is kept under (use it to ask for its feature maps). An empty drawing, a "
    "damaged image or `k` out of range is 422; not an image 415; too large 413.",
    openapi_extra=IMAGE_BODY,
    responses={**UPLOAD_ERRORS, **MODEL_ERRORS},
)
async def predict(
    network: NetworkDep,
    pool: Pool,
    inputs: InputsDep,
    answers: AnswersDep,
    source: ImageForm,
    k: Annotated[int, Query(description="How many classes: 1 to the number of classes")] = 5,
) -> Response:
    """The top k classes of an uploaded, sample or drawn image."""
    check_k(k, network.num_classes)
    body, media = await pool.run(explorer.prediction, network, inputs, answers, source, k)
    return Response(body, media_type=media)


@router.get(
    "/{name}/input",
    summary="The picture the network sees",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **MODEL_ERRORS},
)
async def input_picture(
    network: NetworkDep, image: ImageId, pool: Pool, inputs: InputsDep, answers: AnswersDep
) -> Response:
    """The image after the model's preprocessing (e.g. the 28×28 centred digit, or the
    224×224 central square of a photo), as PNG, before values are scaled."""
    body, media = await pool.run(explorer.picture, network, inputs, answers, image)
    return Response(body, media_type=media, headers={"cache-control": CACHE})


@router.get(
    "/{name}/layers/{layer}/activations",
    summary="One layer's output for an image",
    responses=MODEL_ERRORS,
)
async def activations(
    network: NetworkDep,
    layer: LayerName,
    image: ImageId,
    pool: Pool,
    inputs: InputsDep,
    answers: AnswersDep,
    order: Annotated[
        Literal["strength", "index"],
        Query(description="`strength`: strongest maps first (mean |activation|); `index`"),
    ] = "strength",
    page: Annotated[int, Query(description="Which page of maps, from 0")] = 0,
    per_page: Annotated[int, Query(description="Maps per page, 1 to 64")] = 16,
    scale: Annotated[
        Literal["layer", "map"],
        Query(description="`layer`: one colour scale for every map; `map`: one per map"),
    ] = "layer",
    colors: Colors = "standard",
) -> Response:
    """The forward pass up to `layer` (it stops there). A layer of maps (C×H×W) answers
    `kind: "maps"`: its `shape`, `min`, `max`, colour range (`color`: `kind` diverging or
    sequential, `zmin`, `zmax`, and the colour `stops` of the scheme `colors`), and a page of
    `maps` in the chosen `order`, each with its `channel`, `min`, `max`, `strength` and a
    palette `png` (a `data:` URL; one pixel per activation, in the scheme's colours);
    `values` (the same maps as numbers) when the page holds
    at most 8192 of them. A vector (a dense layer, or C×1×1 maps) answers `kind: "vector"`
    with all its `values` and their `order` by strength. A page of pictures only (no
    `values`) comes as `application/vnd.convscope.pictures+json`, which is JSON, not
    gzipped (PNGs are compressed already)."""
    body, media = await pool.run(
        explorer.activations, network, inputs, answers, image, layer,
        order=order, page=page, per_page=per_page, scale=scale, colors=colors,
    )  # fmt: skip
    return Response(body, media_type=media, headers={"cache-control": CACHE})


@router.get(
    "/{name}/layers/{layer}/unit",
    summary="How one activation was computed",
    responses=MODEL_ERRORS,
)
async def unit(
    network: NetworkDep,
    layer: LayerName,
    image: ImageId,
    pool: Pool,
    inputs: InputsDep,
    answers: AnswersDep,
    channel: Annotated[int | None, Query(description="Feature map (layers of maps)")] = None,
    row: Annotated[int | None, Query(description="Row in the map")] = None,
    col: Annotated[int | None, Query(description="Column in the map")] = None,
    index: Annotated[int | None, Query(description="Position in a vector (dense layers)")] = None,
) -> Response:
    """The activation's `value`, its `receptive_field` in the input picture (`box`: top,
    left, bottom, right, the last two exclusive, clipped to the picture) and what made it,
    by `kind`: `conv` (the window of the layer's padded input, the kernel, each input
    channel's partial sum, the bias, the sum, and the same unit after the elementwise layers
    that follow: BatchNorm, the activation function; also for a click on one of those
    layers, with `via` naming the convolution), `dense` (inputs, weights, products, bias,
    sum; `source` says which flattened maps the inputs come from), `pool` (the window, the
    winner of a max), `flatten` (the map position an index comes from), `sum` (the two
    inputs of a residual sum) or `value`. The output layer adds `softmax`: logits,
    exponentials, their sum and the probabilities."""
    position = explorer.position_of(channel, row, col, index)
    body, media = await pool.run(explorer.unit, network, inputs, answers, image, layer, position)
    return Response(body, media_type=media, headers={"cache-control": CACHE})
