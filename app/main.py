"""Assemble the app: settings, middleware, error handlers, static files and routers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware

from app import __version__
from app.images.store import ImageStore
from app.nets.registry import get_model, list_models
from app.nets.summary import model_summary
from app.runtime.cache import LRUCache
from app.runtime.device import resolve_device
from app.runtime.jobs import Jobs
from app.runtime.workers import ComputePool
from app.services.explorer import Inputs
from app.settings import Settings, get_settings
from app.web import api, errors, pages
from app.web.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware, VersionedStaticFiles
from app.web.responses import PICTURES_JSON
from app.web.templates import make_templates


def preload_models(device: torch.device, stop: threading.Event | None = None) -> None:
    """Build every model of the zoo on ``device`` and its architecture table, once; between
    two models, give up if ``stop`` is set (the app is shutting down)."""
    for name in list_models():
        if stop is not None and stop.is_set():
            return
        get_model(name, device)
        model_summary(name)


def create_app(settings: Settings | None = None) -> FastAPI:
    """A configured convscope app (``settings`` defaults to the environment's)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.device = resolve_device(settings.device)
        app.state.pool = ComputePool(
            settings.compute_workers,
            settings.compute_queue,
            settings.retry_after_s,
            settings.torch_threads,
        )
        app.state.jobs = Jobs(
            app.state.pool,
            max_active=settings.jobs_max_active,
            result_items=settings.job_results,
            result_bytes=settings.job_result_bytes,
            abandon_after_s=settings.job_abandon_after_s,
        )
        stop = threading.Event()
        preload = threading.Thread(
            target=preload_models,
            args=(app.state.device, stop),
            name="convscope-preload",
            daemon=True,
        )
        if settings.preload_models:
            preload.start()
        try:
            yield
        finally:
            # A process that exits while torch builds a model in another thread aborts
            # ("terminate called without an active exception"): let that model finish.
            stop.set()
            if preload.is_alive():
                preload.join(timeout=60)
            app.state.pool.shutdown()

    app = FastAPI(
        title="convscope",
        version=__version__,
        description="Step-by-step traces of the operations inside convolutional networks.",
        lifespan=lifespan,
        docs_url=None,  # served by app.routers.assets, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.images = ImageStore(
        max_items=settings.image_cache_items,
        max_bytes=settings.image_cache_bytes,
        max_pixels=settings.max_image_pixels,
        sample_dir=settings.static_dir / "samples",
    )
    app.state.kernel_outputs = LRUCache(64, settings.kernel_cache_bytes)  # for the hover detail
    app.state.model_inputs = Inputs(
        settings.model_input_cache_items, settings.model_input_cache_bytes
    )
    app.state.lessons = None  # filled on first render, once every router is included
    app.state.templates = make_templates(settings.templates_dir, settings.static_dir)

    # Last added runs first: security headers wrap everything, then gzip, then body limits.
    app.add_middleware(
        BodyLimitMiddleware, default=settings.max_json_bytes, by_prefix=settings.upload_paths()
    )
    app.add_middleware(  # fast; traces shrink 5×; pictures (PNG, and JSON of PNGs) are not redone
        GZipMiddleware,
        minimum_size=1000,
        compresslevel=1,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, PICTURES_JSON),
    )
    app.add_middleware(SecurityHeadersMiddleware)
    errors.install(app)

    app.mount("/static", VersionedStaticFiles(directory=settings.static_dir), name="static")
    for router in (*pages.ROUTERS, *api.ROUTERS):
        app.include_router(router)
    return app
