"""The training lab in a real browser: the lecture's comparison (a plain and a residual
20-layer network side by side: the plain one's first layers get vanishing gradients, the
residual one's do not), the comparison in the URL, a trained LeNet-5 opened in the explorer,
a learning rate too large shown as divergence, Cancel, and leaving the page (both stop the
run on the server). Runs are kept small (a few
hundred digits, one epoch): the mechanism shows from the first step, and a 2-core machine
trains them in seconds."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from tests.utils.browser import ready, screenshot
from tests.utils.jobs import wait_until

TIMEOUT = 120_000  # a slow machine trains slower; the assertions do not depend on it
SMALL = {"digits": 200, "epochs": 1}


def fill(page, run: str, name: str, value) -> None:  # type: ignore[no-untyped-def]
    """Type a setting of run ``run`` as a person would."""
    field = page.locator(f"#{run}-settings [name={name}]")
    field.fill(str(value))
    field.dispatch_event("change")


def trained(page, timeout: int = TIMEOUT) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=timeout)


def redrawn(page) -> None:  # type: ignore[no-untyped-def]
    """Two animation frames: the page has drawn what a resize or a scrub asked for."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def profile(page) -> list[list[float | None]]:  # type: ignore[no-untyped-def]
    """The gradient norms the profile chart shows, one list per run, first layer first."""
    return page.evaluate("() => document.querySelector('#profile-chart').data.map((t) => t.y)")


def test_a_plain_and_a_residual_20_layer_network_side_by_side(page):
    page.goto("/training")
    page.select_option("#preset", "plain-vs-residual")
    expect(page.locator("#compare")).to_be_checked()
    expect(page.locator("#b-settings")).to_be_visible()
    expect(page.locator("#preset-note")).to_contain_text("skip connections")
    expect(page.locator("#b-settings [name=residual]")).to_be_checked()
    expect(page.locator("#a-settings [name=residual]")).not_to_be_checked()
    for run in "ab":
        for name, value in SMALL.items():
            fill(page, run, name, value)
    page.click("#train")
    trained(page)
    cards = page.locator(".run-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_have_attribute("data-state", "done")
    expect(cards.nth(0).locator(".run-title")).to_have_text("Plain CNN, 20 layers")
    expect(cards.nth(1).locator(".run-title")).to_have_text("Residual CNN, 20 layers")
    expect(cards.nth(1).locator(".run-accuracy")).to_have_text(re.compile(r"^\d+(\.\d)?%$"))

    # At the first step: the plain network's gradient falls by orders of magnitude towards
    # its first layer; the residual network's reaches it.
    scrub = page.locator("#profile-scrub")
    scrub.fill("1")
    scrub.dispatch_event("input")
    expect(page.locator("#profile-step")).to_have_text("at step 1")
    plain, residual = profile(page)
    assert len(plain) == len(residual) == 20
    assert plain[0] / plain[-1] < 1e-5
    assert residual[0] / residual[-1] > 1e-3
    # the same over time, at every step: one line per layer for each run, the plain
    # network's first layer orders of magnitude below its last, the residual one's not
    expect(page.locator(".time-box")).to_have_count(2)
    expect(page.locator(".time-box").nth(0)).to_contain_text("Plain CNN, 20 layers")
    plain_lines, residual_lines = page.evaluate(
        "() => [...document.querySelectorAll('.time-box .chart')]"
        ".map((chart) => chart.data.map((line) => line.y))"
    )
    assert len(plain_lines) == len(residual_lines) == 20
    assert len(plain_lines[0]) == len(residual_lines[0]) == 7  # 200 digits: 7 steps of 32
    for first, last in zip(plain_lines[0], plain_lines[-1], strict=True):
        assert first / last < 1e-5
    for first, last in zip(residual_lines[0], residual_lines[-1], strict=True):
        assert first / last > 1e-3
    # and the filters and digits of both, and their reports
    expect(page.locator(".snapshot-card")).to_have_count(2)
    expect(page.locator(".snapshot-card").nth(0).locator(".watched-digit")).to_have_count(10)
    expect(page.locator(".report-card")).to_have_count(2)
    expect(page.locator(".report-card .confusion .main-svg").first).to_be_visible()

    # the comparison is in the URL
    page.wait_for_function("() => location.search.includes('train=1')")
    for key in ("a.network=deep", "b.network=deep", "b.residual=1", "compare=1", "a.digits=200"):
        assert key in page.url
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "training-plain-vs-residual")
    page.evaluate("() => document.querySelector('#gradients-title').scrollIntoView()")
    screenshot(page, "training-plain-vs-residual-gradients", full_page=False)
    for width, height in ((1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        redrawn(page)
        for chart in ("#loss-chart", "#profile-chart", ".time-box .chart"):
            box = page.locator(chart).first.bounding_box()
            assert box["x"] + box["width"] <= width  # the charts fit the window
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        screenshot(page, f"training-plain-vs-residual-{width}")

    # Opening that URL again shows the same two runs (finished: from the server's results)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.reload()
    expect(page.locator("#a-settings [name=network]")).to_have_value("deep")
    expect(page.locator("#b-settings [name=residual]")).to_be_checked()
    trained(page)
    expect(page.locator(".run-card")).to_have_count(2)
    expect(page.locator(".run-card").nth(1).locator(".run-title")).to_have_text(
        "Residual CNN, 20 layers"
    )


def test_a_trained_lenet5_opens_in_the_explorer(page):
    page.goto("/training?a.digits=500&a.epochs=1&a.seed=5&train=1")
    trained(page)
    card = page.locator(".run-card")
    expect(card.locator(".run-title")).to_have_text("LeNet-5")
    accuracy = card.locator(".run-accuracy").text_content()
    weights = card.get_by_role("link", name="Download weights (.safetensors)")
    with page.expect_download() as download:
        weights.click()
    assert download.value.suggested_filename.startswith("trained-")
    screenshot(page, "training-lenet5")
    card.get_by_role("link", name="Open in the explorer").click()
    page.wait_for_url(re.compile(r"/networks/trained-[0-9a-f]{8}$"))
    expect(page.locator("h1")).to_have_text("LeNet-5, trained here")
    ready(page)
    name = page.url.rsplit("/", 1)[1]
    answer = page.request.post(f"/api/models/{name}/predict?k=10",
                               multipart={"image_id": "sample-mnist-0"}).json()  # fmt: skip
    top = answer["predictions"][0]
    expect(page.locator("#prediction-note")).to_have_text(re.compile(rf"^{top['label']}, "))
    card_text = page.request.get(f"/api/models/{name}").json()
    assert f"{card_text['accuracy'] * 100:.1f}%" == accuracy.replace("100%", "100.0%")
    # draw a digit: the trained network reads it as the server says
    box = page.locator("#digit-canvas").bounding_box()
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.52 * box["width"], box["y"] + 0.85 * box["height"], steps=8)
    page.mouse.up()
    page.wait_for_function(
        "() => /^[0-9a-f]{32}$/.test(document.querySelector('#stage').dataset.image || '')"
        " && document.querySelector('#stage').dataset.state === 'ready'"
    )
    drawing = page.locator("#stage").get_attribute("data-image")
    said = page.request.post(f"/api/models/{name}/predict?k=1", multipart={"image_id": drawing})
    expect(page.locator("#prediction-note")).to_have_text(
        re.compile(rf"^{said.json()['predictions'][0]['label']}, ")
    )
    screenshot(page, "training-lenet5-in-the-explorer")
    page.goto(f"/networks/{name}/filters")
    expect(page.locator("h1")).to_contain_text("LeNet-5, trained here")


def test_a_learning_rate_too_large_is_shown_as_divergence(page):
    page.goto("/training")
    page.select_option("#preset", "divergence")
    for run in "ab":
        fill(page, run, "digits", 500)
    page.click("#train")
    expect(page.locator("#stage")).to_have_attribute("data-state", re.compile("ready|stopped"),
                                                     timeout=TIMEOUT)  # fmt: skip
    diverged = page.locator('.run-card[data-run="b"]')
    expect(diverged).to_have_attribute("data-state", "diverged")
    expect(diverged.locator(".run-status")).to_contain_text("Diverged at step")
    expect(diverged.locator(".run-status")).to_contain_text("The learning rate is too large")
    expect(diverged.locator(".run-links a")).to_have_count(0)  # nothing to open or download
    expect(page.locator('.run-card[data-run="a"]')).to_have_attribute("data-state", "done")
    expect(page.locator('.report-card[data-run="b"]')).to_contain_text("The run diverged")
    marks = page.evaluate(
        "() => document.querySelector('#loss-chart').data.filter((t) => t.text)"
        ".map((t) => t.text[0])"
    )
    assert marks == ["NaN"]
    expect(page.locator("#error")).to_be_hidden()
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "training-divergence")


def held_run(page, gate, seed: int) -> str:  # type: ignore[no-untyped-def]
    """Start LeNet-5 with the page's defaults and ``seed`` (a run nobody trained before)
    and hold it training at a step; its ticket's URL."""
    page.goto("/training")
    fill(page, "a", "seed", seed)
    with page.expect_response("**/api/training/jobs") as started:
        page.click("#train")
    assert gate.reached.wait(60)
    return started.value.json()["url"]


def final_status(page, url: str) -> str:  # type: ignore[no-untyped-def]
    """Ask for the run until it ends: asking keeps it wanted (it would train on to "done",
    not stop after 15 s unfollowed) unless its page withdrew its ticket."""
    seen: list[str] = []

    def finished() -> bool:
        seen.append(page.request.get(url).json()["status"])
        time.sleep(0.2)
        return seen[-1] in ("done", "failed", "cancelled")

    wait_until(finished, timeout=300)
    return seen[-1]


def test_cancel_stops_the_run_on_the_server(page, gate):
    url = held_run(page, gate, 77)
    expect(page.locator(".run-card")).to_have_attribute("data-state", "training")
    page.click("#cancel")
    expect(page.locator(".run-card")).to_have_attribute("data-state", "cancelled")
    expect(page.locator(".run-status")).to_have_text("Cancelled.")
    expect(page.locator("#cancel")).to_be_disabled()
    gate.open()
    assert final_status(page, url) == "cancelled"
    expect(page.locator("#stage")).to_have_attribute("data-state", "stopped")


def test_leaving_the_page_stops_the_run_on_the_server(page, gate):
    url = held_run(page, gate, 78)
    page.goto("/")  # the lecture moves on
    gate.open()
    assert final_status(page, url) == "cancelled"
