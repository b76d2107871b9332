"""The saliency page ``/networks/{name}/saliency``: a row per method, a column per target
class, each cell the picture with its map over it. The page gets its data from the same
functions as ``/api/models/{name}/saliency`` (methods, settings, layers) and computes the
maps through ``POST /api/models/{name}/saliency/jobs`` (static/js/saliency.js).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.web.api.images import images_config
from app.web.api.models import model_dict, model_spec
from app.web.api.saliency import methods_info
from app.web.deps import SettingsDep
from app.web.pages.networks import network_nav
from app.web.templates import render

router = APIRouter(include_in_schema=False)

#: Methods shown when the URL names none: fast ones (the long ones are a tick away).
DEFAULT_METHODS = ("gradient", "grad-cam")
#: Sample a page opens on, per kind of model (the cat for photos, a 3 for digits).
DEFAULT_SAMPLES = ("sample-chelsea", "sample-mnist-3")


@router.get("/networks/{name}/saliency")
def saliency_page(request: Request, name: str, settings: SettingsDep) -> Response:
    """Saliency maps of one network: methods side by side, two target classes."""
    spec = model_spec(name)  # 404 naming the models
    info = model_dict(spec)
    default_image = next(
        (sid for sid in DEFAULT_SAMPLES if sid in info["sample_ids"]), info["sample_ids"][0]
    )
    payload = {
        "model": info,
        **methods_info(spec.name),
        "images": images_config(settings),
        "default_image": default_image,
        "default_methods": list(DEFAULT_METHODS),
    }
    return render(
        request,
        "saliency.html",
        {
            "title": f"{spec.title}: saliency",
            "model": info,
            "methods": payload["methods"],
            "nav": network_nav(request, spec, "saliency"),
            "payload": payload,
        },
    )
