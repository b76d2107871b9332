"""The training lab's page, ``/training``: train a network from scratch in the browser and
watch it learn; two runs on the same axes. Its data comes from the same service function as
``GET /api/training`` (:func:`app.services.training.page.config`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services.training import page
from app.web.deps import SettingsDep
from app.web.templates import render

router = APIRouter(include_in_schema=False)


@router.get("/training")
def training_page(request: Request, settings: SettingsDep) -> Response:
    """Watch a network learn: loss, accuracy, gradients by layer, filters, predictions."""
    payload = page.config(settings)
    return render(request, "training.html", {"title": "Watch a network learn", "payload": payload})
