"""Jinja2 pages: the templates with their globals, and :func:`render`.

Assets are linked as ``/static/<path>?v=<content hash>``: a versioned URL is cached by the
browser for a year, and changes whenever the file does.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from app import __version__
from app.web.lessons import lessons_with_availability
from app.web.vendor import vendor_url


@lru_cache(maxsize=512)
def _file_hash(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _json(value: Any, **options: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS).decode()


class _TableCache:
    """``architecture_table(architecture, maps)`` of ``_architecture_table.html``, rendered
    once per architecture (its dict is the same object for every page of a network: the
    pages' data is kept, ``app.web.pages.networks.payload``). EfficientNet's 260 rows were
    most of its explorer page's render time. Checked by identity; the last 32 are kept."""

    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates
        self.kept: OrderedDict[tuple[int, bool], tuple[Any, Markup]] = OrderedDict()
        self.lock = threading.Lock()

    def __call__(self, architecture: Any, maps: bool = False) -> Markup:
        key = (id(architecture), bool(maps))
        with self.lock:
            hit = self.kept.get(key)
        if hit is not None and hit[0] is architecture:
            return hit[1]
        macro = self.templates.env.get_template("_architecture_table.html").module
        html = Markup(macro.architecture_table(architecture, maps=maps))  # type: ignore[attr-defined]
        with self.lock:
            self.kept[key] = (architecture, html)
            while len(self.kept) > 32:
                self.kept.popitem(last=False)
        return html


def make_templates(templates_dir: Path, static_dir: Path) -> Jinja2Templates:
    """Jinja2 templates with ``asset()`` and the lesson list available to every page."""
    templates = Jinja2Templates(directory=str(templates_dir))

    def asset(path: str) -> str:
        file = static_dir / path
        version = _file_hash(file, file.stat().st_mtime_ns) if file.is_file() else __version__
        return f"/static/{path}?v={version}"

    # ``|tojson`` through orjson (Jinja escapes <, >, & and ' after it): pages embed their
    # data as JSON, and the standard library's encoder was most of a page's render time
    templates.env.policies["json.dumps_function"] = _json
    templates.env.globals["asset"] = asset
    templates.env.globals["architecture_table"] = _TableCache(templates)
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
