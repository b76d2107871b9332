"""HTML pages of the model zoo: ``/networks`` (a card per model) and the explorer
``/networks/{name}``. They get their data from the same functions as ``/api/models``.

Each network has several views (this explorer; learned filters and saliency come from other
modules): :func:`network_tabs` lists those whose routes the app serves, so that a view
becomes a tab of every network page as soon as its router is included.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app import explorer
from app.lessons import available_paths
from app.nets.registry import ModelSpec, get_model_spec, list_models
from app.ops.conv import LIMITS as PLAYGROUND_LIMITS
from app.routers.images import images_config
from app.routers.models import model_dict, model_spec
from app.samples import SAMPLES
from app.web import SettingsDep, render

router = APIRouter(include_in_schema=False)

#: The views of one network: (slug, tab label, route). A view is a tab once its route exists.
NETWORK_VIEWS: tuple[tuple[str, str, str], ...] = (
    ("explorer", "Layer by layer", "/networks/{name}"),
    ("filters", "Learned filters", "/networks/{name}/filters"),
    ("saliency", "Saliency", "/networks/{name}/saliency"),
)

#: The explorer's bar chart shows every class up to this many, else the top TOP_K.
SHOW_ALL = 10
TOP_K = 5


def network_tabs(request: Request, name: str, current: str) -> list[dict[str, Any]]:
    """The views of network ``name`` the app serves, for ``templates/_network_nav.html``."""
    paths = available_paths(request.app.routes)
    return [
        {"slug": slug, "label": label, "href": route.format(name=name), "current": slug == current}
        for slug, label, route in NETWORK_VIEWS
        if route in paths
    ]


def takes_drawings(spec: ModelSpec) -> bool:
    """A model whose samples are all digits reads hand drawings (MNIST's preprocessing)."""
    by_file = {sample.file: sample for sample in SAMPLES.values()}
    return all(by_file[file].kind == "digit" for file in spec.samples)


def network_nav(request: Request, spec: ModelSpec, current: str) -> dict[str, Any]:
    """What ``_network_nav.html`` draws: the model menu and the view tabs."""
    return {
        "name": spec.name,
        "models": [{"name": n, "title": get_model_spec(n).title} for n in list_models()],
        "tabs": network_tabs(request, spec.name, current),
        "current": current,
    }


@router.get("/networks")
def networks_page(request: Request) -> Response:
    """The model zoo: a card per model."""
    cards = [model_dict(get_model_spec(name)) for name in list_models()]
    return render(request, "networks.html", {"title": "Networks, layer by layer", "cards": cards})


@router.get("/networks/{name}")
def network_page(request: Request, name: str, settings: SettingsDep) -> Response:
    """The explorer: architecture, input, prediction, feature maps, one unit's computation."""
    spec = model_spec(name)  # 404 naming the models
    info = model_dict(spec)
    payload = {
        "model": info,
        "architecture": explorer.architecture(spec.name),
        "images": images_config(settings),
        "default_image": info["sample_ids"][0],
        "drawable": takes_drawings(spec),
        "k": spec.num_classes if spec.num_classes <= SHOW_ALL else TOP_K,
        "labels": list(spec.labels) if spec.num_classes <= SHOW_ALL else None,
        "playground_limits": asdict(PLAYGROUND_LIMITS),  # the unit view links small units there
    }
    return render(
        request,
        "network.html",
        {
            "title": f"{spec.title}, layer by layer",
            "model": info,
            "architecture": payload["architecture"],
            "nav": network_nav(request, spec, "explorer"),
            "payload": payload,
        },
    )
