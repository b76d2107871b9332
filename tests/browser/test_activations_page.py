"""The activations page in a real browser: curves from torch, derivatives, sliders, maxout,
and a feature map before and after."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from app.ops.presets.convolution import CONVOLUTION as PRESETS
from tests.utils.browser import screenshot
from tests.utils.plots import wait_for_cells

X = torch.tensor([k / 20 for k in range(-100, 101)], dtype=torch.float64)


def curve(page, name, index=0):
    return page.evaluate(f"() => document.getElementById('curve-{name}').data[{index}].y", None)


def ready(page):
    expect(page.locator("#apply")).to_have_attribute("data-state", "ready")


def test_curves_derivatives_and_the_slope_slider(page):
    page.goto("/activations")
    ready(page)
    expect(page.locator(".curve-card h3")).to_have_text(
        ["ReLU", "Leaky ReLU", "ELU", "Sigmoid", "tanh"]
    )
    assert curve(page, "sigmoid") == torch.sigmoid(X).tolist()
    assert curve(page, "leaky_relu") == F.leaky_relu(X, 0.1).tolist()
    assert page.evaluate("() => document.getElementById('curve-tanh').data.length") == 1
    expect(page.locator(".derivative-text").first).to_be_hidden()

    page.check("#show-derivatives")
    expect(page.locator(".derivative-text").first).to_be_visible()
    expect(page.locator('[data-function="tanh"] .derivative-text')).to_have_text(
        "f′(x) = 1 − tanh²(x)"
    )
    page.wait_for_function("() => document.getElementById('curve-tanh').data.length === 2")
    derivative = curve(page, "tanh", 1)
    torch.testing.assert_close(
        torch.tensor(derivative, dtype=torch.float64), 1 - torch.tanh(X) ** 2
    )

    page.locator('[name="negative_slope"]').fill("0.3")
    expect(page.locator("#slope-value")).to_have_text("0.3")
    page.wait_for_function(
        "() => document.getElementById('curve-leaky_relu').dataset.setting === '0.3'"
    )
    assert curve(page, "leaky_relu") == F.leaky_relu(X, 0.3).tolist()
    assert curve(page, "leaky_relu", 1)[0] == 0.3  # the derivative left of 0
    page.wait_for_function("() => location.search.includes('slope=0.3')")
    screenshot(page, "activations-curves")


def test_maxout_is_worked_out(page):
    page.goto("/activations")
    lines = page.locator("#maxout-expression .expr-line")
    expect(lines).to_have_count(4)
    expect(lines.nth(0)).to_contain_text("1×2 + 0.5×(−1) + 0 = 1.5")
    expect(lines.nth(0)).to_have_class("expr-line expr-winner")
    expect(lines.nth(1)).to_contain_text("(−1)×2 + 2×(−1) + 1 = −3")
    expect(lines.nth(3)).to_have_text("outputmax(z₁, z₂, z₃) = 1.5")
    assert page.evaluate("() => document.getElementById('maxout-plot').data.length") == 4


def test_a_feature_map_before_and_after(page):
    page.goto("/activations")
    ready(page)
    before = torch.tensor(PRESETS["vertical_edge_numbers"].expected, dtype=torch.float64)
    wait_for_cells(page, "#map-before", [f"{v:g}" for v in before.flatten().tolist()])
    wait_for_cells(page, "#map-after", [f"{v:g}" for v in F.relu(before).flatten().tolist()])
    expect(page.locator("#apply-summary")).to_have_text(
        "ReLU changed 11 of 16 values. Negative before: 69%, after: 0%; exactly zero after: 81%."
    )
    page.check('[name="function"][value="elu"]')
    ready(page)
    after = F.elu(before, 1.0)
    wait_for_cells(page, "#map-after", [f"{round(v, 4):g}" for v in after.flatten().tolist()])
    expect(page.locator("#after-name")).to_have_text("ELU")
    page.locator('[name="alpha"]').fill("2")
    page.wait_for_function("() => location.search.includes('alpha=2')")
    ready(page)
    after = F.elu(before, 2.0)
    wait_for_cells(page, "#map-after", [f"{round(v, 4):g}" for v in after.flatten().tolist()])

    page.select_option('[name="kernel"]', "sobel_left")
    ready(page)
    expect(page.locator('[name="source"][value="image"]')).to_be_checked()
    expect(page.locator("#apply-source")).to_have_text(
        "Feature map: Sobel left kernel on Chelsea the cat (grayscale, 0 to 1), 41 × 62."
    )
    bars = page.evaluate("() => document.getElementById('map-histogram').data.map(t => t.y)")
    assert [sum(b) for b in bars] == [41 * 62, 41 * 62]
    screenshot(page, "activations-feature-map")
    page.goto(page.url)
    ready(page)
    expect(page.locator('[name="function"][value="elu"]')).to_be_checked()
    expect(page.locator("#slope-value")).to_have_text("0.1")
    expect(page.locator("#alpha-value")).to_have_text("2")
