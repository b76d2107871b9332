"""The pages of the model zoo: ``/networks`` (a card per model) and each network's views,
the explorer ``/networks/{name}``, its learned filters and its saliency maps. They get their
data from the same service functions as ``/api/models`` (:mod:`app.services.networks`).

A view is a tab of every network page as soon as its route exists (:func:`network_tabs`),
so a new view appears in the navigation by being served. The architecture page
(:mod:`app.web.pages.architecture`) is every network's last tab; an untrained network
(random weights) has no other: its other views redirect there.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from app.explain.segmentation import is_segmenter
from app.nets.network import Network
from app.nets.registry import get_model_spec, get_network, list_models
from app.services import detection, networks, segmentation
from app.settings import Settings
from app.web.deps import Device, SettingsDep, Spec
from app.web.lessons import available_paths
from app.web.templates import render

router = APIRouter(include_in_schema=False)


class View(NamedTuple):
    """One view of a network: its tab, route and template, and where its data comes from."""

    slug: str
    label: str  # the tab's
    route: str
    template: str
    title: str  # the page's, with the network's title for {title}
    payload: Callable[[Network, Settings], dict[str, Any]]
    #: Which networks have this view (None: every one); a tab only where it applies.
    applies: Callable[[Network], bool] | None = None


#: The views of one network, in tab order. A view is a tab once its route exists.
NETWORK_VIEWS: tuple[View, ...] = (
    View("explorer", "Layer by layer", "/networks/{name}", "network.html",
         "{title}, layer by layer", networks.explorer_page),
    View("filters", "Learned filters", "/networks/{name}/filters", "filters.html",
         "{title}, learned filters", networks.filters_page),
    View("saliency", "Saliency", "/networks/{name}/saliency", "saliency.html",
         "{title}: saliency", networks.saliency_page, lambda n: not is_segmenter(n)),
    View("segment", "Segmentation", "/networks/{name}/segment", "segment.html",
         "{title}: segmentation", segmentation.segment_page, is_segmenter),
    View("detect", "Detection", "/networks/{name}/detect", "detect.html",
         "{title}: detection", detection.detect_page, detection.is_classifier),
)  # fmt: skip
#: The architecture page's tab (served from the spec alone, by app/web/pages/architecture.py).
ARCHITECTURE = View("architecture", "Architecture", "/networks/{name}/architecture",
                    "architecture.html", "{title}: architecture", lambda n, s: {})  # fmt: skip


def network_tabs(
    request: Request, name: str, current: str, network: Network | None = None
) -> list[dict[str, Any]]:
    """The views of network ``name`` the app serves (those that apply to ``network``, when
    given), for ``templates/_network_nav.html``."""
    paths = available_paths(request.app.routes)
    return [
        {
            "slug": view.slug,
            "label": view.label,
            "href": view.route.format(name=name),
            "current": view.slug == current,
        }
        for view in (*NETWORK_VIEWS, ARCHITECTURE)
        if view.route in paths and (network is None or applies(view, network))
    ]


def applies(view: View, network: Network) -> bool:
    """Whether ``network`` has ``view`` (a classifier has no segmentation, and so on)."""
    return view.applies is None or view.applies(network)


def network_nav(request: Request, network: Network, current: str) -> dict[str, Any]:
    """What ``_network_nav.html`` draws: the model menu and the view tabs."""
    return {
        "name": network.name,
        "models": [{"name": n, "title": get_model_spec(n).title} for n in list_models()],
        "tabs": network_tabs(request, network.name, current, network),
        "current": current,
    }


@router.get("/networks")
def networks_page(request: Request) -> Response:
    """The model zoo: a card per model."""
    cards = networks.cards()
    return render(request, "networks.html", {"title": "Networks, layer by layer", "cards": cards})


#: Each view's data per network: it depends on the network and the settings alone (the
#: explorer's holds the whole architecture table: building it for every page view was a
#: tenth of a lecture hall's server time). Checked by identity, so a network served anew
#: under the same name (``convscope.serve``, the training lab) is never shown with
#: another's data; the last :data:`PAYLOADS_KEPT` are kept (the lab's networks come and go).
_PAYLOADS: OrderedDict[tuple[str, str], tuple[Network, Settings, dict[str, Any]]] = OrderedDict()
_PAYLOADS_LOCK = threading.Lock()
PAYLOADS_KEPT = 64


def payload(view: View, network: Network, settings: Settings) -> dict[str, Any]:
    """``view.payload(network, settings)``, computed once per network and settings."""
    key = (view.slug, network.name)
    with _PAYLOADS_LOCK:
        kept = _PAYLOADS.get(key)
    if kept is not None and kept[0] is network and kept[1] is settings:
        return kept[2]
    data = view.payload(network, settings)
    with _PAYLOADS_LOCK:
        _PAYLOADS[key] = (network, settings, data)
        _PAYLOADS.move_to_end(key)
        while len(_PAYLOADS) > PAYLOADS_KEPT:
            _PAYLOADS.popitem(last=False)
    return data


def network_view(view: View) -> Callable[[Request, Spec, Device, SettingsDep], Response]:
    """The page of one view: its template with the view's data, the model and the tabs. An
    untrained network's page redirects to its architecture (from random weights, its
    predictions, maps, filters and saliency would mean nothing; it is not even built)."""

    def page(request: Request, spec: Spec, device: Device, settings: SettingsDep) -> Response:
        if not spec.trained:
            return RedirectResponse(ARCHITECTURE.route.format(name=spec.name), status_code=307)
        network = get_network(spec.name, device)
        if not applies(view, network):
            tabs = network_tabs(request, network.name, "", network)
            others = ", ".join(tab["label"] for tab in tabs)
            detail = f"{network.title} has no {view.label} view (its views: {others})"
            raise HTTPException(404, detail)
        data = payload(view, network, settings)
        context: dict[str, Any] = {
            "title": view.title.format(title=network.title),
            "model": data["model"],
            "nav": network_nav(request, network, view.slug),
            "payload": data,
            **{key: data[key] for key in ("architecture", "methods") if key in data},
        }
        return render(request, view.template, context)

    page.__name__ = f"{view.slug}_page"
    page.__doc__ = view.title.format(title="A network")
    return page


for _view in NETWORK_VIEWS:
    router.add_api_route(_view.route, network_view(_view), methods=["GET"])
