"""``/compare``: two trained classifiers of the zoo, or your own, on the same image. The two
networks are named in the URL (``?a=lenet5&b=simple-cnn``); choosing another loads the page again,
whose table of architecture figures is rendered here. The image, the methods and the
opacity live in the URL too, and the page computes each side's predictions and saliency
maps with the networks' own endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.services.compare import DEFAULT_PAIR, comparable_network, compare_page
from app.web.deps import Device, SettingsDep
from app.web.templates import render

router = APIRouter(include_in_schema=False)

Name = Annotated[str, Query(max_length=100, description="a network of the zoo, or your own")]


@router.get("/compare")
def compare(
    request: Request,
    settings: SettingsDep,
    device: Device,
    a: Name = DEFAULT_PAIR[0],
    b: Name = DEFAULT_PAIR[1],
) -> Response:
    """Two networks side by side."""
    first, second = comparable_network(a, device), comparable_network(b, device)
    data = compare_page(first, second, settings, device)
    title = f"{first.title} and {second.title}, side by side"
    return render(request, "compare.html", {"title": title, "payload": data})
