"""The classic architectures' pages in a real browser (/networks/{name}/architecture): the
untrained note, the facts, the block diagram with its residual and skip connections, where
the parameters and the compute are, the receptive field's growth, the shrinking question
asked again from the form and kept in the URL, and no sideways scroll on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.nets.registry import get_model_spec
from app.services.architecture_figures import blocks
from tests.utils.browser import screenshot

TIMEOUT = 120_000  # the first page may wait for the server to trace its first network


def open_page(page, name: str, query: str = "") -> None:
    page.goto(f"/networks/{name}/architecture{query}", timeout=TIMEOUT)
    expect(page.locator("#block-diagram")).to_have_attribute("data-state", "ready")
    expect(page.locator("#cost-plot .main-svg").first).to_be_visible()
    expect(page.locator("#field-plot .main-svg").first).to_be_visible()


def mega(n: int) -> str:
    return f"{n / 1e6:.1f} M"


def test_vgg16_says_it_is_untrained_and_where_its_parameters_are(page):
    open_page(page, "vgg16")
    summary = get_model_spec("vgg16").summary
    note = page.locator("#untrained")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Untrained: random weights.")
    expect(page.locator("#facts")).to_contain_text("138,357,544 parameters")
    expect(page.locator("#facts")).to_contain_text("15.47 G multiply-adds per image")
    dense = sum(row.parameters for row in summary.nodes if row.type == "Linear")
    conv = sum(row.macs for row in summary.nodes if row.type == "Conv2d")
    expect(page.locator("#cost-sentence")).to_contain_text(
        f"Dense layers hold {mega(dense)} of the {mega(summary.total_parameters)} parameters "
        f"({100 * dense / summary.total_parameters:.1f}\u00a0%)"
    )
    expect(page.locator("#cost-sentence")).to_contain_text(
        f"convolutions do {conv / 1e9:.2f} G of the {summary.total_macs / 1e9:.2f} G "
        f"multiply-adds ({100 * conv / summary.total_macs:.1f}\u00a0%)"
    )
    names = [b["name"] for b in blocks(summary)["blocks"]]
    expect(page.locator(".block .block-name")).to_have_text(names)
    expect(page.locator("#block-diagram")).to_have_attribute("data-links", "0")
    expect(page.locator(".arch-table tbody tr")).to_have_count(len(summary.nodes) + 1)
    # the lecture's question, answered: 55 layers, not 44
    answer = page.locator("#shrink-answer")
    expect(answer).to_have_attribute("data-layers", "55")
    expect(answer).to_contain_text("224 − 55 × 4 = 4")
    expect(answer).to_contain_text("after 44 layers the maps are still 48×48")
    expect(answer).to_contain_text("sees 221×221 input pixels")
    expect(page.locator("#field-sentence")).to_contain_text("pool5")
    screenshot(page, "architecture-vgg16")


def test_the_question_asked_again_from_the_form_and_the_url(page):
    open_page(page, "alexnet")
    page.fill('#shrink-form [name="kernel"]', "3")
    answer = page.locator("#shrink-answer")
    expect(answer).to_have_attribute("data-layers", "110")  # 224 − 110·2 = 4
    page.wait_for_function("() => location.search.includes('kernel=3')")
    page.fill('#shrink-form [name="stride"]', "2")
    expect(answer).to_contain_text("the first size at or below 4×4")
    page.expected.append(422)
    page.fill('#shrink-form [name="stride"]', "1")
    page.fill('#shrink-form [name="padding"]', "1")
    expect(page.locator("#shrink-error")).to_contain_text("never shrinks its input")
    page.fill('#shrink-form [name="padding"]', "")
    expect(page.locator("#shrink-error")).to_contain_text("padding must be a whole number")
    page.goto("/networks/alexnet/architecture?size=32&kernel=5&stride=1&padding=0&target=4")
    expect(answer).to_have_attribute("data-layers", "7")  # 32 → 28 → … → 4


def test_resnet50_residual_blocks_and_unet_skip_connections(page):
    open_page(page, "resnet50")
    expect(page.locator("#block-diagram")).to_have_attribute("data-links", "16")  # 3+4+6+3 blocks
    expect(page.locator(".block-arcs .arc-sum")).to_have_count(16)
    expect(page.locator(".block").nth(1)).to_contain_text(
        "1×1 conv 64 · 3×3 conv 64 · 1×1 conv 256 · shortcut 1×1 conv 256 · sum"
    )
    screenshot(page, "architecture-resnet50")
    open_page(page, "unet")
    expect(page.locator(".block-arcs .arc-concat")).to_have_count(4)
    expect(page.locator("#facts")).to_contain_text("31,030,658 parameters")
    expect(page.locator(".block", has_text="bottom")).to_contain_text("1024 × 28 × 28")
    screenshot(page, "architecture-unet")


@pytest.mark.parametrize("name", ["vgg16", "resnet18", "unet"])
@pytest.mark.parametrize(("width", "height"), [(1600, 1000), (1280, 720), (390, 844)])
def test_every_screen_size(page, name, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, name)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    expect(page.locator("#untrained")).to_be_visible()
    for selector in ("#block-diagram", "#cost-plot", "#field-plot", "#shrink-form"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
    screenshot(page, f"architecture-{name}-{width}x{height}", full_page=width == 390)
