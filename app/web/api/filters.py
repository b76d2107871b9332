"""``/api/models/{name}/filters`` and ``/api/models/{name}/layers/{layer}/channels``: the
filters a network learned, and what its channels respond to.

- the convolution layers with their kind and shapes; a layer's gallery (one PNG atlas, and
  the layout JSON that maps a click on it back to a filter); one filter's numbers; the map
  one filter produces on an image (``app.services.filters``);
- activation maximisation of any channel of any convolution layer
  (``app.explain.maximize``), and for the MNIST models the nine digits of the shipped
  sample that excite a channel most (``app.explain.topdigits``). Both take seconds: each
  has a synchronous endpoint (the answer when it is done; a client that goes away stops
  it) and a ``/jobs`` one for pages (202 and a job to follow, ``/api/jobs/{id}``). Both
  run as jobs keyed by what they compute, so the same request is computed once and then
  answered from the jobs' result cache.

Unknown models are 404 naming the models; an unknown layer, a filter or channel out of
range, a bad order or scale, a setting over its cap, top digits of a photo model: 422
with a sentence (naming the valid layers, the range, the cap).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from starlette.responses import Response

from app.explain import maximize, topdigits
from app.explain.progress import Progress
from app.images.colormaps import Scheme
from app.nets.network import Network
from app.services import filters
from app.web.deps import Colors, ImageForm, InputsDep, NetworkDep, Pool
from app.web.errors import MODEL_ERRORS, NOT_FOUND, UPLOAD_ERRORS
from app.web.jobs import Planned, job_endpoints
from app.web.responses import CACHE, JSONBytes
from app.web.schemas import Body
from app.web.uploads import IMAGE_BODY

router = APIRouter(prefix="/api/models", tags=["filters"])

ConvName = Annotated[
    str, Path(description="A convolution layer, as `GET /api/models/{name}/filters` names it")
]
FeatureLayer = Annotated[
    str,
    Path(
        description="A convolution layer, a convolution block (e.g. EfficientNet's `stem`) "
        "or the BatchNorm or activation after a block's convolution"
    ),
]
FilterIndex = Annotated[int, Path(description="The filter: its output channel, from 0")]
Channel = Annotated[int, Path(description="The output channel, from 0")]
OrderQuery = Annotated[
    Literal["index", "norm"],
    Query(description="`index`: filter 0 first; `norm`: the largest L2 norm first"),
]
ScaleQuery = Annotated[
    Literal["layer", "filter"],
    Query(description="`layer`: one colour scale for the layer; `filter`: one per filter"),
]


class Gallery(NamedTuple):
    """Which gallery a request asks for: the network's layer, in an order, on a scale, in a
    colour scheme."""

    network: Network
    layer: str
    order: Literal["index", "norm"]
    scale: Literal["layer", "filter"]
    colors: Scheme


def gallery_of(
    network: NetworkDep,
    layer: ConvName,
    order: OrderQuery = "index",
    scale: ScaleQuery = "layer",
    colors: Colors = "standard",
) -> Gallery:
    """The gallery of the URL's network and layer, with the query's order, scale and colour
    scheme."""
    return Gallery(network, layer, order, scale, colors)


GalleryDep = Annotated[Gallery, Depends(gallery_of)]

PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}
CHANNELS = "/{name}/layers/{layer}/channels/{channel}"


class MaximizeSettings(Body):
    """Activation maximisation's settings; each left out takes the model's default."""

    steps: int | None = Field(None, description="Optimisation steps, 1 to 512 (default 128)")
    learning_rate: float | None = Field(None, description="Adam's step size, 0.0001 to 1")
    jitter: int | None = Field(
        None, description="Largest random shift before each step, 0 to 32 pixels (default: "
        "one per 28 pixels of the picture)"
    )  # fmt: skip
    size: int | None = Field(
        None, description="Side of the picture, 16 to 224 (default: the model's input)"
    )
    seed: int | None = Field(None, description="Seed of the start and of the shifts")
    objective: Literal["channel", "centre"] | None = Field(
        None, description="`channel`: the map's mean (photos' default); `centre`: its centre "
        "unit (digits' default)"
    )  # fmt: skip

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


# ------------------------------------------------------------------------------------ filters


@router.get("/{name}/filters", summary="The convolution layers", responses={404: NOT_FOUND})
async def filter_layers(network: NetworkDep, pool: Pool) -> Response:
    """Every `nn.Conv2d` in definition order: `name`, `kind` (`rgb`: a first layer on colour
    input, shown in colour; `single`: one input channel; `channels`: one kernel per input
    channel; `depthwise`: one kernel per channel; `pointwise`: a 1×1 convolution, a matrix),
    `shape` (C_out, C_in / groups, kh, kw), `groups`, `stride`, `count` (filters),
    `parameters` and `limit` (the ± end of the layer's diverging colour scale: the 99th
    percentile of |w|)."""
    data = await pool.run(filters.layers_result, network)
    return JSONBytes(data, headers={"cache-control": CACHE})


@router.get(
    "/{name}/filters/{layer}/gallery.png",
    summary="A layer's gallery (PNG)",
    response_class=Response,
    responses={**PNG, **MODEL_ERRORS},
)
async def gallery_png(shown: GalleryDep, pool: Pool) -> Response:
    """The atlas of the layer's filters: one pixel per weight, tiles separated by 1-pixel
    gray gaps (`GET .../filters/{layer}` gives the layout), on the diverging scale of the
    colour scheme `colors` (a first layer on colour input is in its own colours)."""
    found = await pool.run(filters.gallery, *shown)
    return Response(found.png, media_type="image/png", headers={"cache-control": CACHE})


@router.get("/{name}/filters/{layer}", summary="A layer's gallery (layout)", responses=MODEL_ERRORS)
async def gallery(shown: GalleryDep, pool: Pool) -> Response:
    """How the atlas at `png` is laid out: `layer` (as in the list, with every filter's
    `norms`), `order` (the filter of each tile, in picture order: tile i is filter
    `order[i]`), `rows` and `columns` of tiles, `tile` (height, width in pixels) and `gap`
    (pixels between tiles). `rgb`, `single` and `depthwise` layers have one tile per filter,
    row by row; `channels` layers one row per filter and one column per input channel;
    `pointwise` layers are one C_out × C_in matrix (row i is filter `order[i]`). `scale`,
    `limit` (the ± end of a layer-wide diverging scale, else null) and `colorscale` (its
    stops, in the colour scheme `colors`; null for `rgb`, where each filter's three
    channels are R, G and B)."""
    layout = await pool.run(filters.gallery_layout, *shown)
    png = (
        f"/api/models/{shown.network.name}/filters/{shown.layer}/gallery.png"
        f"?order={shown.order}&scale={shown.scale}&colors={shown.colors}"
    )
    return JSONBytes({**layout, "png": png}, headers={"cache-control": CACHE})


@router.get(
    "/{name}/filters/{layer}/{index}", summary="One filter's numbers", responses=MODEL_ERRORS
)
async def filter_detail(
    network: NetworkDep, layer: ConvName, index: FilterIndex, pool: Pool
) -> Response:
    """The filter's `weights` (C_in / groups × kh × kw, exactly the layer's weight
    `[index]`), `bias`, `norm` (L2), `channel_norms` (per input slice), `input_channels`
    (which of the layer's input channels it reads: all of them, or its group's) and
    `range` (min, max)."""
    data = await pool.run(filters.detail_result, network, layer, index)
    return JSONBytes(data, headers={"cache-control": CACHE})


@router.post(
    "/{name}/filters/{layer}/{index}/feature-map",
    summary="The map one filter produces on an image",
    openapi_extra=IMAGE_BODY,
    responses={**UPLOAD_ERRORS, **MODEL_ERRORS},
)
async def feature_map(
    network: NetworkDep,
    layer: ConvName,
    index: FilterIndex,
    pool: Pool,
    inputs: InputsDep,
    source: ImageForm,
    colors: Colors = "standard",
) -> Response:
    """Send an image file in the multipart field `image`, or an `image_id` (an upload's, or
    a sample's such as `sample-chelsea`). The image is preprocessed for the model and the
    forward pass stops at `layer`: its output channel `index` (before BatchNorm and
    activation), as `png` (a `data:` URL, one pixel per value, on the explorer's colour
    scale `color` for the map's `min` and `max`, in the colour scheme `colors`, whose
    `stops` come with it) and, up to 8192 of them, its `values`. `image` is the id the
    image is kept under."""
    data = await pool.run(filters.feature_map, network, inputs, source, layer, index, colors)
    return JSONBytes(data)


# ------------------------------------------------------------------ what a channel responds to


async def maximized(result: maximize.Maximized, pool: Pool) -> Response:
    """The synchronous answer: settings, curve, activation and the picture (``png``)."""
    return JSONBytes(await pool.run(filters.maximized_result, result))


@job_endpoints(
    router,
    f"{CHANNELS}/maximize",
    respond=maximized,
    summary="What a channel responds to (activation maximisation)",
    description="A picture optimised to excite `channel` of `layer` most: Adam on the "
    "picture's scaled Fourier coefficients with random jitter (Olah et al., \"Feature "
    'Visualization", Distill 2017), a fixed number of `steps` from a seeded start, so the '
    "same settings give the same picture (computed once, then answered from the cache). "
    "Answers the `settings` used (defaults filled in), the objective at each step "
    "(`curve`), the final `activation`, the picture's `size` and the picture (`png`, a "
    "`data:` URL). Waits until it is done (a client that goes away stops it); pages use "
    "`.../maximize/jobs`. A setting over its cap, an unknown layer or a channel out of "
    "range is a 422 saying which.",
    job_summary="Start activation maximisation as a job",
    job_description="What `.../maximize` computes, as a job: 202 with its `id`, `events` "
    "(server-sent progress), `result` (`?format=json`: settings, curve, activation; "
    "`?format=png`: the picture) and `url` (DELETE it to cancel). Bad settings are refused "
    "at once (422).",
    responses=MODEL_ERRORS,
)
async def maximize_channel(
    network: NetworkDep,
    layer: FeatureLayer,
    channel: Channel,
    pool: Pool,
    body: MaximizeSettings | None = None,
) -> Planned:
    """Every setting checked (422 before any work); the job's key and computation."""
    given = (body or MaximizeSettings()).given()
    settings = await pool.run(maximize.resolve_settings, network, layer, channel, **given)

    def run(progress: Progress) -> maximize.Maximized:
        return maximize.maximize_channel(network, layer, channel, progress=progress, **settings)

    return Planned(("maximize", network.name, layer, channel, tuple(sorted(settings.items()))), run)


async def top_digits_answer(result: topdigits.ChannelTop, pool: Pool) -> Response:
    """The synchronous answer: the nine digits and their pictures (``png``)."""
    return JSONBytes(await pool.run(filters.top_digits_result, result))


@job_endpoints(
    router,
    f"{CHANNELS}/top-digits",
    method="GET",
    respond=top_digits_answer,
    summary="The nine digits that excite a channel most (MNIST models)",
    description="Of the 5,000 MNIST digits shipped with the app, the nine whose largest "
    "value in `channel` of the convolution `layer` is largest, strongest first: each "
    "digit's `index` in the sample, `label`, `activation`, the `position` (row, col) of "
    "that value in the map and its receptive field `box` (top, left, bottom, right; the "
    "last two exclusive) in the picture the network sees; `size` of a picture and `png`, "
    "the nine side by side (a `data:` URL, 2-pixel gaps). The first request scans the "
    "sample (seconds; later ones are instant). A model not trained on MNIST is a 422.",
    job_summary="Start the top digits as a job",
    job_description="What `.../top-digits` computes, as a job (`result?format=png`: the "
    "nine digits).",
    responses=MODEL_ERRORS,
)
async def top_digits(network: NetworkDep, layer: ConvName, channel: Channel, pool: Pool) -> Planned:
    """The request checked before any scan starts; the job's key and computation."""
    await pool.run(topdigits.check_request, network, layer, channel)

    def run(progress: Progress) -> topdigits.ChannelTop:
        return topdigits.top_digits(network, layer, channel, progress)

    return Planned(("top-digits", network.name, layer, channel), run)
