"""HTML pages. Each page gets its data from the same functions as its JSON endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.web.api.convolution import playground_config
from app.web.api.images import images_config
from app.web.api.kernels import kernels_config
from app.web.deps import SettingsDep
from app.web.templates import render

router = APIRouter(include_in_schema=False)


#: The resize menu of the pixels page (longest side, in pixels).
PIXEL_SIZES = (256, 128, 64, 32, 16, 8)


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


@router.get("/pixels")
def pixels_page(request: Request, settings: SettingsDep) -> Response:
    """Images as numbers: a zoomable pixel grid, its channels and its gray levels."""
    payload = {"images": images_config(settings), "sizes": PIXEL_SIZES}
    return render(request, "pixels.html", {"title": "Images as numbers", "payload": payload})


@router.get("/kernels")
def kernels_page(request: Request, settings: SettingsDep) -> Response:
    """Kernels on photos: presets or your own kernel, per channel or on gray, with hover."""
    payload = {"images": images_config(settings), **kernels_config(settings)}
    return render(request, "kernels.html", {"title": "Kernels on photos", "payload": payload})
