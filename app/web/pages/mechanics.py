"""The pages of the lecture's remaining mechanics: from a dense layer to a convolution, and
normalisation. Each gets its data from :mod:`app.services.mechanics`, as its endpoint does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import mechanics
from app.web.templates import render

router = APIRouter(include_in_schema=False)


@router.get("/dense-to-convolution")
def dense_page(request: Request) -> Response:
    """A dense layer made a convolution by translation invariance and locality."""
    payload = mechanics.dense_config()
    title = "From a dense layer to a convolution"
    return render(request, "dense.html", {"title": title, "payload": payload})


@router.get("/normalisation")
def normalisation_page(request: Request) -> Response:
    """BatchNorm, LayerNorm, GroupNorm and InstanceNorm on a batch of feature maps."""
    payload = mechanics.normalization_config()
    return render(request, "normalisation.html", {"title": "Normalisation", "payload": payload})
