"""The 1×1-convolution page in a real browser: per-pixel mixing, presets, edits, URL."""

from __future__ import annotations

import torch
from playwright.sync_api import expect

from app.ops.presets.pointwise import pointwise_presets
from tests.utils.browser import ready, screenshot
from tests.utils.plots import wait_for_cells

OUTPUT = "#output-plots .plot"


def mixed(preset):
    x = torch.tensor(preset.input, dtype=torch.float64)
    w = torch.tensor(preset.weights, dtype=torch.float64)
    return torch.einsum("oc,chw->ohw", w, x) + torch.tensor(preset.bias)[:, None, None]


def test_each_pixel_is_mixed_by_the_matrix(page):
    page.goto("/pointwise")
    ready(page)
    lines = page.locator("#expression .expr-line")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_have_text("y₀1×1 + 0×2 + (−1)×0 + 0 (bias) = 1")
    expect(lines.nth(1)).to_have_text("y₁0.5×1 + 0.5×2 + 0.5×0 + 1 (bias) = 2.5")
    wait_for_cells(page, "#pixel-plot", ["1", "2", "0"])
    wait_for_cells(page, "#matrix-plot", ["1", "0", "-1", "0.5", "0.5", "0.5"])
    expect(page.locator("#params-conv")).to_have_text("(1·1·3 + 1)·2 = 8")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#position")).to_contain_text("Pixel row 0, column 1")
    page.keyboard.press("End")
    expected = mixed(pointwise_presets()["fuse_channels"])
    wait_for_cells(page, OUTPUT, [f"{v:g}" for v in expected.flatten().tolist()])
    screenshot(page, "pointwise-fuse")


def test_grayscale_is_a_1x1_convolution_and_edits_recompute(page):
    preset = pointwise_presets()["gray"]
    page.goto("/pointwise?preset=gray&step=14")
    ready(page)
    x = torch.tensor(preset.input, dtype=torch.float64)
    pixel = x[:, 1, 1].tolist()
    value = mixed(preset)[0, 1, 1].item()
    expect(page.locator("#expression")).to_have_text(
        f"y₀0.299×{pixel[0]:g} + 0.587×{pixel[1]:g} + 0.114×{pixel[2]:g} + 0 (bias) = "
        f"{round(value, 4):g}"
    )
    expect(page.locator("#source")).to_contain_text("ITU-R BT.601")
    screenshot(page, "pointwise-gray")
    page.get_by_label("W, row 0, column 0").fill("1")
    page.evaluate("document.activeElement.blur()")
    expect(page.locator("#expression")).to_contain_text(f"1×{pixel[0]:g} + 0.587×")
    page.wait_for_function("() => location.search.includes('weights=1x3:1,0.587,0.114')")
    page.goto(page.url)
    ready(page)
    expect(page.locator('[data-role="count"]')).to_have_text("Step 14 of 96")
    expect(page.locator("#expression")).to_contain_text(f"1×{pixel[0]:g} + 0.587×")
