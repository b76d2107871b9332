"""The network pages' HTML: /networks (cards) and each network's views (the explorer with its
architecture table, learned filters, saliency): headings, controls, payloads (the API's
data), tabs and errors."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.explain.convolutions import conv_layers
from app.explain.saliency import METHODS
from app.main import create_app
from app.nets import registry
from app.nets.registry import get_model, get_model_spec, get_network
from app.ops.conv import LIMITS as PLAYGROUND_LIMITS
from app.settings import Settings
from app.web.middleware import CONTENT_SECURITY_POLICY
from app.web.pages import architecture, networks
from app.web.pages.networks import NETWORK_VIEWS, network_tabs, network_view
from tests.utils.html import parse, payload


def test_the_zoo_has_a_card_per_model(client):
    response = client.get("/networks")
    assert response.status_code == 200
    page = parse(response.text)
    assert page.h1 == ["Networks, layer by layer"]
    for name in ("lenet5", "simple-cnn", "efficientnet-lite0"):
        assert f"/networks/{name}" in page.links
        assert f'data-model="{name}"' in response.text
    assert "61,706" in response.text and "4,652,008" in response.text
    assert "98.1%" in response.text and "75.1%" in response.text  # accuracies
    assert "1 × 32 × 32" in response.text and "3 × 224 × 224" in response.text


def test_the_explorer_page(client):
    response = client.get("/networks/lenet5")
    assert response.status_code == 200
    html = response.text
    page = parse(html)
    assert page.h1 == ["LeNet-5"]
    assert {"picker", "digit-canvas", "draw-clear", "seen-plot", "prediction-plot", "layers",
            "inspector", "unit-stepper", "stage", "error", "payload"} <= page.ids  # fmt: skip
    assert page.rows == [row.name for row in get_network("lenet5").summary.layers]
    assert "6@5×5" in html and "14 × 14" in html and "61,706" in html and "416,520" in html
    data = payload(html)
    assert data["labels_pixels"] is False  # a classifier: its softmax is offered
    assert set(data) == {
        "labels_pixels",
        "model",
        "architecture",
        "images",
        "default_image",
        "drawable",
        "k",
        "labels",
        "playground_limits",
    }
    assert data["playground_limits"] == asdict(PLAYGROUND_LIMITS)
    assert (
        data["drawable"] is True and data["k"] == 10 and data["default_image"] == "sample-mnist-0"
    )
    assert len(data["architecture"]["layers"]) == 12
    assert "js/pages/network.js?v=" in html and "css/networks.css?v=" in html
    nav = re.search(r'<nav aria-label="Lessons">(.*?)</nav>', html, re.S).group(1)
    assert 'href="/networks"' in nav


def test_a_photo_model_has_no_drawing_canvas(client):
    html = client.get("/networks/efficientnet-lite0").text
    page = parse(html)
    assert "digit-canvas" not in page.ids
    data = payload(html)
    assert data["drawable"] is False and data["k"] == 5 and data["labels"] is None
    assert data["default_image"] == "sample-chelsea"
    assert '<details class="architecture" id="architecture">' in html  # 144 rows: closed
    assert "blocks.15.project.bn" in html


@pytest.mark.parametrize("view", ["", "/filters", "/saliency"])
def test_unknown_networks_are_404_naming_the_models(client, view):
    response = client.get(f"/networks/vgg19{view}", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Unknown model &#39;vgg19&#39;: the models are lenet5, simple-cnn" in response.text
    detail = client.get(f"/networks/vgg19{view}").json()["detail"]
    assert detail.startswith("Unknown model 'vgg19'")


def test_no_inline_script_and_the_security_headers(client):
    for path in ("/networks", "/networks/lenet5", "/networks/efficientnet-lite0"):
        response = client.get(path)
        page = parse(response.text)
        assert not page.handlers, path
        for script in page.scripts:
            assert script.get("src") or script.get("type") == "application/json", (path, script)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_view_tabs_appear_once_their_routes_exist():
    app = create_app(Settings(device="cpu", preload_models=False))
    app.router.routes[:] = [  # the app with the explorer as the only view of a network
        route
        for route in app.router.routes
        if getattr(route, "original_router", None) not in (networks.router, architecture.router)
    ]
    only = APIRouter()
    only.add_api_route(NETWORK_VIEWS[0].route, network_view(NETWORK_VIEWS[0]), methods=["GET"])
    app.include_router(only)
    with TestClient(app) as client:
        html = client.get("/networks/lenet5").text
        assert 'class="view-tabs"' not in html  # one view only: no tab bar
        extra = APIRouter()

        @extra.get("/networks/{name}/saliency")
        def saliency(name: str) -> dict:
            return {}

        app.include_router(extra)
        app.state.lessons = None
        request = type("R", (), {"app": app})()
        tabs = network_tabs(request, "lenet5", "explorer")
        assert [(t["slug"], t["href"], t["current"]) for t in tabs] == [
            ("explorer", "/networks/lenet5", True),
            ("saliency", "/networks/lenet5/saliency", False),
        ]
        html = client.get("/networks/lenet5").text
        tabs_html = re.search(r'<div class="view-tabs".*?</div>', html, re.S).group(0)
        assert 'href="/networks/lenet5" aria-current="page">Layer by layer' in tabs_html
        assert 'href="/networks/lenet5/saliency">Saliency' in tabs_html


def test_every_view_is_a_tab_of_every_network(client):
    for name in ("lenet5", "simple-cnn", "efficientnet-lite0"):
        html = client.get(f"/networks/{name}/filters").text
        tabs_html = re.search(r'<div class="view-tabs".*?</div>', html, re.S).group(0)
        assert f'href="/networks/{name}">Layer by layer' in tabs_html
        assert f'href="/networks/{name}/filters" aria-current="page">Learned filters' in tabs_html
        assert f'href="/networks/{name}/saliency">Saliency' in tabs_html
        assert f'href="/networks/{name}/architecture">Architecture' in tabs_html


@pytest.mark.parametrize("view", ["", "/filters", "/saliency"])
def test_an_untrained_networks_views_lead_to_its_architecture(client, view):
    """Random weights: no predictions, maps, filters or saliency; the network is not built."""
    before = set(registry._LOADED)
    response = client.get(f"/networks/vgg16{view}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/networks/vgg16/architecture"
    assert not {key for key in set(registry._LOADED) - before if key[0] == "vgg16"}
    page = client.get(f"/networks/unet{view}")
    assert page.status_code == 200 and "Untrained: random weights." in page.text
    assert 'class="view-tabs"' not in page.text  # its only view: no tab bar


def test_the_zoo_says_which_networks_are_untrained(client):
    html = client.get("/networks").text
    for name in ("alexnet", "vgg16", "resnet18", "resnet50", "unet"):
        card = re.search(rf'<li class="model-card" data-model="{name}".*?</li>', html, re.S)
        assert card is not None and not get_model_spec(name).trained
        text = card.group(0)
        assert 'data-trained="false"' in text and "untrained: random weights" in text
        assert f'href="/networks/{name}/architecture"' in text and "none (untrained)" in text
    lenet = re.search(r'<li class="model-card" data-model="lenet5".*?</li>', html, re.S).group(0)
    assert 'data-trained="true"' in lenet and "untrained" not in lenet


# ------------------------------------------------------------------------ the learned-filters view


@pytest.mark.parametrize(
    ("name", "title", "digits"),
    [("lenet5", "LeNet-5", True), ("efficientnet-lite0", "EfficientNet-Lite0", False)],
)
def test_the_page_lists_the_layers_and_hands_its_data_to_the_script(client, name, title, digits):
    response = client.get(f"/networks/{name}/filters")
    assert response.status_code == 200
    html = response.text
    page = parse(html)
    assert page.h1 == [f"{title}: learned filters"]
    for needed in ("layer", "gallery-img", "slices", "picker", "map-img", "run", "cancel",
                   "progress", "maximized-img", "steps", "size", "seed"):  # fmt: skip
        assert needed in page.ids, needed
    assert ("top-digits" in page.ids) is digits
    options = re.findall(r'<option value="([^"]+)">([^<]+)</option>', html)
    layers = conv_layers(get_model(name))
    assert [value for value, _ in options if value in layers] == layers
    data = payload(html)
    assert [layer["name"] for layer in data["layers"]] == layers
    assert data["digits"] is digits and data["top"] == 9
    assert data["maximize"]["params"]["steps"]["maximum"] == 512
    assert data["maximize"]["size"] == data["model"]["input_shape"][-1]
    assert not page.handlers  # no inline event handlers (CSP)
    assert any(s.get("src", "").startswith("/static/js/pages/filters.js?v=") for s in page.scripts)
    assert "/static/css/filters.css?v=" in html


def test_the_first_layer_option_says_its_kind_and_shape(client):
    html = client.get("/networks/efficientnet-lite0/filters").text
    assert '<option value="stem.conv">stem.conv · rgb · 32×3×3×3</option>' in html
    assert "blocks.0.depthwise.conv · depthwise · 32×1×3×3" in html
    assert "head.conv · pointwise · 1280×320×1×1" in html


def test_the_filters_tab_appears_on_every_network_page(client):
    explorer = parse(client.get("/networks/simple-cnn").text)
    assert "/networks/simple-cnn/filters" in explorer.links
    filters = client.get("/networks/simple-cnn/filters").text
    assert re.search(r'href="/networks/simple-cnn/filters" aria-current="page"', filters)
    assert "/networks/lenet5/filters" in parse(filters).links  # the model menu stays on the view


# ------------------------------------------------------------------------------- the saliency view


def test_the_page_has_a_control_for_every_method_and_setting(client):
    response = client.get("/networks/efficientnet-lite0/saliency")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert page.h1 == ["EfficientNet-Lite0: which pixels matter?"]
    assert page.methods == list(METHODS)
    assert page.settings == {
        "smoothgrad": {"samples": "25", "noise": "0.15", "seed": "0"},
        "integrated-gradients": {"steps": "32", "rule": "select", "baseline": "select"},
        "grad-cam": {"layer": "select"},
        "occlusion": {"patch": "32", "stride": "16", "baseline": "select"},
    }
    assert {"grid", "opacity", "target-0", "target-1", "classes-0", "classes-1", "picker"} <= (
        page.ids
    )
    assert page.current == ["EfficientNet-Lite0", "Saliency"]  # the model and the tab
    assert not page.handlers  # no inline script (CSP)
    assert [s.get("type") for s in page.scripts[-1:]] == ["module"]
    assert page.scripts[-1]["src"].startswith("/static/js/pages/saliency.js?v=")


def test_the_payload_is_the_apis(client):
    data = payload(client.get("/networks/lenet5/saliency").text)
    api = client.get("/api/models/lenet5/saliency/methods").json()
    assert data["methods"] == api["methods"] and data["layers"] == api["layers"]
    assert data["model"] == client.get("/api/models/lenet5").json()
    assert data["default_image"] == "sample-mnist-3"
    assert data["default_methods"] == ["gradient", "grad-cam"]
    photo = payload(client.get("/networks/efficientnet-lite0/saliency").text)
    assert photo["default_image"] == "sample-chelsea"


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn", "efficientnet-lite0"])
def test_every_network_has_the_saliency_tab(client, name):
    explorer = client.get(f"/networks/{name}").text
    assert f'href="/networks/{name}/saliency"' in explorer


def test_a_views_data_is_kept_per_network_and_settings_and_bounded():
    """The explorer's data (its architecture table) is built once per network and settings;
    a network served anew under the same name gets its own; old entries are forgotten."""
    import dataclasses

    from app.settings import Settings
    from app.web.pages import networks as pages

    view = pages.NETWORK_VIEWS[0]
    network, settings = registry.get_network("lenet5"), Settings(preload_models=False)
    first = pages.payload(view, network, settings)
    assert pages.payload(view, network, settings) is first
    anew = dataclasses.replace(network)  # the same name, another Network
    assert pages.payload(view, anew, settings) is not first
    assert pages.payload(view, network, Settings(preload_models=False)) is not first
    assert len(pages._PAYLOADS) <= pages.PAYLOADS_KEPT
