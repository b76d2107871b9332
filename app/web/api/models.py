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

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.responses import Response

from app.images.samples import SAMPLES
from app.images.store import ImageStore, StoredImage
from app.nets.predict import check_k
from app.nets.registry import ModelSpec, UnknownName, get_model_spec, list_models
from app.runtime.workers import ComputePool
from app.services import explorer
from app.web.deps import Images, Pool, SettingsDep
from app.web.errors import ERROR_RESPONSES, unprocessable
from app.web.responses import JSONBytes
from app.web.uploads import Upload, read_form

router = APIRouter(prefix="/api/models", tags=["models"])

#: GET answers depend only on the model, the image (ids name content) and the query.
CACHE = "private, max-age=3600"
#: The media type of maps answers that are mostly PNG (base64): JSON all the same, but not
#: gzipped again (zlib spends ~7 ms on 240 kB of base64 PNG to save a quarter of it).
PICTURES_JSON = "application/vnd.convscope.pictures+json"
T = TypeVar("T")

NOT_FOUND = {"description": "Unknown model or layer (the `detail` lists the valid ones), or "
             "an unknown or evicted image id (upload it again)"}  # fmt: skip
ERRORS: dict[int | str, dict[str, Any]] = {404: NOT_FOUND, **ERROR_RESPONSES}

ModelName = Annotated[str, Path(description="A model of the zoo: `GET /api/models` lists them")]
LayerName = Annotated[
    str, Path(description="A layer, as named in the architecture table (e.g. `conv2`)")
]
ImageId = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        description="An id from `POST /api/images` (or `image_id` from predict), or a sample id "
        "such as `sample-chelsea` or `sample-mnist-3`",
    ),
]


def get_inputs(request: Request) -> explorer.Inputs:
    """Images preprocessed per model, shared by the requests about one image."""
    return request.app.state.model_inputs


Inputs = Annotated[explorer.Inputs, Depends(get_inputs)]


def model_spec(name: str) -> ModelSpec:
    """The spec of ``name``, or 404 naming the models."""
    try:
        return get_model_spec(name)
    except UnknownName as error:
        raise HTTPException(404, str(error)) from error


async def compute(pool: ComputePool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` in the compute pool; unknown names → 404, other ``ValueError`` → 4xx."""
    try:
        return await pool.run(fn, *args, **kwargs)
    except UnknownName as error:
        raise HTTPException(404, str(error)) from error
    except ValueError as error:
        raise unprocessable(error) from error


def model_dict(spec: ModelSpec) -> dict[str, Any]:
    """What the API says about one model."""
    by_file = {sample.file: sample.id for sample in SAMPLES.values()}
    return {**spec.to_dict(), "sample_ids": [by_file[file] for file in spec.samples]}


@router.get("", summary="The models of the zoo")
def models() -> Response:
    """Each model's `name`, `title`, `input_shape` (C, H, W), `num_classes`, `parameters`,
    accuracy, description, paper, weights and preprocessing."""
    return JSONBytes([model_dict(get_model_spec(name)) for name in list_models()])


@router.get("/{name}", summary="One model", responses={404: NOT_FOUND})
def model(name: ModelName) -> Response:
    """What `GET /api/models` says about one model."""
    return JSONBytes(model_dict(model_spec(name)))


@router.get("/{name}/architecture", summary="The architecture table", responses={404: NOT_FOUND})
def architecture(name: ModelName) -> Response:
    """One row per layer, in the order the forward pass runs them: `name`, `type`,
    `hyperparameters` (and `text`, the same in words), `output_shape` (without the batch),
    `parameters`, `receptive_field` (`size` and `jump` in input pixels, `start` of unit 0's
    field; `global` when every unit sees the whole input), `macs` (multiply-adds for one
    image) and `kind` (`maps` or `vector`: how the explorer shows the layer's output);
    `total_parameters` and `total_macs`."""
    return JSONBytes(explorer.architecture(model_spec(name).name))


def stored_image(images: ImageStore, upload: Upload | None, fields: dict[str, str]) -> StoredImage:
    """The image sent as a file (kept in the store), or named by the field `image_id`."""
    image_id = fields.get("image_id", "").strip()
    if upload is not None and image_id:
        raise ValueError("Send either an image file (field 'image') or an image_id, not both")
    if upload is not None:
        return images.add(upload.data)
    if not image_id:
        raise ValueError(
            "Send an image file in the field 'image', or the id of an uploaded image (or a "
            "sample such as sample-mnist-3) in the field 'image_id'"
        )
    return images.get(image_id)


def predict_json(
    name: str,
    images: ImageStore,
    inputs: explorer.Inputs,
    upload: Upload | None,
    fields: dict[str, str],
    device: Any,
    k: int,
) -> dict[str, Any]:
    """Decode or look up the image, preprocess it for the model, predict."""
    prepared = inputs.get(name, stored_image(images, upload, fields))
    return explorer.predict_result(name, prepared, device, k)


PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "image": {
                            "type": "string",
                            "format": "binary",
                            "description": "An image file (PNG, JPEG, WebP, GIF, BMP)",
                        },
                        "image_id": {
                            "type": "string",
                            "description": "Or: the id of an uploaded image, or a sample id",
                        },
                    },
                }
            }
        },
    }
}


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
    openapi_extra=PREDICT_BODY,
    responses={
        400: {"description": "Malformed multipart body, or too many parts"},
        415: {"description": "Not multipart/form-data, or not an accepted image format"},
        **ERRORS,
    },
)
async def predict(
    name: ModelName,
    request: Request,
    pool: Pool,
    images: Images,
    inputs: Inputs,
    settings: SettingsDep,
    k: Annotated[int, Query(description="How many classes: 1 to the number of classes")] = 5,
) -> Response:
    """The top k classes of an uploaded, sample or drawn image."""
    spec = model_spec(name)
    try:
        check_k(k, spec.num_classes)
    except ValueError as error:
        raise unprocessable(error) from error
    upload, fields = await read_form(
        request,
        field_name="image",
        max_bytes=settings.max_upload_bytes,
        max_parts=settings.max_upload_parts,
    )
    data = await compute(
        pool, predict_json, spec.name, images, inputs, upload, fields, request.app.state.device, k
    )
    return JSONBytes(data)


def input_png(name: str, images: ImageStore, inputs: explorer.Inputs, image_id: str) -> bytes:
    return explorer.input_png(inputs.get(name, images.get(image_id)))


@router.get(
    "/{name}/input",
    summary="The picture the network sees",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **ERRORS},
)
async def input_picture(
    name: ModelName, image: ImageId, pool: Pool, images: Images, inputs: Inputs
) -> Response:
    """The image after the model's preprocessing (e.g. the 28×28 centred digit, or the
    224×224 central square of a photo), as PNG, before values are scaled."""
    spec = model_spec(name)
    content = await compute(pool, input_png, spec.name, images, inputs, image)
    return Response(content, media_type="image/png", headers={"cache-control": CACHE})


def activations_json(
    name: str,
    layer: str,
    images: ImageStore,
    inputs: explorer.Inputs,
    image_id: str,
    device: Any,
    **options: Any,
) -> dict[str, Any]:
    explorer.check_layer(name, layer)  # an unknown layer is refused before the image is read
    prepared = inputs.get(name, images.get(image_id))
    return explorer.activations_result(name, prepared, layer, device, **options)


@router.get(
    "/{name}/layers/{layer}/activations",
    summary="One layer's output for an image",
    responses=ERRORS,
)
async def activations(
    name: ModelName,
    layer: LayerName,
    image: ImageId,
    request: Request,
    pool: Pool,
    images: Images,
    inputs: Inputs,
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
) -> Response:
    """The forward pass up to `layer` (it stops there). A layer of maps (C×H×W) answers
    `kind: "maps"`: its `shape`, `min`, `max`, colour range (`color`: `kind` diverging or
    sequential, `zmin`, `zmax`, and the colour `stops`), and a page of `maps` in the chosen
    `order`, each with its `channel`, `min`, `max`, `strength` and a palette `png` (a `data:`
    URL; one pixel per activation); `values` (the same maps as numbers) when the page holds
    at most 8192 of them. A vector (a dense layer, or C×1×1 maps) answers `kind: "vector"`
    with all its `values` and their `order` by strength. A page of pictures only (no
    `values`) comes as `application/vnd.convscope.pictures+json`, which is JSON, not
    gzipped (PNGs are compressed already)."""
    spec = model_spec(name)
    data = await compute(
        pool,
        activations_json,
        spec.name,
        layer,
        images,
        inputs,
        image,
        request.app.state.device,
        order=order,
        page=page,
        per_page=per_page,
        scale=scale,
    )
    pictures = data["kind"] == "maps" and "values" not in data
    return JSONBytes(
        data,
        headers={"cache-control": CACHE},
        media_type=PICTURES_JSON if pictures else "application/json",
    )


def unit_json(
    name: str,
    layer: str,
    images: ImageStore,
    inputs: explorer.Inputs,
    image_id: str,
    position: tuple[int, ...],
    device: Any,
) -> dict[str, Any]:
    explorer.check_layer(name, layer)
    prepared = inputs.get(name, images.get(image_id))
    return explorer.unit_result(name, prepared, layer, position, device)


def _position(
    channel: int | None, row: int | None, col: int | None, index: int | None
) -> tuple[int, ...]:
    if index is not None and channel is None and row is None and col is None:
        return (index,)
    if index is None and None not in (channel, row, col):
        return (channel, row, col)  # type: ignore[return-value]
    raise ValueError("Give channel, row and col for a unit of a feature map, or index alone")


@router.get(
    "/{name}/layers/{layer}/unit",
    summary="How one activation was computed",
    responses=ERRORS,
)
async def unit(
    name: ModelName,
    layer: LayerName,
    image: ImageId,
    request: Request,
    pool: Pool,
    images: Images,
    inputs: Inputs,
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
    spec = model_spec(name)
    try:
        position = _position(channel, row, col, index)
    except ValueError as error:
        raise unprocessable(error) from error
    data = await compute(
        pool, unit_json, spec.name, layer, images, inputs, image, position, request.app.state.device
    )
    return JSONBytes(data, headers={"cache-control": CACHE})
