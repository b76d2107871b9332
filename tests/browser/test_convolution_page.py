"""The convolution playground in a real browser: presets, stepping, settings, URL, channels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from tests.utils.browser import ready, screenshot, set_pair
from tests.utils.plots import wait_for_cells

OUTPUT = "#output-plots .plot"
SHARPEN_FIRST = "0×0 + 1×(−1) + 1×0 + 0×(−1) + 1×5 + 1×(−1) + 1×0 + 0×(−1) + 0×0 + 0 (bias) = 3"


def set_padding(page, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type the padding as a person would ("1", "1, 0, 1, 0", "same") and wait for the page."""
    page.fill('[name="padding"]', text)
    page.dispatch_event('[name="padding"]', "change")
    page.evaluate("document.activeElement.blur()")
    ready(page)


def test_steps_through_the_lecture_sharpen_example(page):
    page.goto("/convolution")
    ready(page)
    expect(page.locator("#expression")).to_have_text(SHARPEN_FIRST)
    expect(page.locator('[data-role="count"]')).to_have_text("Step 1 of 9")
    wait_for_cells(page, OUTPUT, ["3"])

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 3 of 9")
    expect(page.locator("#expression")).to_contain_text("= −2")
    wait_for_cells(page, OUTPUT, ["3", "3", "-2"])
    expect(page.locator("#position")).to_contain_text("Output row 0, column 2")

    page.keyboard.press("ArrowLeft")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 2 of 9")
    page.click('[data-action="last"]')
    wait_for_cells(page, OUTPUT, ["3", "3", "-2", "-3", "-3", "4", "3", "3", "-4"])
    page.keyboard.press("Home")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 1 of 9")
    screenshot(page, "convolution-sharpen")


def test_padding_and_stride_change_everything_at_once(page):
    page.goto("/convolution?preset=sharpen")
    ready(page)
    set_padding(page, "1")
    expect(page.locator("#output-shape")).to_have_text("1 × 5 × 5")
    expect(page.locator("#formula")).to_contain_text("H' = ⌊(5 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 5")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 1 of 25")
    expect(page.locator("#expression")).to_contain_text("0×0 + 0×(−1) + 0×0 + 0×(−1) + 0×5")
    page.keyboard.press("End")
    wait_for_cells(
        page,
        OUTPUT,
        [
            "-1",
            "3",
            "3",
            "-1",
            "0",
            "-2",
            "3",
            "3",
            "-2",
            "-1",
            "5",
            "-3",
            "-3",
            "4",
            "3",
            "-3",
            "3",
            "3",
            "-4",
            "3",
            "4",
            "2",
            "2",
            "3",
            "3",
        ],
    )

    set_pair(page, "stride", 2)
    expect(page.locator("#output-shape")).to_have_text("1 × 3 × 3")
    expect(page.locator("#formula")).to_contain_text("⌊(5 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 3")
    page.keyboard.press("End")
    wait_for_cells(page, OUTPUT, ["-1", "3", "0", "5", "-3", "3", "4", "2", "3"])
    expect(page.locator("#expression")).to_contain_text("= 3")
    expect(page.locator("#params-conv")).to_have_text("(3·3·1 + 1)·1 = 10")
    screenshot(page, "convolution-padding-stride")


def test_a_preset_with_a_slide_mistake_says_so(page):
    page.goto("/convolution")
    ready(page)
    page.select_option("#preset", "vertical_edge_numbers")
    ready(page)
    expect(page.locator("#note")).to_be_visible()
    expect(page.locator("#note")).to_contain_text("The slide prints −16")
    page.click('[data-action="next"]')
    for _ in range(3):
        page.click('[data-action="next"]')
    expect(page.locator("#expression")).to_contain_text("= −10")


def test_editing_a_cell_recomputes_and_the_url_reproduces_the_view(page):
    page.goto("/convolution?preset=d2l_cross_correlation")
    ready(page)
    expect(page.locator("#expression")).to_have_text("0×0 + 1×1 + 3×2 + 4×3 + 0 (bias) = 19")
    cell = page.get_by_label("Input, row 0, column 0")
    cell.fill("10")
    cell.blur()
    expect(page.locator("#expression")).to_have_text("10×0 + 1×1 + 3×2 + 4×3 + 0 (bias) = 19")
    page.get_by_label("Kernel, row 0, column 0").fill("−1")
    page.evaluate("document.activeElement.blur()")
    expect(page.locator("#expression")).to_have_text("10×(−1) + 1×1 + 3×2 + 4×3 + 0 (bias) = 9")
    expect(page.locator("#note")).to_be_hidden()
    page.keyboard.press("End")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 4 of 4")
    page.wait_for_function("() => location.search.includes('step=4')")
    url = page.url
    assert "input=1x3x3:10,1,2,3,4,5,6,7,8" in url

    page.goto(url)
    ready(page)
    expect(page.locator('[data-role="count"]')).to_have_text("Step 4 of 4")
    expect(page.locator("#expression")).to_have_text("4×(−1) + 5×1 + 7×2 + 8×3 + 0 (bias) = 39")
    edited = F.conv2d(
        torch.tensor([[[[10.0, 1, 2], [3, 4, 5], [6, 7, 8]]]]),
        torch.tensor([[[[-1.0, 1], [2, 3]]]]),
    )
    wait_for_cells(page, OUTPUT, [f"{v:g}" for v in edited.flatten().tolist()])


def test_play_advances_and_pause_stops(page):
    page.goto("/convolution?preset=sharpen_padded")
    ready(page)
    page.select_option('[data-role="speed"]', "16")
    page.keyboard.press(" ")
    expect(page.locator("#stepper")).to_have_attribute("data-playing", "true")
    page.wait_for_function("() => Number(document.querySelector('#stepper').dataset.index) >= 5")
    page.click('[data-action="play"]')
    expect(page.locator("#stepper")).to_have_attribute("data-playing", "false")
    stopped = page.locator("#stepper").get_attribute("data-index")
    page.wait_for_timeout(300)
    assert page.locator("#stepper").get_attribute("data-index") == stopped
    page.keyboard.press("End")
    page.click('[data-action="play"]')  # at the end, play starts over
    page.wait_for_function("() => document.querySelector('#stepper').dataset.playing === 'false'")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 25 of 25")


def test_channels_show_partial_sums_bias_and_feature_maps(page):
    page.goto("/convolution?preset=rgb_two_filters&step=14")
    ready(page)
    expect(page.locator('[data-role="count"]')).to_have_text("Step 14 of 50")
    lines = page.locator(".expr-line")
    expect(lines).to_have_count(4)
    expect(lines.nth(0)).to_contain_text("channel 0 (R)")
    expect(lines.nth(0)).to_contain_text("= 4")
    expect(lines.nth(3)).to_have_text("total4 + 0 + 0 + 1 (bias) = 5")
    expect(page.locator("#output-plots figure")).to_have_count(2)
    expect(page.locator("#kernel-plots figure")).to_have_count(3)
    expect(page.locator("#kernel-title")).to_have_text("Kernel for feature map 0")
    expect(page.locator("#params-conv")).to_have_text("(3·3·3 + 1)·2 = 56")
    page.keyboard.press("End")
    expect(page.locator("#kernel-title")).to_have_text("Kernel for feature map 1")
    expect(page.locator("#position")).to_contain_text("Feature map 1, row 4, column 4")
    screenshot(page, "convolution-channels")


def test_flip_shows_the_rotated_kernel(page):
    page.goto("/convolution?preset=flip_first")
    ready(page)
    expect(page.locator("#kernel-title")).to_have_text("Kernel, flipped 180°")
    wait_for_cells(page, "#kernel-plots .plot", ["9", "8", "7", "6", "5", "4", "3", "2", "1"])
    page.uncheck('[name="flip"]')
    ready(page)
    expect(page.locator("#kernel-title")).to_have_text("Kernel")
    wait_for_cells(page, "#kernel-plots .plot", ["1", "2", "3", "4", "5", "6", "7", "8", "9"])


def test_dilation_shows_its_footprint_and_bad_settings_show_the_servers_message(page):
    page.goto("/convolution?preset=dilated")
    ready(page)
    expect(page.locator("#footprint")).to_contain_text("spans 5 × 5")
    expect(page.locator("#receptive-field")).to_contain_text(
        "5 × 5 cells of the padded input in each channel (the shaded square), read through 9 "
        "weights"
    )
    shapes = page.evaluate("document.querySelector('#input-plots .plot').layout.shapes")
    assert len(shapes) == 1 + 9  # the footprint plus each of the nine taps
    assert shapes[0]["fillcolor"] != "rgba(0,0,0,0)"  # the receptive field is shaded
    # the kernel drawn dilated: its nine weights spread over 5 × 5, holes between them
    expect(page.locator("#kernel-title")).to_have_text("Kernel, dilated 2")
    expect(page.locator("#kernel-plots figcaption")).to_have_text("3 × 3 weights over 5 × 5")
    wait_for_cells(page, "#kernel-plots .plot", ["1", "0", "-1"] * 3 + ["·"] * 16)
    screenshot(page, "convolution-dilated")
    page.expected.append(422)
    set_pair(page, "dilation", 3, wait=False)
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")
    expect(page.locator("#error")).to_contain_text(
        "the 3×3 kernel, dilated to 7×7, is larger than the padded input (6×6)"
    )
    set_pair(page, "dilation", 1)
    expect(page.locator("#error")).to_be_hidden()


def test_a_32_by_32_rgb_input_steps_to_the_end(page):
    page.goto("/convolution?preset=sharpen")
    ready(page)
    for name, value in (("in_c", 3), ("in_h", 32), ("in_w", 32)):
        page.fill(f'[name="{name}"]', str(value))
        page.dispatch_event(f'[name="{name}"]', "change")
    page.evaluate("document.activeElement.blur()")
    ready(page)
    page.click("#random")
    ready(page)
    set_padding(page, "1")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 1 of 1024")
    page.select_option('[data-role="speed"]', "120")
    page.keyboard.press(" ")
    page.wait_for_function("() => Number(document.querySelector('#stepper').dataset.index) > 60")
    page.keyboard.press(" ")
    page.keyboard.press("End")
    expect(page.locator('[data-role="count"]')).to_have_text("Step 1024 of 1024")
    screenshot(page, "convolution-32x32")
