"""The HTTP layer's shared dependencies: what a handler may ask for by type.

Everything here is made once in :func:`app.main.create_app` (``app.state``) and handed to
handlers as ``Annotated`` types (``pool: Pool``, ``images: Images``, ...), as the FastAPI
full-stack template's ``deps.py`` does. Routers import this module, never each other.
"""

from __future__ import annotations

from typing import Annotated

import torch
from fastapi import Depends, Path, Query, Request

from app.images.colormaps import Scheme
from app.images.store import ImageSource, ImageStore
from app.nets.network import Network
from app.nets.registry import ModelSpec, get_model_spec, get_network
from app.runtime.jobs import Jobs
from app.runtime.workers import ComputePool
from app.services.answers import Answers
from app.services.inputs import Inputs
from app.settings import Settings
from app.web.uploads import read_form


def get_pool(request: Request) -> ComputePool:
    """The app's compute pool, created in ``lifespan``."""
    return request.app.state.pool


#: Handler parameter type for the compute pool: ``pool: Pool``.
Pool = Annotated[ComputePool, Depends(get_pool)]


def get_images(request: Request) -> ImageStore:
    """The app's image store: uploads by content hash, and the samples."""
    return request.app.state.images


#: Handler parameter type for the image store: ``images: Images``.
Images = Annotated[ImageStore, Depends(get_images)]


def get_jobs(request: Request) -> Jobs:
    """The app's long computations, created in ``lifespan``."""
    return request.app.state.jobs


#: Handler parameter type for the jobs: ``jobs: JobsDep``.
JobsDep = Annotated[Jobs, Depends(get_jobs)]


def get_app_settings(request: Request) -> Settings:
    """The app's settings (``create_app(settings)``).

    Read from ``app.state`` rather than by overriding ``get_settings``: while an app has any
    ``dependency_overrides``, FastAPI analyses every dependency's signature again on every
    request (about 1 ms per query parameter of a dependency)."""
    return request.app.state.settings


#: Handler parameter type for the settings: ``settings: SettingsDep``.
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_device(request: Request) -> torch.device:
    """The device computations run on (``--device``: CUDA, Apple MPS or CPU)."""
    return request.app.state.device


#: Handler parameter type for the device: ``device: Device``.
Device = Annotated[torch.device, Depends(get_device)]


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

#: The viewer's colour scheme for pictures the server colours (feature maps, filter
#: galleries): ``colors=standard`` or ``colors=safe`` (colour-blind safe); another is a 422
#: naming both.
Colors = Annotated[
    Scheme,
    Query(
        description="`standard`: blue–white–red and white–blue; `safe`: colour-blind safe "
        "(purple–white–orange and viridis), as the pages' colour-map choice"
    ),
]


def get_spec(name: ModelName) -> ModelSpec:
    """What the zoo says about model ``name`` (no weights loaded); 404 naming the models."""
    return get_model_spec(name)


#: Handler parameter type for a model's description: ``spec: Spec``.
Spec = Annotated[ModelSpec, Depends(get_spec)]


def get_network_dep(name: ModelName, device: Device) -> Network:
    """Model ``name`` on the app's device (built once; run in a worker thread, as every
    plain ``def`` dependency is, so the event loop never waits for weights)."""
    return get_network(name, device)


#: Handler parameter type for the network of the URL's ``{name}``: ``network: NetworkDep``.
NetworkDep = Annotated[Network, Depends(get_network_dep)]


def get_inputs(request: Request) -> Inputs:
    """Images preprocessed per network, shared by the requests about one image."""
    return request.app.state.model_inputs


#: Handler parameter type for the preprocessed inputs: ``inputs: InputsDep``.
InputsDep = Annotated[Inputs, Depends(get_inputs)]


async def read_image_form(request: Request, settings: SettingsDep) -> ImageSource:
    """The image of a multipart body: a file in the field ``image`` or an ``image_id``
    (400 for a malformed body, 413 for a file over the upload limit)."""
    upload, fields = await read_form(
        request,
        field_name="image",
        max_bytes=settings.max_upload_bytes,
        max_parts=settings.max_upload_parts,
    )
    return ImageSource(upload.data if upload else None, fields.get("image_id", "").strip())


#: Handler parameter type for an image sent as a file or named by id: ``source: ImageForm``.
ImageForm = Annotated[ImageSource, Depends(read_image_form)]


def get_answers(request: Request) -> Answers:
    """Answers computed once and sent from memory after (predictions, maps, units)."""
    return request.app.state.answers


#: Handler parameter type for the answers: ``answers: AnswersDep``.
AnswersDep = Annotated[Answers, Depends(get_answers)]
