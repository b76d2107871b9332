"""HTML pages for the operations after convolution: pooling, activation functions, transposed
convolution and 1×1 convolution. Each gets its data from the same functions as its JSON
endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.web.api.activations import activations_config
from app.web.api.pointwise import pointwise_config
from app.web.api.pooling import pooling_config
from app.web.api.transposed import transposed_config
from app.web.templates import render

router = APIRouter(include_in_schema=False)


@router.get("/pooling")
def pooling_page(request: Request) -> Response:
    """Max, average and sum pooling, step by step, and the shift demonstration."""
    return render(
        request, "pooling.html", {"title": "Pooling, step by step", "payload": pooling_config()}
    )


@router.get("/activations")
def activations_page(request: Request) -> Response:
    """Activation functions, their derivatives, maxout, and a feature map before and after."""
    return render(
        request,
        "activations.html",
        {"title": "Activation functions", "payload": activations_config()},
    )


@router.get("/transposed")
def transposed_page(request: Request) -> Response:
    """Transposed convolution: stamping and zero insertion side by side."""
    return render(
        request,
        "transposed.html",
        {"title": "Transposed convolution, step by step", "payload": transposed_config()},
    )


@router.get("/pointwise")
def pointwise_page(request: Request) -> Response:
    """1×1 convolution as a per-pixel mix of channels."""
    return render(
        request,
        "pointwise.html",
        {"title": "1×1 convolution", "payload": pointwise_config()},
    )
