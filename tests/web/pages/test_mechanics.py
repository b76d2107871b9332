"""The dense → convolution and normalisation pages' HTML: heading, payload, assets, the
navigation's current link, no inline script; the pooling page's adaptive section."""

from __future__ import annotations

import pytest

from tests.utils.html import parse, payload


@pytest.mark.parametrize(
    ("path", "heading", "script", "label", "ids"),
    [
        (
            "/dense-to-convolution",
            "From a dense layer to a convolution",
            "dense",
            "Dense",
            {"controls", "stage", "stepper", "weights-plot", "matrix-plot", "offsets-plot"},
        ),
        (
            "/normalisation",
            "Normalisation",
            "normalisation",
            "Norms",
            {"controls", "stage", "stepper", "input-maps", "output-maps", "running-table"},
        ),
    ],
)
def test_page_renders_with_its_data_and_assets(client, path, heading, script, label, ids):
    response = client.get(path)
    assert response.status_code == 200
    page = parse(response.text)
    assert page.h1 == [heading]
    assert ids <= page.ids
    assert page.current == [label]
    assert f"js/pages/{script}.js?v=" in response.text
    assert any(f"css/{script}.css?v=" in href for href in page.stylesheets)
    assert not page.handlers
    for tag in page.scripts:
        assert tag.get("src") or tag.get("type") == "application/json"
    assert "limits" in payload(response.text)


def test_dense_payload_starts_from_a_six_by_six_image(client):
    data = payload(client.get("/dense-to-convolution").text)
    assert len(data["input"]) == 6 and len(data["input"][0]) == 6
    assert data["inits"] == ["random", "blur", "edge"]


def test_normalisation_payload_is_a_batch_within_the_limits(client):
    data = payload(client.get("/normalisation").text)
    n, c = len(data["input"]), len(data["input"][0])
    assert (n, c) == (2, 4)
    assert n <= data["limits"]["max_batch"] and c <= data["limits"]["max_channels"]
    assert data["axes"]["batch"] == ["N", "H", "W"]


def test_pooling_page_has_the_adaptive_section(client):
    response = client.get("/pooling")
    page = parse(response.text)
    assert {"adaptive", "adaptive-controls", "adaptive-stepper", "adaptive-rows"} <= page.ids
    assert payload(response.text)["adaptive"]["limits"]["max_output"] == 16
