"""The learned-filters page of a network, ``/networks/{name}/filters``: per convolution layer
a gallery of its filters, one filter's numbers and the map it makes on an image, what a
channel responds to (activation maximisation) and, for the digit models, the nine digits
that excite it most. Its data comes from the same functions as ``app.routers.filters``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.explain.maximize import PARAMS
from app.explain.topdigits import TOP
from app.nets.labels import DIGITS
from app.services import filters as filterviews
from app.web.api.images import images_config
from app.web.api.models import model_dict, model_spec
from app.web.deps import SettingsDep
from app.web.pages.networks import network_nav
from app.web.templates import render

router = APIRouter(include_in_schema=False)

#: Activation maximisation's steps as the page starts it: half the API's default (128), at
#: the model's input size (a deep EfficientNet-Lite0 step at 224×224 is ~50 ms on 2 cores:
#: ~3 s in all; see the benchmark).
PAGE_STEPS = 64


def maximize_config(input_shape: list[int]) -> dict[str, Any]:
    """The settings the page offers, with their bounds, and what it starts with."""
    params = {
        p.name: {"minimum": p.minimum, "maximum": p.maximum, "default": p.default, "doc": p.doc}
        for p in PARAMS
        if p.kind is not str
    }
    return {"params": params, "steps": PAGE_STEPS, "size": input_shape[-1]}


@router.get("/networks/{name}/filters")
def filters_page(request: Request, name: str, settings: SettingsDep) -> Response:
    """Galleries of the learned filters, a filter's numbers and map, what a channel likes."""
    spec = model_spec(name)  # 404 naming the models
    info = model_dict(spec)
    payload = {
        "model": info,
        "layers": filterviews.layers_result(spec.name)["layers"],
        "images": images_config(settings),
        "default_image": info["sample_ids"][0],
        "digits": spec.labels == DIGITS,
        "top": TOP,
        "maximize": maximize_config(info["input_shape"]),
    }
    return render(
        request,
        "filters.html",
        {
            "title": f"{spec.title}, learned filters",
            "model": info,
            "nav": network_nav(request, spec, "filters"),
            "payload": payload,
        },
    )
