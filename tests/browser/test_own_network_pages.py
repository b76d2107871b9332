"""A user's own network in the browser: the tricky network of tests/utils/own_networks.py
(residual sum written in place, concatenation, an in-place ReLU called twice, grayscale
24×40 input), served through the Python API, on its zoo card, the explorer (every layer's
maps, a click on an activation of a convolution and of the ReLU's second call), the learned
filters with activation maximisation, and saliency with every method; no console error
anywhere (the page fixture's check)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.explain.saliency import METHODS
from app.nets.custom import serving
from app.nets.registry import get_network
from tests.utils.browser import ready, screenshot
from tests.utils.own_networks import tricky

TIMEOUT = 90_000


@pytest.fixture(scope="module", autouse=True)
def own() -> Iterator[None]:
    with serving.serving(tricky()):
        yield


def test_its_card_and_its_explorer(page):
    page.goto("/networks", timeout=TIMEOUT)
    expect(page.locator("body")).to_contain_text("Tricky shapes")
    page.goto("/networks/tricky?image=sample-camera", timeout=TIMEOUT)
    ready(page)
    rows = get_network("tricky").summary.layers
    for index in range(len(rows)):
        page.evaluate(f"() => document.querySelector('#maps-{index}').scrollIntoView()")
        expect(page.locator(f"#maps-{index}")).to_have_attribute(
            "data-state", "ready", timeout=TIMEOUT
        )
    conv = next(i for i, row in enumerate(rows) if row.name == "conv_a")
    page.evaluate(f"() => document.querySelector('#maps-{conv}').scrollIntoView()")
    tile = page.locator(f"#maps-{conv} .map-tile").first
    box = tile.locator("img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator("#inspector-body")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT
    )
    expect(page.locator("#inspector-title")).to_contain_text("conv_a · channel")
    screenshot(page, "own-network-explorer", full_page=False)
    # the ReLU module called a second time, after conv_c: its own row, maps and units
    page.click("#inspector-close")
    again = next(i for i, row in enumerate(rows) if row.name == "relu (2)")
    page.evaluate(f"() => document.querySelector('#maps-{again}').scrollIntoView()")
    tile = page.locator(f"#maps-{again} .map-tile").first
    box = tile.locator("img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator("#inspector-title")).to_contain_text("relu (2) · channel")
    expect(page.locator("#inspector-body")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT
    )
    expect(page.locator("#inspector-body")).to_contain_text("conv_c")
    screenshot(page, "own-network-relu-called-twice", full_page=False)


def test_its_filters_and_what_a_channel_responds_to(page):
    page.goto("/networks/tricky/filters?layer=conv_c&filter=2", timeout=TIMEOUT)
    ready(page)
    ready(page, "#filter-panel")
    expect(page.locator("#filter-title")).to_have_text("Filter 2 of conv_c")
    page.fill("#steps", "8")
    page.click("#run")
    expect(page.locator("#responds")).to_have_attribute("data-state", "done", timeout=TIMEOUT)
    screenshot(page, "own-network-filters")


def test_its_saliency_with_every_method(page):
    methods = ",".join(METHODS)
    page.goto(f"/networks/tricky/saliency?image=sample-camera&methods={methods}", timeout=TIMEOUT)
    for method in METHODS:
        for column in (0, 1):
            expect(
                page.locator(f'.sal-cell[data-method="{method}"][data-column="{column}"]')
            ).to_have_attribute("data-state", "done", timeout=TIMEOUT)
    screenshot(page, "own-network-saliency")
