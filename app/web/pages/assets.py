"""``/vendor/*`` (Plotly.js, Swagger UI from installed packages) and the offline ``/docs`` page."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response

from app.web.middleware import IMMUTABLE
from app.web.templates import render
from app.web.vendor import VENDOR, load

router = APIRouter(include_in_schema=False)


@router.get("/vendor/{name}")
def vendor(name: str, request: Request) -> Response:
    """A vendor file, gzipped when the browser accepts it, cached for a year."""
    if name not in VENDOR:
        raise HTTPException(404, f"There is no vendor file {name!r}")
    raw, packed = load(name)
    headers = {"cache-control": IMMUTABLE, "vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
        return Response(packed, media_type=VENDOR[name].media_type, headers=headers)
    return Response(raw, media_type=VENDOR[name].media_type, headers=headers)


@router.get("/docs")
def docs(request: Request) -> Response:
    """The OpenAPI page (Swagger UI), served entirely by this app, no CDN."""
    return render(request, "docs.html", {"title": "API reference"})
