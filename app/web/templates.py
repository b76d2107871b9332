"""Jinja2 pages: the templates with their globals, and :func:`render`.

Assets are linked as ``/static/<path>?v=<content hash>``: a versioned URL is cached by the
browser for a year, and changes whenever the file does.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app import __version__
from app.web.lessons import lessons_with_availability
from app.web.vendor import vendor_url


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
