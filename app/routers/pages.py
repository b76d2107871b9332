"""HTML pages. Each page gets its data from the same functions as its JSON endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.routers.convolution import playground_config
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request) -> Response:
    """The lessons in lecture order."""
    return render(request, "index.html")


@router.get("/convolution")
def convolution_page(request: Request) -> Response:
    """The convolution playground."""
    return render(
        request,
        "convolution.html",
        {"title": "Convolution, step by step", "payload": playground_config()},
    )
