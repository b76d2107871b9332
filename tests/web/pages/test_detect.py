"""The detection page's HTML (/networks/{name}/detect): its controls, the head's rewrite as
a table, the exactness sentence, its payload (the service's data), the tab, and 404s."""

from __future__ import annotations

import re

import pytest

from app.nets.registry import get_network
from app.services import detection
from app.settings import Settings
from tests.utils.html import parse, payload


@pytest.mark.parametrize(
    ("name", "scene", "sizes", "stride", "exact"),
    [("lenet5", "digits", "32,40", 4, True),
     ("efficientnet-lite0", "cat-and-espresso", "224,160", 32, False)],
)  # fmt: skip
def test_the_page(client, name, scene, sizes, stride, exact):
    response = client.get(f"/networks/{name}/detect")
    assert response.status_code == 200
    html = response.text
    page = parse(html)
    assert page.h1[0].endswith(": where is it?")
    for control in (
        "picker",
        "scene",
        "target",
        "sizes",
        "stride",
        "threshold",
        "iou",
        "window-stepper",
        "nms-stepper",
        "maps",
        "fc-maps",
        "final-list",
        "cost",
    ):
        assert f'id="{control}"' in html, control  # fmt: skip
    data = payload(html)
    expected = detection.detect_page(get_network(name), Settings(device="cpu"))
    assert data["fully_convolutional"] == expected["fully_convolutional"]
    assert data["scene"] == scene
    assert data["defaults"]["sizes"] == sizes and data["defaults"]["stride"] == stride
    rows = re.findall(r'<td class="mono" data-label="layer">([^<]+)</td>', html)
    assert rows == [r["layer"] for r in expected["fully_convolutional"]["rewrites"]]
    sentence = "No convolution or pooling" if exact else "layers pad their input"
    assert sentence in html
    tabs = re.search(r'<div class="view-tabs".*?</div>', html, re.S).group(0)
    assert f'href="/networks/{name}/detect" aria-current="page">Detection' in tabs


def test_every_classifier_has_the_tab(client):
    for name in ("lenet5", "simple-cnn", "efficientnet-lite0"):
        html = client.get(f"/networks/{name}/saliency").text
        assert f'href="/networks/{name}/detect">Detection' in html


def test_an_unknown_network_is_404(client):
    response = client.get("/networks/vgg19/detect")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Unknown model 'vgg19'")


def test_a_segmentation_network_has_no_detection(client):
    # the trained U-Net (the paper's, untrained, shows its architecture only)
    assert 'href="/networks/unet-digits/detect"' not in client.get("/networks/unet-digits").text
    response = client.get("/networks/unet-digits/detect")
    assert response.status_code == 404 and "has no Detection view" in response.json()["detail"]
    refused = client.post("/api/models/unet-digits/sliding-window", params={"sizes": "28"},
                          files={"image_id": (None, "sample-mnist-3")})  # fmt: skip
    assert refused.status_code == 422
    assert "gives a map, not one score per class" in refused.json()["detail"]
