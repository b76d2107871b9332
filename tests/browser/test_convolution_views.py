"""The playground's 1-D and 3-D views and the 2-D padding settings in a real browser, at
1600×1000, 1280×720 and 390×844: what a person sees (the words over a sentence, a sound's
curve, a volume's slices lit where the kernel cube is, the sums written out) equals torch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from app.ops.presets.convolution_nd import nd_presets
from tests.utils.browser import ready, screenshot
from tests.utils.plots import wait_for_cells

SIZES = [(1600, 1000), (1280, 720), (390, 844)]
SHOTS = Path("/work/helpers/shots/H")


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    path = screenshot(page, name)
    if SHOTS.parent.is_dir():  # the helpers' folder, where it exists
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def no_horizontal_scroll(page, width: int) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def type_setting(page, name: str, text: str, wait: bool = True) -> None:  # type: ignore[no-untyped-def]
    page.fill(f'[name="{name}"]', text)
    page.dispatch_event(f'[name="{name}"]', "change")
    page.evaluate("document.activeElement.blur()")
    if wait:
        ready(page, "#nd-stage")


def conv1d(preset, padding):  # type: ignore[no-untyped-def]
    x = torch.tensor(preset.input, dtype=torch.float64)
    x = x if x.dim() == 2 else x[None]
    w = torch.tensor(preset.kernel, dtype=torch.float64)
    w = w[(None,) * (3 - w.dim())]
    return F.conv1d(x[None], w, padding=padding)[0]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_sentence_slides_under_a_three_word_filter(page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/convolution?dims=1")
    ready(page, "#nd-stage")
    expect(page.locator('#view-tabs [aria-current="page"]')).to_have_text("1-D: signals and text")
    expect(page.locator("#stage")).to_be_hidden()  # the 2-D playground
    expect(page.locator("#nd-preset")).to_have_value("text_trigrams")
    expect(page.locator(".nd-labels")).to_contain_text("thecatsatonthemat")
    expect(page.locator("#nd-stepper [data-role=count]")).to_have_text("Step 1 of 12")
    preset = nd_presets(1)["text_trigrams"]
    expected = conv1d(preset, 1)  # 'same' with a kernel of 3: one position on each side
    first = f"= {expected[0, 0].item():g}"
    expect(page.locator("#nd-expression .expr-total")).to_contain_text(first)
    expect(page.locator("#nd-position")).to_contain_text("it starts in the padding")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#nd-position")).to_contain_text("position 1")
    expect(page.locator("#nd-position")).to_contain_text("it starts at “the”")
    page.keyboard.press("End")
    shown = [f"{v:.2f}".rstrip("0").rstrip(".") for v in expected.flatten().tolist()]
    wait_for_cells(page, "#nd-output .plot", shown)
    expect(page.locator("#nd-formula")).to_contain_text(
        "L' = ⌊(6 + 2·1 − 1·(3 − 1) − 1) / 1⌋ + 1 = 6"
    )
    expect(page.locator("#nd-params-conv")).to_have_text("(3·4 + 1)·2 = 26")
    expect(page.locator("#conventions")).to_contain_text("p is what is added on each side")
    no_horizontal_scroll(page, width)
    shot(page, f"conv1d-text-{width}")

    type_setting(page, "nd_padding", "valid")
    expect(page.locator("#nd-stepper [data-role=count]")).to_have_text("Step 1 of 8")
    # written a moment after the change (lib/urlstate.js gathers changes for 200 ms)
    page.wait_for_function(
        "() => location.search.endsWith('step=1') && location.search.includes('padding=valid')"
    )


def test_a_sound_drawn_as_a_curve_with_the_window_shaded(page):
    page.goto("/convolution?dims=1&preset=audio_smoothing")
    ready(page, "#nd-stage")
    expect(page.locator(".nd-wave .scatterlayer path.js-line")).to_have_count(1)
    expect(page.locator("#nd-padding-text")).to_contain_text("the edge repeated")
    expect(page.locator("#nd-stepper [data-role=count]")).to_have_text("Step 1 of 40")
    # replicate padding: the first window reads the first sample three times
    expect(page.locator("#nd-expression")).to_contain_text("0×0.2 + 0×0.2 + 0×0.2 + 0.47×0.2")
    page.keyboard.press("ArrowRight")
    shaded = page.evaluate(
        "() => document.querySelector('.nd-wave').layout.shapes.map(s => [s.x0, s.x1])"
    )
    assert shaded[-1] == [0.5, 5.5]  # the window: padded positions 1 to 5
    shot(page, "conv1d-audio-1600")


def test_the_difference_filter_finds_the_click(page):
    page.goto("/convolution?dims=1&preset=audio_difference&step=23")
    ready(page, "#nd-stage")
    x = torch.tensor(nd_presets(1)["audio_difference"].input, dtype=torch.float64)
    jump = x[23] - x[22]
    expect(page.locator("#nd-expression")).to_contain_text(f"= {jump.item():.4g}")
    expect(page.locator("#nd-position")).to_contain_text("Output position 22")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_video_as_slices_with_the_kernel_cube_lit_where_it_is(page, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/convolution?dims=3")
    ready(page, "#nd-stage")
    expect(page.locator("#nd-preset")).to_have_value("video_motion")
    expect(page.locator("#nd-input .plot-slot")).to_have_count(4)  # 4 frames, no padding
    expect(page.locator("#nd-kernel .plot-slot")).to_have_count(2)  # a 2×2×2 cube
    expect(page.locator("#nd-output .plot-slot")).to_have_count(3)
    expect(page.locator("#nd-input .plot-slot.lit")).to_have_count(2)
    expect(page.locator("#nd-input .plot-slot.lit figcaption").first).to_have_attribute(
        "data-kernel-slice", "× kernel slice 0"
    )
    expect(page.locator("#nd-stepper [data-role=count]")).to_have_text("Step 1 of 75")
    page.keyboard.press("End")  # the last window: frames 2 and 3
    lit = page.locator("#nd-input .plot-slot.lit figcaption")
    expect(lit).to_have_text(["slice 2 = input 2", "slice 3 = input 3"])
    preset = nd_presets(3)["video_motion"]
    x = torch.tensor(preset.input, dtype=torch.float64)[None, None]
    w = torch.tensor(preset.kernel, dtype=torch.float64)[None, None]
    out = F.conv3d(x, w)[0, 0]
    shown = [f"{v + 0.0:g}" for v in out[2].flatten().tolist()]
    wait_for_cells(page, "#nd-output .plot-slot:nth-child(3) .plot", shown)
    expect(page.locator("#nd-formula")).to_contain_text(
        "D' = ⌊(4 + 2·0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 3"
    )
    no_horizontal_scroll(page, width)
    shot(page, f"conv3d-video-{width}")


def test_a_scan_with_padding_and_a_three_by_three_by_three_filter(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/convolution?dims=3&preset=medical_nodule&step=40")
    ready(page, "#nd-stage")
    expect(page.locator("#nd-input .plot-slot")).to_have_count(7)  # 5 slices, padded 1 + 1
    expect(page.locator("#nd-input .plot-slot.lit")).to_have_count(3)
    expect(page.locator("#nd-input figcaption").first).to_have_text("slice 0 (padding)")
    expect(page.locator("#nd-kernel-title")).to_have_text("Kernel: 3 × 3 × 3, a cube")
    expect(page.locator("#nd-padding-text")).to_contain_text("the edge repeated")
    expect(page.locator("#nd-params-conv")).to_have_text("(3·3·3·1 + 1)·1 = 28")
    no_horizontal_scroll(page, 390)
    shot(page, "conv3d-scan-390")


def test_bad_settings_are_said_and_nothing_is_computed(page):
    page.goto("/convolution?dims=1&preset=formula_1d")
    ready(page, "#nd-stage")
    type_setting(page, "nd_padding", "two", wait=False)
    expect(page.locator("#nd-error")).to_contain_text("Padding “two”: type whole numbers")
    expect(page.locator('[name="nd_padding"]')).to_have_attribute("aria-invalid", "true")
    type_setting(page, "nd_padding", "1")
    expect(page.locator("#nd-error")).to_be_hidden()
    expect(page.locator("#nd-stepper [data-role=count]")).to_have_text("Step 1 of 8")
    page.expected.append(422)
    page.select_option('[name="nd_padding_mode"]', "reflect")
    type_setting(page, "nd_padding", "7", wait=False)
    expect(page.locator("#nd-error")).to_contain_text(
        "reflect padding mirrors the input without its edge, so it must be smaller than the "
        "input: 7 ≥ 7 positions along L"
    )


def test_two_dimensional_padding_same_per_side_and_modes(page):
    page.goto("/convolution?preset=same_torch")
    ready(page)
    expect(page.locator('[name="padding"]')).to_have_value("same")
    expect(page.locator("#output-shape")).to_have_text("1 × 3 × 3")
    page.keyboard.press("End")
    wait_for_cells(page, "#output-plots .plot", ["19", "25", "10", "37", "43", "16", "7", "8", "0"])
    page.select_option("#preset", "same_slide")
    ready(page)
    expect(page.locator('[name="padding"]')).to_have_value("1, 0, 1, 0")
    page.keyboard.press("End")
    wait_for_cells(page, "#output-plots .plot", ["0", "3", "8", "9", "19", "25", "21", "37", "43"])
    expect(page.locator("#formula")).to_contain_text(
        "H' = ⌊(3 + 1 + 0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 3"
    )
    page.select_option("#preset", "sharpen_reflect")
    ready(page)
    expect(page.locator('[name="padding_mode"]')).to_have_value("reflect")
    expect(page.locator("#padding-mode-text")).to_contain_text("mirrored")
    # the padded input's corner is the input's [1][1] mirrored: 1, not a grey 0
    expect(page.locator("#expression")).to_contain_text("1×0 + 0×(−1) + 1×0")
    page.select_option('[name="padding_mode"]', "zeros")
    ready(page)
    expect(page.locator("#expression")).to_contain_text("0×0 + 0×(−1) + 0×0")
    expect(page.locator("#conventions")).to_contain_text("⌈p/2⌉ after")
    shot(page, "conv2d-padding-1600")
