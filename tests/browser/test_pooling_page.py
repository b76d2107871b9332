"""The pooling page in a real browser: stepping, kinds, padding, channels, URL, the shift demo."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from app.ops.invariance import D2L_EDGES, D2L_KERNEL
from tests.utils.browser import ready, screenshot, set_pair
from tests.utils.plots import cell_texts, wait_for_cells

OUTPUT = "#output-plots .plot"
WINDOW = "#window-plots .plot"
COUNT = '#stepper [data-role="count"]'


def test_steps_through_the_lecture_max_pooling(page):
    page.goto("/pooling")
    ready(page)
    expect(page.locator("h1")).to_have_text("Pooling, step by step")
    expect(page.locator("#source")).to_contain_text("Leong, 'Pooling Layer'")
    expect(page.locator("#expression")).to_have_text("max(12, 20, 8, 12) = 20")
    expect(page.locator(COUNT)).to_have_text("Step 1 of 4")
    wait_for_cells(page, OUTPUT, ["20"])
    wait_for_cells(page, WINDOW, ["12", "20", "8", "12"])
    shapes = page.evaluate("document.querySelector('#input-plots .plot').layout.shapes")
    assert len(shapes) == 2  # the window and its winner
    assert (shapes[1]["x0"], shapes[1]["y0"]) == (0.5, -0.5)  # row 0, column 1: the 20

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#expression")).to_have_text("max(34, 70, 112, 100) = 112")
    expect(page.locator("#position")).to_contain_text("Output row 1, column 0")
    page.keyboard.press("End")
    wait_for_cells(page, OUTPUT, ["20", "30", "112", "37"])
    expect(page.locator("#formula")).to_contain_text("H' = ⌊(4 + 2·0 − 2) / 2⌋ + 1 = 2")
    expect(page.locator("#kind-fact")).to_contain_text("never win")
    screenshot(page, "pooling-max")


def test_average_and_sum_say_how_padding_counts(page):
    page.goto("/pooling?preset=average_padding")
    ready(page)
    expect(page.locator("#expression")).to_have_text("(0 + 0 + 0 + 0) / 4 = 0")
    expect(page.locator("#padding-hint")).to_have_text(
        "3 of the 4 cells are padding: they count as 0, and the divisor stays 4."
    )
    page.keyboard.press("End")
    expect(page.locator("#expression")).to_have_text("(4 + 5 + 7 + 8) / 4 = 6")
    wait_for_cells(page, OUTPUT, ["0", "0.75", "2.25", "6"])
    page.check('[name="kind"][value="sum"]')
    ready(page)
    expect(page.locator("#kind-fact")).to_contain_text("Torch has no sum pooling")
    page.keyboard.press("End")
    expect(page.locator("#expression")).to_have_text("4 + 5 + 7 + 8 = 24")
    x = torch.arange(9, dtype=torch.float64).reshape(1, 1, 3, 3)
    expected = F.avg_pool2d(x, 2, 2, 1) * 4
    wait_for_cells(page, OUTPUT, [f"{v:g}" for v in expected.flatten().tolist()])
    screenshot(page, "pooling-sum-padding")


def test_max_pads_with_minus_infinity_and_channels_stay_separate(page):
    page.goto("/pooling?preset=d2l_channels&step=3")
    ready(page)
    texts = cell_texts(page, "#input-plots .plot")
    assert texts.count("−∞") == 2 * 20  # the padding ring of both 4 × 4 channels
    expect(page.locator("#expression")).to_have_text("max(4, 5, 8, 9, 12, 13) = 13")
    expect(page.locator("#padding-hint")).to_contain_text(
        "3 of the 9 cells are padding: max ignores"
    )
    expect(page.locator("#position")).to_contain_text("Channel 0, output row 1, column 0")
    expect(page.locator("#channel-count")).to_have_text("2 channels, like the input")
    page.keyboard.press("End")
    expect(page.locator("#position")).to_contain_text("Channel 1, output row 1, column 1")
    wait_for_cells(page, OUTPUT, ["5", "7", "13", "15", "6", "8", "14", "16"])
    screenshot(page, "pooling-channels")


def test_editing_recomputes_the_url_reproduces_and_bad_settings_explain(page):
    page.goto("/pooling?preset=d2l_max")
    ready(page)
    expect(page.locator("#expression")).to_have_text("max(0, 1, 3, 4) = 4")
    cell = page.get_by_label("Input, row 0, column 0")
    cell.fill("9")
    cell.blur()
    expect(page.locator("#expression")).to_have_text("max(9, 1, 3, 4) = 9")
    page.keyboard.press("End")
    page.wait_for_function("() => location.search.includes('step=4')")
    url = page.url
    assert "input=1x3x3:9,1,2,3,4,5,6,7,8" in url and "kind=max" in url
    page.goto(url)
    ready(page)
    expect(page.locator(COUNT)).to_have_text("Step 4 of 4")
    wait_for_cells(page, OUTPUT, ["9", "5", "7", "8"])

    page.expected.append(422)
    set_pair(page, "size", 4, wait=False)
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")
    expect(page.locator("#error")).to_have_text(
        "the 4×4 window is larger than the padded input (3×3): use a smaller window or more padding"
    )
    set_pair(page, "size", 2)
    set_pair(page, "padding", 2, wait=False)
    expect(page.locator("#error")).to_contain_text("padding must be at most half the window")
    set_pair(page, "padding", 0)
    expect(page.locator("#error")).to_be_hidden()


def shift_counts(direction, size, stride):
    x = torch.tensor(D2L_EDGES, dtype=torch.float64)
    moved = torch.zeros_like(x)
    if direction == "down":
        moved[1:] = x[:-1]
    else:
        moved[:, 1:] = x[:, :-1]
    k = torch.tensor([[D2L_KERNEL]], dtype=torch.float64)
    conv = [F.conv2d(image[None, None], k)[0] for image in (x, moved)]
    pooled = [F.max_pool2d(c, size, stride) for c in conv]
    return [int((b != a).sum()) for a, b in (conv, pooled)], conv[0].numel(), pooled[0].numel()


def test_shifting_the_input_changes_the_pooled_output_less(page):
    page.goto("/pooling")
    expect(page.locator("#shift")).to_have_attribute("data-state", "ready")
    (conv, pooled), conv_total, pool_total = shift_counts("right", 2, 1)
    verdicts = page.locator('[data-role="verdict"]')
    expect(verdicts.nth(0)).to_have_text(f"{conv} of {conv_total} cells changed (71%)")
    expect(verdicts.nth(1)).to_have_text(f"{pooled} of {pool_total} cells changed (33%)")
    expect(page.locator("#shift-kernel")).to_contain_text("(1 × 2): 1 −1")
    page.locator("#shift").scroll_into_view_if_needed()
    screenshot(page, "pooling-shift")

    page.select_option('[name="shift"]', "down")
    (conv, pooled), _, _ = shift_counts("down", 2, 1)
    expect(page.locator("#shift-conv")).to_have_attribute("data-changed", str(conv))
    expect(page.locator("#shift-pooled")).to_have_attribute("data-changed", str(pooled))
    page.wait_for_function("() => location.search.includes('shift=down')")

    page.select_option('[name="demo"]', "mnist-7")
    expect(page.locator('[name="pool"]')).to_have_value("3")
    expect(page.locator("#shift")).to_have_attribute("data-state", "ready")
    expect(verdicts.nth(0)).to_contain_text("of 676 cells changed")
    expect(verdicts.nth(1)).to_contain_text("of 64 cells changed")
    screenshot(page, "pooling-shift-digit")
