"""The dense → convolution page in a real browser: the parameter counts fall 1,296 → 121 →
9, each stage's output is its constrained dense layer's (torch: einsum of the 4-D weights),
the last is F.conv2d's; Δ, the URL, and no horizontal scroll at three screen sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from app.ops.dense_conv import initial_weights
from app.services.mechanics import DENSE_INPUT
from tests.ops.test_dense_conv import tied_reference
from tests.utils.browser import ready, screenshot
from tests.utils.plots import wait_for_cells

X = torch.tensor(DENSE_INPUT, dtype=torch.float64)


def shown(value: float, digits: int = 4) -> str:
    """A number as the page prints it: at most ``digits`` decimals, − for minus."""
    text = repr(round(float(value), digits))
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text.replace("-", "−")


def stage(page, name):  # type: ignore[no-untyped-def]
    page.click(f'.stage-choice[data-stage="{name}"]')
    page.evaluate("document.activeElement.blur()")  # keys go to the stepper again
    expect(page.locator("#stage")).to_have_attribute("data-stage", name)


def test_the_counts_fall_and_every_stage_is_its_dense_layer(page):
    page.goto("/dense-to-convolution")
    ready(page)
    expect(page.locator(".stage-count")).to_have_text(
        ["1,296 parameters", "121 parameters", "9 parameters", "9 parameters"]
    )
    weights = initial_weights("random", 6, 6, seed=0)
    dense = torch.einsum("ijkl,kl->ij", weights, X)
    wait_for_cells(page, "#output-plot", [shown(v) for v in dense.flatten().tolist()])
    expect(page.locator("#expression")).to_contain_text(f"= {shown(dense[0, 0])}")
    expect(page.locator("#params")).to_have_text("6·6·6·6 = 1,296")

    offsets, _ = tied_reference(weights)
    stage(page, "shared")
    page.keyboard.press("ArrowRight")  # output (0, 1)
    tied = F.conv2d(X[None, None], offsets[None, None], padding=5)[0, 0]
    expect(page.locator("#expression")).to_contain_text(f"= {shown(tied[0, 1])}")
    expect(page.locator("#check-text")).to_contain_text("F.conv2d(x, V, padding=(5, 5))")
    expect(page.locator("#offsets-shape")).to_contain_text("11 × 11")

    stage(page, "conv")
    kernel = offsets[4:7, 4:7]
    conv = F.conv2d(X[None, None], kernel[None, None], padding=1)[0, 0]
    expect(page.locator("#expression")).to_contain_text(f"= {shown(conv[0, 1])}")
    expect(page.locator("#weights-title")).to_have_text("Kernel 3 × 3")
    expect(page.locator("#check-text")).to_contain_text("largest difference")
    page.keyboard.press("End")
    expect(page.locator("#position")).to_contain_text("Output row 5, column 5")
    expect(page.locator("#expression")).to_contain_text(f"= {shown(conv[5, 5])}")
    screenshot(page, "dense-conv")


def test_delta_and_the_start_change_the_kernel_and_the_url_keeps_them(page):
    page.goto("/dense-to-convolution?stage=local&init=edge")
    ready(page)
    page.fill('[name="delta"]', "2")
    page.dispatch_event('[name="delta"]', "change")
    expect(page.locator('.stage-count[data-count="local"]')).to_have_text("25 parameters")
    ready(page)
    expect(page.locator("#params")).to_have_text("5·5 = 25")
    page.wait_for_function("() => location.search.includes('delta=2')")
    url = page.url
    assert "init=edge" in url and "stage=local" in url
    page.goto(url)
    ready(page)
    expect(page.locator("#params")).to_have_text("5·5 = 25")
    expect(page.locator('[name="init"]')).to_have_value("edge")
    screenshot(page, "dense-local-delta2")


def test_a_bad_size_is_refused_and_the_page_fits_three_screens(page):
    for width, height in ((1600, 1000), (1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/dense-to-convolution?stage=conv")
        ready(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        screenshot(page, f"dense-{width}x{height}", full_page=False)
    page.expected.append(422)
    page.evaluate(
        """() => fetch('/api/dense-to-convolution', {method: 'POST',
             headers: {'content-type': 'application/json'},
             body: JSON.stringify({input: [[1]], delta: 9})})"""
    )


def test_typing_in_the_image_recomputes_every_stage_and_keeps_the_cell(page):
    page.goto("/dense-to-convolution?stage=conv")
    ready(page)
    cell = page.get_by_label("Input, row 0, column 1")
    cell.fill("5")
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready")
    x = X.clone()
    x[0, 1] = 5  # inside the window of output (0, 0)
    weights = initial_weights("random", 6, 6, seed=0)
    offsets, _ = tied_reference(weights)
    conv = F.conv2d(x[None, None], offsets[4:7, 4:7][None, None], padding=1)[0, 0]
    expect(page.locator("#expression")).to_contain_text(f"= {shown(conv[0, 0])}")
    page.wait_for_function("() => location.search.includes('input=6x6:1,5,0,')")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Input, row 0, column 1"
    )  # the grid is not drawn again under the typing
