"""``/api/models/{name}/segment``: a class for every pixel, over HTTP.

- ``POST /api/models/{name}/segment``: an image (multipart ``image``, a file or a drawing,
  or ``image_id``) through a network that labels pixels (``unet-digits``): the mask, what
  each class covers, one probability map per class (:mod:`app.services.segmentation`).
- ``GET /api/models/{name}/segment/saliency?image=&row=&col=&method=``: which input pixels
  decided the class of pixel (row, col): the gradient of that pixel's class logit with
  respect to the input (vanilla gradient, SmoothGrad or Integrated Gradients, with the
  saliency endpoint's settings).

A classifier (one label per image) is refused with 422 naming the networks that segment;
a pixel outside the picture, a class out of range, another method or a setting over its
cap is 422 with a sentence; images as everywhere (404 unknown id, 413, 415, 422).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from app.services import segmentation
from app.web.api.saliency import SaliencyParams
from app.web.deps import AnswersDep, ImageForm, ImageId, InputsDep, NetworkDep, Pool
from app.web.errors import MODEL_ERRORS, UPLOAD_ERRORS
from app.web.responses import CACHE
from app.web.uploads import IMAGE_BODY

router = APIRouter(prefix="/api/models", tags=["segmentation"])


@router.post(
    "/{name}/segment",
    summary="Label every pixel of an image",
    description="Send an image file in the multipart field `image` (a drawing of a few "
    "digits, light on dark or dark on light), or the `image_id` of an upload or a sample. "
    "It is prepared as the network's scenes were (gray, light ink on dark, the central "
    "square shrunk to the input size) and every pixel gets the class with the largest "
    "logit. Answers `image` (the id it is kept under), `shape` [H, W], `mask` (H×W class "
    "indices), `confidence` (H×W: each pixel's largest probability), `mask_png` (the mask "
    "in the classes' colours, background clear), `classes` (each `index`, `label`, "
    "`color`, `pixels` won, `share`, `mean_probability` and `png`: its probability map on "
    "the sequential scale from 0 to 1), `found` (the classes other than background that "
    "win pixels, most first); with `values=true` also `probabilities` (classes×H×W). A "
    "network that classifies whole images is 422; an empty or damaged image 422, not an "
    "image 415, too large 413.",
    openapi_extra=IMAGE_BODY,
    responses={**UPLOAD_ERRORS, **MODEL_ERRORS},
)
async def segment(
    network: NetworkDep,
    pool: Pool,
    inputs: InputsDep,
    answers: AnswersDep,
    source: ImageForm,
    values: Annotated[bool, Query(description="Add every class's probabilities")] = False,
) -> Response:
    """Every pixel's class."""
    segmentation.require_segmenter(network)
    compute = segmentation.segmentation
    body, media = await pool.run(compute, network, inputs, answers, source, values)
    return Response(body, media_type=media)


@router.get(
    "/{name}/segment/saliency",
    summary="Which input pixels decided one pixel's class",
    responses=MODEL_ERRORS,
)
async def pixel_saliency(
    network: NetworkDep,
    image: ImageId,
    pool: Pool,
    inputs: InputsDep,
    answers: AnswersDep,
    query: SaliencyParams,
    row: Annotated[int, Query(description="The pixel's row in the picture the network sees")],
    col: Annotated[int, Query(description="The pixel's column")],
) -> Response:
    """The `method`'s map (`gradient`, `smoothgrad` or `integrated-gradients`) of the
    `target` class's logit at pixel (`row`, `col`) (default: the pixel's own class) with
    respect to the input: `map` (H×W), `png` (the overlay, as the saliency page colours
    it), `target` and the pixel's `predictions` (its most probable classes), `settings`,
    `signed`, `range`, `limit`, `colorscale`, `completeness` (Integrated Gradients: Σ map
    against the logit's change from the baseline) and `pixel`."""
    body, media = await pool.run(
        segmentation.pixel_saliency, network, inputs, answers, image, (row, col),
        query.method, query.target, query.settings,
    )  # fmt: skip
    return Response(body, media_type=media, headers={"cache-control": CACHE})
