"""/networks/{name}/saliency: the page's HTML (heading, controls for every method and
setting, the tab), its payload (the same data as the API) and its errors."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from app.explain.saliency import METHODS


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.h1 = ""
        self.ids: set[str] = set()
        self.methods: list[str] = []
        self.settings: dict[str, dict[str, str]] = {}
        self.current: list[str] = []
        self.scripts: list[dict] = []
        self.handlers: list[str] = []
        self._in_h1 = False
        self._method = ""
        self._tab = False

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        self.handlers += [name for name in a if name.startswith("on")]
        self.ids.add(a.get("id", ""))
        self._in_h1 = tag == "h1"
        if tag == "div" and "data-method" in a:
            self._method = a["data-method"]
        if tag == "input" and a.get("name") == "method":
            self.methods.append(a["value"])
        if "data-setting" in a:
            self.settings.setdefault(self._method, {})[a["data-setting"]] = a.get("value", tag)
        self._tab = tag == "a" and a.get("aria-current") == "page"
        if tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag):
        self._in_h1 = self._in_h1 and tag != "h1"
        self._tab = self._tab and tag != "a"

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data
        if self._tab and data.strip():
            self.current.append(data.strip())


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def payload(html: str) -> dict:
    return json.loads(re.search(r'id="payload">(.*?)</script>', html, re.S).group(1))


def test_the_page_has_a_control_for_every_method_and_setting(client):
    response = client.get("/networks/efficientnet-lite0/saliency")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert page.h1 == "EfficientNet-Lite0: which pixels matter?"
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


def test_an_unknown_network_is_a_404(client):
    response = client.get("/networks/nope/saliency", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Unknown model" in response.text
