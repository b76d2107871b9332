"""``/networks/{name}/architecture``: a network's architecture as figures and a table: its
blocks with their residual and skip connections, where its parameters and its compute
are, how its receptive field grows with depth, the lecture's "how many layers shrink
224×224 to 4×4?", and every layer's row. Drawn from the spec's architecture summary,
traced without weights, so an untrained VGG-16 or U-Net is never built for it; the page
says plainly when a network is untrained (random weights)."""

from __future__ import annotations

from typing import Any

import torch
from fastapi import APIRouter, Request
from starlette.responses import Response

from app.nets.registry import ModelSpec, get_model_spec, get_network, list_models
from app.services import architecture_figures as figures
from app.services.architecture import table
from app.services.networks import card
from app.web.deps import Device, Spec
from app.web.pages.networks import ARCHITECTURE, network_tabs
from app.web.templates import render

router = APIRouter(include_in_schema=False)
ROUTE = ARCHITECTURE.route
#: The lecture's question, as the page first asks it.
SHRINK_QUESTION = {"size": 224, "kernel": 5, "stride": 1, "padding": 0, "target": 4}


def architecture_page(spec: ModelSpec) -> dict[str, Any]:
    """The page's data: the model's card, its table (every row) and the figures."""
    summary = spec.summary
    shown = table(summary)
    del shown["layers"]  # the module rows again: the page shows every row (``nodes``)
    return {
        "model": card(spec),
        "architecture": shown,
        "blocks": figures.blocks(summary),
        "by_kind": figures.by_kind(summary),
        "field_growth": figures.field_growth(summary),
        "shrink": figures.shrink(**SHRINK_QUESTION),
    }


def nav(request: Request, spec: ModelSpec, device: torch.device) -> dict[str, Any]:
    """The model menu and view tabs (an untrained network has this view only; a trained
    one is loaded already, at the app's start)."""
    if spec.trained:
        tabs = network_tabs(request, spec.name, "architecture", get_network(spec.name, device))
    else:
        tabs = [t for t in network_tabs(request, spec.name, "architecture") if t["current"]]
    models = [get_model_spec(n) for n in list_models()]
    return {
        "name": spec.name,
        "models": [{"name": m.name, "title": m.title, "trained": m.trained} for m in models],
        "tabs": tabs,
        "current": "architecture",
        "trained": spec.trained,
    }


@router.get(ROUTE)
def page(request: Request, spec: Spec, device: Device) -> Response:
    """A network's architecture, in figures and a table."""
    data = architecture_page(spec)
    context = {
        "title": f"{spec.title}: architecture",
        "model": data["model"],
        "nav": nav(request, spec, device),
        "architecture": data["architecture"],
        "payload": data,
    }
    return render(request, "architecture.html", context)
