"""The saliency page in a real browser: the cat photo on EfficientNet-Lite0 with two
classes and every method, the opacity slider, a typed class name, cancelling a running
SmoothGrad, exporting a cell as PNG, and the digits of LeNet-5."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.utils.browser import screenshot

TIMEOUT = 60000  # the first EfficientNet request may still wait for the model to load
PAGE = "/networks/efficientnet-lite0/saliency"


def cell(page, method, column):
    return page.locator(f'.sal-cell[data-method="{method}"][data-column="{column}"]')


def done(page, method, column):
    expect(cell(page, method, column)).to_have_attribute("data-state", "done", timeout=TIMEOUT)


def test_smoke(page):
    page.goto(PAGE)
    done(page, "gradient", 0)
    done(page, "grad-cam", 1)
    screenshot(page, "saliency-smoke")
