"""The training page's HTML: heading, both runs' settings with the lab's defaults and limits,
the lecture's comparisons, the charts' places, its assets and payload; a lesson of its own."""

from __future__ import annotations

from tests.utils.html import parse, payload


def test_the_training_page_has_both_runs_settings_the_comparisons_and_the_charts(client):
    response = client.get("/training")
    assert response.status_code == 200
    page = parse(response.text)
    assert page.h1 == ["Watch a network learn"]
    assert {
        "controls", "preset", "a-settings", "b-settings", "compare", "train", "cancel", "stage",
        "error", "runs", "loss-chart", "accuracy-chart", "lr-chart", "measure", "profile-chart",
        "profile-scrub", "over-time", "snapshots", "reports", "payload",
    } <= page.ids  # fmt: skip
    assert page.handlers == []  # the CSP allows no inline handler
    assert any("css/training.css?v=" in href for href in page.stylesheets)
    assert "js/pages/training.js?v=" in response.text and "plotly" in response.text
    data = payload(response.text)
    assert set(data) == {"networks", "optimizers", "schedules", "defaults", "limits", "presets",
                         "watched", "titles"}  # fmt: skip
    assert data == client.get("/api/training").json()  # the page and the API: one function
    for preset in data["presets"]:
        assert preset["name"] in page.options
    assert page.options.count("deep") == 2 and page.options.count("sgd") == 2  # runs A and B
    html = response.text
    assert 'name="depth" min="4" max="32" step="2" value="20"' in html
    assert 'name="epochs" min="1" max="20" step="1" value="3"' in html
    assert 'name="digits" min="100" max="4000" step="10" value="4000"' in html
    assert 'id="b-settings" data-run="b" hidden' in html
    assert "At most 4 trainings run on this server at once" in html


def test_the_limits_shown_are_the_servers():
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(device="cpu", preload_models=False, training_max_epochs=5,
                        training_max_depth=12, training_max_active=2)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        html = client.get("/training").text
        assert 'name="epochs" min="1" max="5"' in html and 'name="depth" min="4" max="12"' in html
        assert "At most 2 trainings" in html
        refused = client.post("/api/training/jobs", json={"epochs": 6})
        assert refused.status_code == 422 and "epochs is 6; it must be from 1 to 5" in refused.text


def test_training_is_a_lesson_in_the_navigation(client):
    home = parse(client.get("/").text)
    assert "/training" in home.links
    assert 'data-lesson="training"' in client.get("/").text
