"""Error answers a person can read: every 4xx/5xx has a ``detail`` sentence naming the problem.

Computation raises ``ValueError`` naming the bad value; routers turn it into 422. This
module turns framework errors (invalid JSON, missing fields, oversized bodies, a full worker
pool) into the same shape, and serves HTML error pages to browsers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.images.intake import ImageTooLarge, UnsupportedImage
from app.images.store import UnknownImage
from app.runtime.workers import PoolBusy
from app.web.responses import JSONBytes
from app.web.templates import render

#: The error answers every computing endpoint documents in OpenAPI.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body too large"},
    422: {"description": "Invalid input; `detail` says what is wrong"},
    503: {"description": "Server busy; retry after `Retry-After` seconds"},
}

#: Image intake errors whose status is not 422: the format (415) and the size (413).
_STATUS_BY_ERROR: tuple[tuple[type[ValueError], int], ...] = (
    (UnsupportedImage, 415),
    (ImageTooLarge, 413),
)


def unprocessable(error: ValueError) -> HTTPException:
    """A computation's ``ValueError`` as a 422 whose detail is the error's sentence.

    The image intake's refusals keep their own status: an unsupported format is 415, too
    many pixels 413 (:mod:`app.images.intake`).
    """
    for kind, status in _STATUS_BY_ERROR:
        if isinstance(error, kind):
            return HTTPException(status_code=status, detail=str(error))
    return HTTPException(status_code=422, detail=str(error))


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    where = ".".join(loc)
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "JSON decode error")
        return (
            f"The request body is not valid JSON ({reason} at character {loc[0] if loc else '?'})"
        )
    if kind == "missing":
        return f"{where} is required" if where else "A request body is required"
    if kind == "extra_forbidden":
        return f"Unknown field {where!r}"
    if not where:
        if kind in {"model_attributes_type", "dict_type"}:
            return "The request body must be a JSON object"
        return str(error.get("msg", "Invalid request"))
    return f"{where}: {error.get('msg', 'invalid value')}"


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    """422 with one readable sentence (up to three problems) plus the raw errors."""
    errors = list(exc.errors())
    sentences = [_describe(e) for e in errors[:3]]
    if len(errors) > 3:
        sentences.append(f"and {len(errors) - 3} more problems")
    safe = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in errors[:20]
    ]
    return JSONBytes({"detail": "; ".join(sentences), "errors": safe}, status_code=422)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON ``{"detail": ...}`` for the API, a small HTML page for browsers."""
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}"
    elif exc.status_code == 405 and detail == "Method Not Allowed":
        detail = f"{request.method} is not allowed on {request.url.path}"
    headers = getattr(exc, "headers", None)
    if _wants_html(request):
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "detail": detail},
            status_code=exc.status_code,
        )
    return JSONBytes({"detail": detail}, status_code=exc.status_code, headers=headers)


async def pool_busy(request: Request, exc: PoolBusy) -> Response:
    """503 with Retry-After when the compute queue is full."""
    return JSONBytes(
        {"detail": f"The server is busy with other requests; try again in {exc.retry_after} s"},
        status_code=503,
        headers={"Retry-After": str(exc.retry_after)},
    )


async def unknown_image(request: Request, exc: UnknownImage) -> Response:
    """404 naming the image id, wherever an unknown or evicted id is looked up."""
    return await http_error(request, HTTPException(404, detail=str(exc)))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(UnknownImage, unknown_image)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(PoolBusy, pool_busy)  # type: ignore[arg-type]
