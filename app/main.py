"""Assemble the app: settings, what it computes with, middleware, error handlers, static
files and routers. Nothing here computes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from app import __version__
from app.images.store import ImageStore
from app.runtime.cache import LRUCache
from app.runtime.lifecycle import running
from app.runtime.state import shared_state
from app.runtime.workers import Cores
from app.services.answers import Answers
from app.services.inputs import Inputs
from app.services.training.lab import training_lab
from app.settings import Settings, get_settings
from app.web import api, errors, pages
from app.web.jobs import install_replan
from app.web.middleware import (
    BodyLimitMiddleware,
    RequestGauge,
    SameOriginMiddleware,
    SecurityHeadersMiddleware,
    VersionedStaticFiles,
)
from app.web.responses import PICTURES_JSON
from app.web.templates import make_templates


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured convscope app (``settings`` defaults to the environment's)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with running(app.state, settings), training_lab(app.state, settings):
            install_replan(app)  # shared jobs: a replica picks up a dead one's jobs
            yield

    app = FastAPI(
        title="convscope",
        version=__version__,
        description="Step-by-step traces of the operations inside convolutional networks.",
        lifespan=lifespan,
        docs_url=None,  # served by app.web.pages.assets, without a CDN
        redoc_url=None,
    )
    state = app.state
    state.settings = settings
    state.shared = shared_state(settings)  # Redis for replicas (CONVSCOPE_REDIS_URL), or None
    state.images = ImageStore(
        max_items=settings.image_cache_items,
        max_bytes=settings.image_cache_bytes,
        max_pixels=settings.max_image_pixels,
        sample_dir=settings.static_dir / "samples",
        shared=state.shared,
    )
    state.kernel_outputs = LRUCache(64, settings.kernel_cache_bytes)  # for the hover detail
    state.model_inputs = Inputs(
        state.images, settings.model_input_cache_items, settings.model_input_cache_bytes
    )
    state.answers = Answers(
        settings.answer_cache_items, settings.answer_cache_bytes, shared=state.shared
    )
    #: torch's threads per computation, by what runs (both lanes) and the requests in flight
    state.cores = Cores(settings.torch_threads, settings.torch_threads_alone)
    state.lessons = None  # filled on first render, once every router is included
    state.templates = make_templates(settings.templates_dir, settings.static_dir)

    # Last added runs first: the request count, security headers wrap everything, then
    # same-origin writes, gzip, body limits.
    app.add_middleware(
        BodyLimitMiddleware, default=settings.max_json_bytes, by_prefix=settings.upload_paths()
    )
    app.add_middleware(  # fast; traces shrink 5×; pictures (PNG, and JSON of PNGs) are not redone
        GZipMiddleware,
        minimum_size=1000,
        compresslevel=1,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, PICTURES_JSON),
    )
    app.add_middleware(SameOriginMiddleware)  # before any body is read
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestGauge, cores=state.cores)
    errors.install(app)

    app.mount("/static", VersionedStaticFiles(directory=settings.static_dir), name="static")
    for router in (*pages.ROUTERS, *api.ROUTERS):
        app.include_router(router)
    return app
