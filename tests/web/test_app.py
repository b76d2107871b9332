"""The app shell: home page, security and cache headers, gzip, local assets, errors, the pool."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.web.lessons import LESSONS
from app.web.middleware import CONTENT_SECURITY_POLICY
from tests.utils.html import parse
from tests.utils.images import solid
from tests.utils.jobs import Work, wait_until


def test_home_lists_the_lessons_in_lecture_order_and_links_those_that_exist(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    positions = [html.index(f'data-lesson="{lesson.slug}"') for lesson in LESSONS]
    assert positions == sorted(positions)
    links = parse(html).links
    assert {"/convolution", "/pointwise", "/pooling", "/activations", "/transposed"} <= set(links)
    for href in links:
        if href.startswith("/"):
            assert client.get(href.split("?")[0]).status_code == 200, href


PAGES = (
    "/",
    "/pixels",
    "/convolution",
    "/kernels",
    "/pointwise",
    "/pooling",
    "/activations",
    "/transposed",
    "/docs",
)


def test_every_page_has_no_inline_script(client):
    for path in PAGES:
        page = parse(client.get(path).text)
        assert not page.handlers, path
        for script in page.scripts:
            assert script.get("src") or script.get("type") == "application/json", (path, script)


@pytest.mark.parametrize(
    "path",
    [
        *PAGES,
        "/api/convolution/presets",
        "/api/pooling/presets",
        "/api/activations",
        "/api/images/sample-camera/png",
        "/nope",
    ],
)
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_static_files_are_cached_for_a_year_when_versioned(client):
    html = client.get("/convolution").text
    css = re.search(r'href="(/static/css/app\.css\?v=[0-9a-f]{12})"', html).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    unversioned = client.get("/static/js/widgets/stepper.js")
    assert unversioned.headers["cache-control"] == "no-cache"
    assert unversioned.headers["etag"]
    assert (
        client.get(
            "/static/js/widgets/stepper.js", headers={"if-none-match": unversioned.headers["etag"]}
        ).status_code
        == 304
    )


def test_plotly_is_served_locally_and_gzipped(client):
    html = client.get("/convolution").text
    src = re.search(r'src="(/vendor/plotly\.min\.js\?v=[^"]+)"', html).group(1)
    response = client.get(src, headers={"accept-encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].startswith("text/javascript")
    assert len(response.content) > 1_000_000  # the decoded library
    assert client.get("/vendor/evil.js").status_code == 404


def test_json_responses_are_gzipped(client):
    body = {"input": [[1] * 30] * 30, "kernel": [[1, 0], [0, -1]]}
    response = client.post("/api/convolution", json=body, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


def test_docs_page_uses_only_local_assets(client):
    html = client.get("/docs").text
    page = parse(html)
    sources = [s["src"] for s in page.scripts if s.get("src")]
    assert any("swagger-ui-bundle.js" in s for s in sources)
    assert all(s.startswith("/") for s in sources)
    assert "cdn" not in html.lower()
    assert client.get("/vendor/swagger-ui.css").status_code == 200


def test_unknown_page_is_a_readable_404_for_browsers_and_json_for_the_api(client):
    page = client.get("/nowhere", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "There is nothing at /nowhere" in page.text
    api = client.get("/api/nowhere")
    assert api.status_code == 404
    assert api.json() == {"detail": "There is nothing at /api/nowhere"}
    assert client.get("/api/convolution").json()["detail"] == (
        "GET is not allowed on /api/convolution"
    )


def test_full_pool_answers_503_with_retry_after():
    settings = Settings(device="cpu", compute_workers=1, compute_queue=0, retry_after_s=4)
    with TestClient(create_app(settings)) as client:
        client.app.state.pool._in_flight = 1  # as if a request were running
        response = client.post("/api/convolution", json={"input": [[1]], "kernel": [[1]]})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "4"
        assert "busy" in response.json()["detail"]
        assert client.get("/").status_code == 200  # pages are still served


@pytest.mark.parametrize(
    ("path", "heading", "script"),
    [
        ("/pooling", "Pooling, step by step", "js/pages/pooling.js"),
        ("/activations", "Activation functions", "js/pages/activations.js"),
        ("/transposed", "Transposed convolution, step by step", "js/pages/transposed.js"),
        ("/pointwise", "1×1 convolution: mixing channels", "js/pages/pointwise.js"),
    ],
)
def test_operation_pages_render_their_heading_payload_and_module(client, path, heading, script):
    response = client.get(path)
    assert response.status_code == 200
    page = parse(response.text)
    assert page.h1 == [heading]
    assert any(script in (s.get("src") or "") for s in page.scripts)
    assert 'id="payload"' in response.text
    nav = re.search(r'<nav aria-label="Lessons">(.*?)</nav>', response.text, re.S).group(1)
    assert f'href="{path}" aria-current="page"' in nav


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # curl, a notebook
        ({"origin": "http://testserver"}, True),  # the app's own pages
        ({"sec-fetch-site": "same-origin", "origin": "http://testserver"}, True),
        ({"origin": "http://evil.example"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "same-site", "origin": "http://other.testserver"}, False),
    ],
)
def test_only_the_apps_own_pages_may_change_things_from_a_browser(client, headers, allowed):
    uploads = client.post("/api/images", files={"image": ("a.png", solid(2, 2))}, headers=headers)
    job = client.post("/api/models/lenet5/layers/conv1/channels/0/maximize/jobs", headers=headers)
    for response in (uploads, job):
        if allowed:
            assert response.status_code in (200, 202), response.text
        else:
            assert response.status_code == 403
            assert response.json()["detail"].startswith("This request may not change anything")
    assert client.get("/api/models", headers=headers).status_code == 200  # reading is fine


def test_json_bodies_keep_their_limit_under_upload_paths(client, settings):
    big = b'{"steps": 1, "pad": "' + b"x" * settings.max_json_bytes + b'"}'
    response = client.post(
        "/api/models/lenet5/layers/conv1/channels/0/maximize",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "the limit is 2 MB" in response.json()["detail"]


def test_requests_never_wait_behind_jobs():
    """Jobs have a lane of their own: with every job worker busy and the job queue full, a
    trace is still answered, at once and without a 503."""
    settings = Settings(
        device="cpu", preload_models=False, compute_workers=1, job_workers=1, jobs_max_active=3
    )
    with TestClient(create_app(settings)) as client:
        jobs = client.app.state.jobs
        blocked = [Work(steps=1) for _ in range(3)]
        for number, work in enumerate(blocked):
            jobs.start(("blocked", number), work)  # one runs, two wait: the lane is full
        wait_until(blocked[0].started.is_set)
        answered = {}
        thread = threading.Thread(
            target=lambda: answered.update(
                response=client.post("/api/convolution", json={"input": [[1]], "kernel": [[2]]})
            )
        )
        thread.start()
        thread.join(timeout=30)
        full = client.post("/api/models/lenet5/layers/conv1/channels/0/maximize/jobs")
        for work in blocked:
            work.go(2)
        assert not thread.is_alive(), "the trace waited behind the jobs"
        assert answered["response"].status_code == 200
        assert full.status_code == 503  # the job lane itself is full
