"""Shared pieces of the HTTP layer: the fast JSON response, templates and asset URLs.

Assets are linked as ``/static/<path>?v=<content hash>``: a versioned URL is cached by the
browser for a year, and changes whenever the file does.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app import __version__
from app.imagestore import ImageStore
from app.jobs import Jobs
from app.lessons import lessons_with_availability
from app.settings import Settings, get_settings
from app.vendor import vendor_url
from app.workers import ComputePool


def dumps(content: Any) -> bytes:
    """JSON bytes by orjson; numpy arrays are written natively (traces hold many numbers)."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class JSONBytes(Response):
    """A JSON response rendered by :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


@lru_cache(maxsize=512)
def _file_hash(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def make_templates(templates_dir: Path, static_dir: Path) -> Jinja2Templates:
    """Jinja2 templates with ``asset()`` and the lesson list available to every page."""
    templates = Jinja2Templates(directory=str(templates_dir))

    def asset(path: str) -> str:
        file = static_dir / path
        version = _file_hash(file, file.stat().st_mtime_ns) if file.is_file() else __version__
        return f"/static/{path}?v={version}"

    templates.env.globals["asset"] = asset
    templates.env.globals["vendor"] = vendor_url
    templates.env.globals["version"] = __version__
    return templates


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """Render a page template; every page gets ``lessons`` for the navigation."""
    state = request.app.state
    if getattr(state, "lessons", None) is None:  # the routes are fixed once the app runs
        state.lessons = lessons_with_availability(request.app.routes)
    page = {"lessons": state.lessons, **(context or {})}
    templates: Jinja2Templates = state.templates
    return templates.TemplateResponse(request, name, page, status_code=status_code)


def get_pool(request: Request) -> ComputePool:
    """The app's compute pool, created in ``lifespan`` (a FastAPI dependency)."""
    return request.app.state.pool


#: Handler parameter type for the compute pool: ``pool: Pool``.
Pool = Annotated[ComputePool, Depends(get_pool)]


def get_images(request: Request) -> ImageStore:
    """The app's image store: uploads by content hash, and the samples (a FastAPI dependency)."""
    return request.app.state.images


#: Handler parameter type for the image store: ``images: Images``.
Images = Annotated[ImageStore, Depends(get_images)]


def get_jobs(request: Request) -> Jobs:
    """The app's long computations, created in ``lifespan`` (a FastAPI dependency)."""
    return request.app.state.jobs


#: Handler parameter type for the jobs: ``jobs: JobsDep``.
JobsDep = Annotated[Jobs, Depends(get_jobs)]

#: Handler parameter type for the settings: ``settings: SettingsDep``.
SettingsDep = Annotated[Settings, Depends(get_settings)]
