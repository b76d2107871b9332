"""Error answers a person can read: every 4xx/5xx has a ``detail`` sentence naming the problem.

The one place where errors become HTTP answers; no router catches them. The computation
raises the domain's exceptions, each with a sentence naming the bad value and the limit:

=====================================  ======  =========================================
exception                              status  meaning
=====================================  ======  =========================================
``ValueError``, ``OverflowError``      422     a bad value or setting; a number too large
``UnsupportedImage`` (a ValueError)    415     not an accepted image format
``ImageTooLarge`` (a ValueError)       413     too many pixels
``UnknownName`` (a ValueError)         404     no such model or layer (the known ones listed)
``UnknownImage``, ``UnknownJob``       404     an id the server does not have (any more)
``Cancelled``                          499     the client went away, or cancelled
``PoolBusy``                           503     the compute queue is full (``Retry-After``)
=====================================  ======  =========================================

Framework errors (invalid JSON, missing fields, oversized bodies) get the same shape, and
browsers asking for a page get a small HTML error page instead of JSON.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.explain.progress import Cancelled
from app.images.intake import ImageTooLarge, UnsupportedImage
from app.images.store import UnknownImage
from app.nets.names import UnknownName
from app.runtime.jobs import UnknownJob
from app.runtime.workers import PoolBusy
from app.web.responses import JSONBytes
from app.web.templates import render

#: The error answers every computing endpoint documents in OpenAPI.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body too large"},
    422: {"description": "Invalid input; `detail` says what is wrong"},
    503: {"description": "Server busy; retry after `Retry-After` seconds"},
}
#: A model endpoint's 404.
NOT_FOUND = {"description": "Unknown model or layer (the `detail` lists the valid ones), or "
             "an unknown or evicted image id (upload it again)"}  # fmt: skip
#: What every model endpoint documents.
MODEL_ERRORS: dict[int | str, dict[str, Any]] = {404: NOT_FOUND, **ERROR_RESPONSES}
#: What an endpoint that reads an uploaded image documents besides.
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed multipart body, or too many parts"},
    415: {"description": "Not multipart/form-data, or not an accepted image format"},
}

#: Statuses of the domain's exceptions, most specific first (see the module's docstring).
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnsupportedImage, 415),
    (ImageTooLarge, 413),
    (UnknownName, 404),
    (UnknownImage, 404),
    (UnknownJob, 404),
    (Cancelled, 499),
    (ValueError, 422),
    (OverflowError, 422),  # a stray huge integer the checks missed: still the client's
)
#: A run of digits this long in a sentence is shortened: a detail never echoes a 4,300-digit
#: integer back.
LONG_NUMBER = re.compile(r"\d{21,}")


def readable(detail: str) -> str:
    """``detail`` with every huge number shortened (``123456…7890 (400 digits)``)."""
    return LONG_NUMBER.sub(lambda m: f"{m[0][:6]}…{m[0][-4:]} ({len(m[0])} digits)", detail)


def status_of(error: Exception) -> int:
    """The HTTP status of a domain exception (500 for anything else: a bug)."""
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def _loc(error: dict[str, Any]) -> list[Any]:
    """Where a validation error is, each part cut to 40 characters (a field's name is the
    client's: it is never echoed whole)."""
    return [part if isinstance(part, int) else _cut(str(part)) for part in error.get("loc", ())]


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(error: dict[str, Any]) -> str:
    loc = [str(part) for part in _loc(error) if part != "body"]
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
    safe = [{"loc": _loc(e), "msg": e.get("msg"), "type": e.get("type")} for e in errors[:20]]
    return JSONBytes({"detail": readable("; ".join(sentences)), "errors": safe}, status_code=422)


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
    if isinstance(detail, str):
        detail = readable(detail)
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


async def domain_error(request: Request, exc: Exception) -> Response:
    """The domain's exceptions as their status (:data:`STATUS`) with their sentence."""
    if isinstance(exc, Cancelled):
        detail = f"Stopped: {exc}"
    elif isinstance(exc, OverflowError):
        detail = "A number in the request is too large for this computation"
    else:
        detail = str(exc)
    return await http_error(request, HTTPException(status_of(exc), detail=detail))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(PoolBusy, pool_busy)  # type: ignore[arg-type]
    for kind, _ in STATUS:
        app.add_exception_handler(kind, domain_error)
