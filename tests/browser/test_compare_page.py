"""/compare in a real browser: two networks on the same image (their predictions as the API
gives them, a saliency map per method and network, their architecture figures in one
table), a network of the user's own (the tricky one: residual sum, concatenation, in-place
ReLUs, a grayscale 24×40 input) beside the zoo's, choosing another network, ticking a
method, the view restored from the URL, and no horizontal scroll at 1600×1000, 1280×720
and 390×844."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.explain.saliency import METHODS
from app.nets.custom import serving
from app.nets.registry import get_network
from app.services.compare import figures
from tests.utils.browser import screenshot
from tests.utils.own_networks import tricky

TIMEOUT = 90_000  # EfficientNet may still be loading; saliency shares two busy cores


@pytest.fixture(scope="module", autouse=True)
def own() -> Iterator[None]:
    with serving.serving(tricky()):
        yield


def percent(p: float) -> str:
    if p >= 0.9995:
        return "100%"
    return f"{p * 100:.1f}%" if p >= 0.001 else "<0.1%"


def top(page, name: str, image: str, k: int = 5) -> list[dict]:
    answer = page.request.post(f"/api/models/{name}/predict?k={k}", multipart={"image_id": image})
    return answer.json()["predictions"]


def cell(page, method: str, side: str):
    return page.locator(f'.sal-cell[data-method="{method}"][data-side="{side}"]')


def all_done(page, methods) -> None:
    for method in methods:
        for side in ("a", "b"):
            expect(cell(page, method, side)).to_have_attribute(
                "data-state", "done", timeout=TIMEOUT
            )


def no_horizontal_scroll(page, width: int) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_two_digit_networks_by_default(page):
    page.goto("/compare", timeout=TIMEOUT)
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    for side, name in (("a", "lenet5"), ("b", "simple-cnn")):
        best = top(page, name, "sample-mnist-3")
        bars = page.locator(f"#bars-{side}")
        expect(bars).to_have_attribute("data-top", best[0]["label"])
        expect(bars).to_contain_text(percent(best[0]["probability"]))
        title = get_network(name).title
        expect(page.locator(f'.cmp-side[data-side="{side}"] h3')).to_contain_text(title)
        numbers = figures(get_network(name))
        row = page.locator('#figures tr[data-key="parameters"]')
        expect(row.locator(f'td[data-side="{side}"]')).to_have_text(numbers["parameters"]["text"])
    all_done(page, ["gradient", "grad-cam"])
    caption = cell(page, "grad-cam", "b").locator(".sal-caption")
    best = top(page, "simple-cnn", "sample-mnist-3")[0]
    expect(caption).to_contain_text(f"{best['label']} {percent(best['probability'])}")
    # the URL is written a moment after a change (lib/urlstate.js gathers changes for 200 ms)
    view = "a=lenet5&b=simple-cnn&image=sample-mnist-3&methods=gradient,grad-cam"
    expect(page).to_have_url(re.compile(re.escape(view)))
    screenshot(page, "compare-default")


def test_your_own_network_beside_the_zoo_every_method_and_the_url(page):
    methods = ",".join(METHODS)
    page.goto(
        f"/compare?a=tricky&b=simple-cnn&image=sample-camera&methods={methods}", timeout=TIMEOUT
    )
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    all_done(page, list(METHODS))
    expect(page.locator('#figures td[data-side="a"]').first).to_have_text("1×24×40 (gray)")
    expect(page.locator(".sal-row-head")).to_have_count(len(METHODS))
    best = top(page, "tricky", "sample-camera")[0]
    expect(page.locator("#bars-a")).to_have_attribute("data-top", best["label"])
    # The map is the saliency endpoint's, for the network's own top class
    src = cell(page, "integrated-gradients", "a").locator(".sal-map").get_attribute("src")
    data = page.request.get(src.replace("format=png", "format=json")).json()
    assert data["model"] == "tricky" and data["target"]["index"] == best["index"]
    assert data["shape"] == [24, 40]
    screenshot(page, "compare-own-network-every-method")

    # untick a method: its row goes, and the URL says so; a reload restores the view
    page.locator('#methods .method[data-method="smoothgrad"] input').uncheck()
    expect(page.locator(".sal-row-head")).to_have_count(len(METHODS) - 1)
    page.wait_for_function("() => !location.search.includes('smoothgrad')")
    page.reload()
    expect(page.locator(".sal-row-head")).to_have_count(len(METHODS) - 1)
    expect(page.locator("#model-a")).to_have_value("tricky")

    # another network B: the page loads with it, its figures in the table
    page.locator("#model-b").select_option("lenet5")
    page.wait_for_url(re.compile(r"b=lenet5"))
    expect(page.locator('#figures thead th[data-side="b"]')).to_contain_text("LeNet-5")
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    expect(page).to_have_url(re.compile("image=sample-camera"))


@pytest.mark.parametrize(("width", "height"), [(1600, 1000), (1280, 720), (390, 844)])
def test_every_screen_size(page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(
        "/compare?a=tricky&b=efficientnet-lite0&image=sample-chelsea&methods=gradient,grad-cam",
        timeout=TIMEOUT,
    )
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    all_done(page, ["gradient", "grad-cam"])
    no_horizontal_scroll(page, width)
    for side in ("a", "b"):
        box = cell(page, "grad-cam", side).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    expect(page.locator('#figures tr[data-key="classes"] td[data-side="b"]')).to_have_text("1,000")
    screenshot(page, f"compare-{width}x{height}")
