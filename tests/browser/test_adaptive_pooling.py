"""Adaptive pooling on the pooling page in a real browser: torch's windows stepped through,
the output equal to F.adaptive_avg_pool2d / F.adaptive_max_pool2d, the URL, bad sizes, and
no horizontal scroll at three screen sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from tests.utils.browser import ready, screenshot, set_pair
from tests.utils.plots import wait_for_cells

SECTION = "#adaptive"
OUTPUT = "#adaptive-output"
START = [[(3 * r + 5 * c + r * c) % 10 for c in range(7)] for r in range(5)]


def shown(value: float) -> str:
    """A number as the page prints it: at most four decimals, no trailing .0."""
    text = repr(round(value, 4))
    return text[:-2] if text.endswith(".0") else text


def last_step(page):  # type: ignore[no-untyped-def]
    page.click('#adaptive-stepper [data-action="last"]')


def test_average_windows_are_torchs_and_the_output_equals_torch(page):
    page.goto("/pooling")
    ready(page, SECTION)
    page.locator(SECTION).scroll_into_view_if_needed()
    expect(page.locator("#adaptive-expression")).to_have_text(
        "(0 + 5 + 0 + 3 + 9 + 5 + 6 + 3 + 0) / 9 = 3.4444"
    )
    expect(page.locator("#adaptive-position")).to_have_text(
        "Output row 0, column 0 ← input rows 0…2 and columns 0…2: a 3 × 3 window"
    )
    expect(page.locator("#adaptive-rows li")).to_have_text(
        [
            "row 0: ⌊0·5/2⌋ = 0 to ⌈1·5/2⌉ = 3 → rows 0…2 (3)",
            "row 1: ⌊1·5/2⌋ = 2 to ⌈2·5/2⌉ = 5 → rows 2…4 (3)",
        ]
    )
    expect(page.locator("#adaptive-note")).to_contain_text("some windows overlap")
    last_step(page)
    x = torch.tensor(START, dtype=torch.float64)
    expected = F.adaptive_avg_pool2d(x[None], (2, 3))[0]
    wait_for_cells(page, OUTPUT, [shown(v) for v in expected.flatten().tolist()])
    expect(page.locator("#adaptive-cols li.current")).to_have_text(
        "column 2: ⌊2·7/3⌋ = 4 to ⌈3·7/3⌉ = 7 → cols 4…6 (3)"
    )
    shapes = page.evaluate("document.querySelector('#adaptive-input').layout.shapes")
    assert (shapes[0]["x0"], shapes[0]["x1"], shapes[0]["y0"], shapes[0]["y1"]) == (
        3.5, 6.5, 1.5, 4.5,
    )  # fmt: skip
    screenshot(page, "adaptive-avg")


def test_max_marks_the_winner_and_a_new_size_keeps_the_output_size(page):
    page.goto("/pooling?ad_kind=max&ad_out=3,3")
    ready(page, SECTION)
    set_pair(page, "ad_in", 8, wait=False)
    ready(page, SECTION)
    expect(page.locator("#adaptive-out-shape")).to_have_text("3 × 3")
    expect(page.locator("#adaptive-in-shape")).to_have_text("8 × 8")
    last_step(page)
    x = torch.tensor([[*row, 0] for row in START] + [[0] * 8] * 3, dtype=torch.float64)
    expected = F.adaptive_max_pool2d(x[None], (3, 3))[0]
    wait_for_cells(page, OUTPUT, [shown(v) for v in expected.flatten().tolist()])
    shapes = page.evaluate("document.querySelector('#adaptive-input').layout.shapes")
    assert len(shapes) == 2  # the window and its winner
    page.wait_for_function("() => location.search.includes('ad_input=8x8:')")
    url = page.url
    assert "ad_kind=max" in url and "ad_out=3,3" in url
    page.goto(url)
    ready(page, SECTION)
    expect(page.locator("#adaptive-in-shape")).to_have_text("8 × 8")
    expect(page.get_by_role("radio", name="Max").last).to_be_checked()
    page.locator(SECTION).scroll_into_view_if_needed()
    screenshot(page, "adaptive-max")


def test_no_horizontal_scroll_at_three_sizes(page):
    for width, height in ((1600, 1000), (1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/pooling?ad_out=4,4")
        ready(page, SECTION)
        expect(page.locator("#adaptive-out-shape")).to_have_text("4 × 4")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        box = page.locator(OUTPUT).bounding_box()
        assert box is not None and box["x"] + box["width"] <= width
        page.locator(SECTION).scroll_into_view_if_needed()
        screenshot(page, f"adaptive-{width}x{height}", full_page=False)
