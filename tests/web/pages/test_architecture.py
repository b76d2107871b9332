"""``/networks/{name}/architecture``: the page of every network, trained or not, from its
spec alone (an untrained network is never built for it), saying plainly when the weights
are random; its rows, figures and question in the payload."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.nets import registry
from app.nets.registry import get_model_spec, list_models
from tests.utils.html import parse, payload


def test_every_network_has_an_architecture_page(client: TestClient):
    for name in list_models():
        spec = get_model_spec(name)
        response = client.get(f"/networks/{name}/architecture")
        assert response.status_code == 200, name
        page = parse(response.text)
        assert page.h1 == [spec.title]
        data = payload(response.text)
        assert data["model"]["trained"] is spec.trained
        assert [row["name"] for row in data["architecture"]["nodes"]] == page.rows
        assert page.rows == [row.name for row in spec.summary.nodes]
        assert ("Untrained: random weights." in response.text) is (not spec.trained), name
        assert not page.handlers


def test_an_untrained_network_is_not_built_for_its_page(client: TestClient):
    before = set(registry._LOADED)
    assert client.get("/networks/resnet50/architecture").status_code == 200
    assert not any(name == "resnet50" for name, _ in set(registry._LOADED) - before)


def test_the_payload_of_resnet18(client: TestClient):
    data = payload(client.get("/networks/resnet18/architecture").text)
    blocks = data["blocks"]["blocks"]
    assert [b["name"] for b in blocks] == [
        "stem", *(f"layer{s}.{i}" for s in range(1, 5) for i in range(2)), "head",
    ]  # fmt: skip
    assert sum(b["parameters"] for b in blocks) == 11_689_512
    links = data["blocks"]["links"]
    assert [(link["from"], link["to"]) for link in links] == [(i, i + 1) for i in range(8)]
    projections = [link["via"] == "Conv2d" for link in links]  # where a stage begins
    assert projections == [False, False, True, False, True, False, True, False]
    assert data["shrink"]["layers"] == 55 and data["shrink"]["sizes"][44] == 48
    assert data["field_growth"][0] == {
        "name": "stem.conv1", "type": "Conv2d", "size": [7, 7], "jump": [2, 2],
        "output": [112, 112],
    }  # fmt: skip


def test_an_unknown_network_is_404_naming_the_models(client: TestClient):
    response = client.get("/networks/vgg19/architecture", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Unknown model &#39;vgg19&#39;" in response.text
