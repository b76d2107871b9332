"""``/api/models/{name}/sliding-window``: where in a photo a class is, by sliding windows,
against the network run once fully convolutionally (:mod:`app.services.detection`).

- ``POST /api/models/{name}/sliding-window``: the image as multipart (``image`` or
  ``image_id``), the rest as query parameters: ``target`` (a class index; default the class
  that reaches the highest probability in any window), ``sizes`` (window sides in pixels,
  comma-separated), ``stride``, ``threshold`` (the least probability a box needs) and
  ``iou`` (suppression's overlap). Answers JSON (``maps``, ``boxes``, ``passes``, the
  suppression's steps and the fully convolutional maps) or, with ``format=png``, the image
  with the boxes drawn.
- ``POST /api/models/{name}/sliding-window/jobs``: the same as a job (202), for the page.
- ``GET /api/scenes/{scene}``: a picture with several things in it (the cat and the espresso
  cup side by side; three MNIST digits on a canvas), as PNG.

Bad settings are refused before any job starts: a size that is not a whole number, smaller
than 8 pixels or larger than the image, a size given twice, more than 6 sizes, stride 0,
more than 2,048 windows, a threshold outside 0–1, a class index out of range, a network
that is not a classifier: 422 with a sentence.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.images.scenes import SCENES, scene_png
from app.nets.names import UnknownName
from app.services import detection
from app.web.deps import ImageForm, InputsDep, NetworkDep
from app.web.errors import MODEL_ERRORS
from app.web.jobs import Planned, job_endpoints
from app.web.uploads import IMAGE_BODY

router = APIRouter(tags=["detection"])

DESCRIPTION = (
    "Send the image as multipart (`image`: a file, or `image_id`); the rest are query "
    "parameters. Every window of every size (one every `stride` pixels, inside the image) is "
    "resized to the network's input and scored: the class's probability. Answers JSON with "
    "`maps` (per size: `size`, `stride`, `tops`, `lefts`, `scores` rows × columns, `max`, "
    "`passes`, `seconds`), `boxes` (after non-maximum suppression, best first: `x`, `y`, "
    "`width`, `height` in the image's pixels, `score`, `size`), `candidates` (every window "
    "at or above the threshold), `nms` (each step: the box kept and the IoU of every box "
    "still in play), `passes` (forward passes), `seconds`, `target`, `settings` and "
    "`fully_convolutional` (the head rewritten as convolutions, and per size one pass over "
    "the scaled image: its map, its time, and how far it is from the sliding windows where "
    "they coincide). `format=png`: the image with the boxes drawn."
)


async def answer(
    result: detection.Detection,
    format: Annotated[
        Literal["json", "png"], Query(description="`json` (the maps) or `png` (the boxes)")
    ] = "json",
) -> Response:
    """The detection as JSON, or the image with its boxes as PNG (encoded off the compute
    pool)."""
    body = await run_in_threadpool(detection.encode, result, format)
    media = "image/png" if format == "png" else "application/json"
    return Response(body, media_type=media, headers={"x-image-id": result.image_id})


@job_endpoints(
    router,
    "/api/models/{name}/sliding-window",
    respond=answer,
    summary="Sliding-window detection of a class",
    description=DESCRIPTION,
    job_summary="Sliding-window detection as a job (for pages)",
    job_description="The same request as `POST /api/models/{name}/sliding-window`, started "
    "as a job: 202 with its `id`, `status`, `progress` and the URLs to follow it (`events`), "
    "cancel it (`DELETE url`) and fetch its `result` (`?format=json|png`).",
    openapi_extra=IMAGE_BODY,
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "image/png": {}}}, **MODEL_ERRORS},
)
async def sliding_window(
    network: NetworkDep,
    inputs: InputsDep,
    source: ImageForm,
    target: Annotated[
        int | None, Query(description="Class index; default the best class of any window")
    ] = None,
    sizes: Annotated[
        str | None,
        Query(max_length=100, description="Window sides in pixels, comma-separated (`224,160`)"),
    ] = None,
    stride: Annotated[int | None, Query(description="Pixels between windows (1–1024)")] = None,
    threshold: Annotated[
        float, Query(description="The least probability a box needs (0–1)")
    ] = detection.windows.THRESHOLD.default,
    iou: Annotated[
        float, Query(description="Suppression: remove boxes overlapping a kept one by more")
    ] = detection.IOU.default,
) -> Planned:
    """The request checked on a thread of its own (not behind the long jobs)."""
    request = await run_in_threadpool(
        detection.settings, network, sizes, stride, threshold, iou, target
    )
    image, key = await run_in_threadpool(detection.check, network, inputs.images, source, request)
    return Planned(key, detection.computation(network, image, request))


@router.get(
    "/api/scenes/{scene}",
    summary="A picture with several things in it",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "Unknown scene"}},
)
def scene(
    scene: Annotated[str, Path(max_length=40, description=", ".join(SCENES))],
) -> Response:
    """A scene for the detection page, as PNG: `cat-and-espresso` (Chelsea the cat on the
    left, an espresso cup on the right) or `digits` (three MNIST digits on a canvas)."""
    if scene not in SCENES:
        raise UnknownName("scene", scene, list(SCENES))
    return Response(scene_png(scene), media_type="image/png",
                    headers={"cache-control": "public, max-age=3600"})  # fmt: skip
