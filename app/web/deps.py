"""The HTTP layer's shared dependencies: what a handler may ask for by type.

Everything here is made once in :func:`app.main.create_app` (``app.state``) and handed to
handlers as ``Annotated`` types (``pool: Pool``, ``images: Images``, ...), as the FastAPI
full-stack template's ``deps.py`` does. Routers import this module, never each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.images.store import ImageStore
from app.runtime.jobs import Jobs
from app.runtime.workers import ComputePool
from app.settings import Settings


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
