"""The lesson pages, in lecture order: the home page, images as numbers, the convolution
playground, kernels on photos, and the operations after convolution (1×1 convolution,
pooling, activation functions, transposed convolution). Each page gets its data from the
same service functions as its JSON endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import activations, images, kernels, operations
from app.web.deps import SettingsDep
from app.web.templates import render

router = APIRouter(include_in_schema=False)

#: The resize menu of the pixels page (longest side, in pixels).
PIXEL_SIZES = (256, 128, 64, 32, 16, 8)


@router.get("/")
def home(request: Request) -> Response:
    """The lessons in lecture order."""
    return render(request, "index.html")


@router.get("/pixels")
def pixels_page(request: Request, settings: SettingsDep) -> Response:
    """Images as numbers: a zoomable pixel grid, its channels and its gray levels."""
    payload = {"images": images.config(settings), "sizes": PIXEL_SIZES}
    return render(request, "pixels.html", {"title": "Images as numbers", "payload": payload})


@router.get("/kernels")
def kernels_page(request: Request, settings: SettingsDep) -> Response:
    """Kernels on photos: presets or your own kernel, per channel or on gray, with hover."""
    payload = {"images": images.config(settings), **kernels.config(settings)}
    return render(request, "kernels.html", {"title": "Kernels on photos", "payload": payload})


def operation_page(path: str, template: str, title: str, config: Callable[[], Any]) -> None:
    """An operation's page: its template with the data its JSON endpoints start from."""

    def page(request: Request) -> Response:
        return render(request, template, {"title": title, "payload": config()})

    page.__name__ = f"{template.removesuffix('.html')}_page"
    page.__doc__ = title
    router.add_api_route(path, page, methods=["GET"])


for _path, _title, _config in (
    ("/convolution", "Convolution, step by step", operations.convolution_config),
    ("/pooling", "Pooling, step by step", operations.pooling_config),
    ("/activations", "Activation functions", activations.config),
    ("/transposed", "Transposed convolution, step by step", operations.transposed_config),
    ("/pointwise", "1×1 convolution", operations.pointwise_config),
):
    operation_page(_path, f"{_path[1:]}.html", _title, _config)
