"""/networks and /networks/{name}: cards, the architecture table, payload, tabs, errors."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from html.parser import HTMLParser

from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.main import create_app
from app.nets.registry import get_network
from app.ops.conv import LIMITS as PLAYGROUND_LIMITS
from app.settings import Settings
from app.web.middleware import CONTENT_SECURITY_POLICY
from app.web.pages import networks
from app.web.pages.networks import NETWORK_VIEWS, network_tabs, network_view


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.h1: list[str] = []
        self.links: list[str] = []
        self.rows: list[str] = []
        self.scripts: list[dict] = []
        self.handlers: list[str] = []
        self._h1 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.handlers += [name for name in a if name.startswith("on")]
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "tr" and a.get("data-layer"):
            self.rows.append(a["data-layer"])
        if tag == "script":
            self.scripts.append(a)
        self._h1 = tag == "h1"

    def handle_data(self, data):
        if self._h1 and data.strip():
            self.h1.append(data.strip())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def payload(html: str) -> dict:
    return json.loads(re.search(r'id="payload">(.*?)</script>', html, re.S).group(1))


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
    assert set(data) == {
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


def test_unknown_networks_are_404_naming_the_models(client):
    response = client.get("/networks/alexnet", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Unknown model &#39;alexnet&#39;: the models are lenet5, simple-cnn" in response.text
    assert client.get("/networks/alexnet").json()["detail"].startswith("Unknown model 'alexnet'")


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
        if getattr(route, "original_router", None) is not networks.router
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
