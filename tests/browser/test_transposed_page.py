"""The transposed-convolution page in a real browser: both views, two steppers, the slide's
correction, padding and output padding, bad settings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from tests.utils.browser import ready, screenshot
from tests.utils.plots import cell_texts, wait_for_cells

STAMP_OUT = "#stamp-output .plot"
CONV_OUT = "#conv-output .plot"
STAMP_COUNT = '#stamp-stepper [data-role="count"]'
CONV_COUNT = '#conv-stepper [data-role="count"]'


def texts(tensor):
    return [f"{v:g}" for v in tensor.flatten().tolist()]


def test_the_lecture_upsampling_example_in_both_views(page):
    page.goto("/transposed")
    ready(page)
    expect(page.locator("#note")).to_be_visible()
    expect(page.locator("#note")).to_contain_text("The slide prints the last two rows as 2 2 3 0")
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 1 of 4")
    expect(page.locator(CONV_COUNT)).to_have_text("Step 1 of 16")
    lines = page.locator("#stamp-expression .expr-line")
    expect(lines).to_have_count(4)
    expect(lines.nth(1)).to_have_text("(0, 1)0 + 1×1 = 1")
    expect(page.locator("#stamp-position")).to_contain_text("Input row 0, column 0 = 1 stamps")
    # the zero-inserted input padded by 1: 4 input cells, 5 inserted zeros, 16 padding zeros
    conv_texts = cell_texts(page, "#conv-input .plot")
    assert len(conv_texts) == 25
    assert sorted(t for t in conv_texts if t != "0") == ["1", "2", "3"]
    kinds = page.evaluate(
        "() => document.querySelector('#conv-input .plot').data.map(t => t.z.flat()"
        ".filter(v => v !== null).length)"
    )
    assert kinds == [4, 16, 5]  # input cells, then the padding and inserted-zero overlays

    # → drives the stepper used last: first the stamps
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 3 of 4")
    expect(page.locator("#stamp-expression")).to_contain_text("(3, 0)0 + 2×1 = 2")
    page.click('#stamp-stepper [data-action="last"]')
    expected = F.conv_transpose2d(
        torch.tensor([[[[1.0, 0], [2, 3]]]]), torch.tensor([[[[0.0, 1], [1, 0]]]]), stride=2
    )
    wait_for_cells(page, STAMP_OUT, texts(expected))

    # then the equivalent convolution, once its stepper is used
    page.click('#conv-stepper [data-action="next"]')
    expect(page.locator("#conv-stepper")).to_have_attribute("data-active", "true")
    expect(page.locator("#stamp-stepper")).to_have_attribute("data-active", "false")
    page.keyboard.press("End")
    expect(page.locator(CONV_COUNT)).to_have_text("Step 16 of 16")
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 4 of 4")
    wait_for_cells(page, CONV_OUT, texts(expected))
    expect(page.locator("#conv-expression")).to_have_text("3×0 + 0×1 + 0×1 + 0×0 + 0 (bias) = 0")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#conv-expression")).to_have_text("0×0 + 3×1 + 0×1 + 0×0 + 0 (bias) = 3")
    expect(page.locator("#formula")).to_contain_text("H' = (2 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 4")
    screenshot(page, "transposed-upsampling")


def test_padding_crops_and_output_padding_extends(page):
    page.goto("/transposed?preset=double_size&step=5")
    ready(page)
    expect(page.locator("#stamp-output figcaption")).to_have_text("6 × 6, cropped from 8 × 8")
    expect(page.locator("#formula")).to_contain_text("H' = (3 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 6")
    expect(page.locator("#equivalent-fact")).to_contain_text("1 above, 2 below")
    expect(page.locator("#stamp-expression .expr-line")).to_have_count(9)
    expect(page.locator("#stamp-expression")).to_contain_text("(1, 1)3 + 1×1 = 4")
    x = torch.tensor([[[[1.0, 2, 0], [0, 1, 3], [2, 0, 1]]]])
    expected = F.conv_transpose2d(x, torch.ones(1, 1, 3, 3), stride=2, padding=1, output_padding=1)
    page.click('#conv-stepper [data-action="last"]')
    wait_for_cells(page, CONV_OUT, texts(expected))
    page.click('#stamp-stepper [data-action="last"]')
    wait_for_cells(page, STAMP_OUT, texts(expected))  # the cropped ring prints nothing
    screenshot(page, "transposed-double-size")


def test_channels_edits_url_and_bad_settings(page):
    page.goto("/transposed?preset=two_channels")
    ready(page)
    expect(page.locator("#stamp-kernel-title")).to_have_text("Kernel for input channel 0")
    page.click('#stamp-stepper [data-action="last"]')
    expect(page.locator("#stamp-kernel-title")).to_have_text("Kernel for input channel 1")
    expect(page.locator("#conv-kernel figcaption")).to_have_count(2)
    page.get_by_label("Input, channel 0, row 0, column 0").fill("5")
    page.evaluate("document.activeElement.blur()")
    expect(page.locator("#note")).to_be_hidden()
    x = torch.tensor([[[5.0, 2], [3, 4]], [[1, 0], [0, 1]]])[None]
    w = torch.tensor([[[[1.0, 0], [0, 1]]], [[[1, 1], [1, 1]]]])
    expected = F.conv_transpose2d(x, w, torch.tensor([1.0]), stride=2)
    wait_for_cells(page, STAMP_OUT, texts(expected))
    page.wait_for_function("() => location.search.includes('input=2x2x2:5,2,3,4')")
    page.goto(page.url)
    ready(page)
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 8 of 8")
    wait_for_cells(page, STAMP_OUT, texts(expected))

    page.expected.append(422)
    for axis in ("h", "w"):
        page.fill(f'[name="output_padding_{axis}"]', "2")
        page.dispatch_event(f'[name="output_padding_{axis}"]', "change")
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")
    expect(page.locator("#error")).to_contain_text(
        "output_padding must be smaller than the stride or the dilation (2 ≥ 2 for the rows"
    )
    for axis in ("h", "w"):
        page.fill(f'[name="output_padding_{axis}"]', "1")
        page.dispatch_event(f'[name="output_padding_{axis}"]', "change")
    ready(page)
    expect(page.locator("#stamp-shape")).to_have_text("1 × 5 × 5")


def test_linked_steppers_show_the_same_knowledge_of_the_output(page):
    """Linked (the default), a step in one view moves the other to the last output cell
    whose value is then known: 4 stamps against 16 windows, side by side at 1280×720."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto("/transposed")
    ready(page)
    expect(page.locator("#link-views")).to_be_checked()
    page.click('#stamp-stepper [data-action="next"]')  # stamps 0 and 1: rows 0-1 known
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 2 of 4")
    expect(page.locator(CONV_COUNT)).to_have_text("Step 8 of 16")
    page.click('#conv-stepper [data-action="next"]')  # row 2, column 0 needs stamp 2
    expect(page.locator(CONV_COUNT)).to_have_text("Step 9 of 16")
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 3 of 4")
    page.keyboard.press("End")
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 4 of 4")
    stamp, conv = (page.locator(f"#{v}-view").bounding_box() for v in ("stamp", "conv"))
    assert stamp and conv and stamp["y"] == conv["y"], "the two views side by side"
    page.uncheck("#link-views")
    page.click('#stamp-stepper [data-action="first"]')
    expect(page.locator(STAMP_COUNT)).to_have_text("Step 1 of 4")
    expect(page.locator(CONV_COUNT)).to_have_text("Step 16 of 16")
    screenshot(page, "transposed-linked-1280")
