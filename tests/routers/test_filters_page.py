"""/networks/{name}/filters: the page's headings, layer picker, payload, tab, assets, errors."""

from __future__ import annotations

import re

import pytest

from app.explain.convolutions import conv_layers
from app.nets.registry import get_model
from tests.routers.test_network_pages import parse, payload


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


def test_an_unknown_network_is_a_404(client):
    response = client.get("/networks/nope/filters", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Unknown model" in response.text
