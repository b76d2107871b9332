"""The segmentation page in a real browser: a held-out scene segmented (the mask over the
picture, the legend with what each class covers, each class's probability map), a pixel
clicked and explained, two digits drawn with the mouse and segmented as the pen goes, the U
of the architecture with its skip connections and its transposed convolutions linked to the
transposed-convolution page with their numbers; no horizontal scroll on a projector, a
laptop or a phone; the views a classifier and the U-Net each have."""

from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import expect

from app.nets.registry import get_network
from tests.utils.browser import screenshot, stroke

PAGE = "/networks/unet-digits/segment"
SIZES = ((1600, 1000), (1280, 720), (390, 844))
#: The pen has lifted and the mask shown is of a drawing other than ``before``.
DRAWN = """(before) => {
    const stage = document.querySelector('#stage');
    return stage.dataset.state === 'ready' && stage.dataset.final === 'true'
      && /^[0-9a-f]{32}$/.test(stage.dataset.image || '') && stage.dataset.image !== before;
}"""


def shot(page, name: str, *, full_page: bool = False) -> None:
    screenshot(page, name, full_page=full_page)


def ready(page) -> None:
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready")
    expect(page.locator("#pixel")).to_have_attribute("data-state", "ready")


def legend_count(page, label: str) -> int:
    index = ["background", *map(str, range(10))].index(label)
    text = page.locator(f'#legend li[data-class="{index}"] .seg-count').text_content() or ""
    return int(text.split()[0]) if text else 0


def test_a_scene_segmented_with_its_legend_and_a_pixel_explained(page):
    page.goto(f"{PAGE}?image=sample-scene-1")
    ready(page)
    expect(page.locator("#picker [data-role=sample]")).to_have_value("sample-scene-1")
    mask = np.array(
        page.request.post(
            "/api/models/unet-digits/segment", multipart={"image_id": "sample-scene-1"}
        ).json()["mask"]
    )
    for digit in ("3", "6", "9"):  # the scene's digits
        assert legend_count(page, digit) == int((mask == int(digit) + 1).sum()) > 20
    expect(page.locator("#seg-found")).to_contain_text("found:")
    expect(page.locator("#seg-mask")).to_have_attribute("src", re.compile("^data:image/png"))
    expect(page.locator("#prob-grid figure")).to_have_count(11)
    # the page starts on the most confident pixel of the largest digit; click another
    box = page.locator("#seg-picture").bounding_box()
    row, col = map(int, np.argwhere(mask == 10)[len(np.argwhere(mask == 10)) // 2])  # a 9
    page.mouse.click(
        box["x"] + (col + 0.5) * box["width"] / 64, box["y"] + (row + 0.5) * box["height"] / 64
    )
    expect(page.locator("#pixel")).to_have_attribute("data-pixel", f"{row},{col}")
    ready(page)
    expect(page.locator("#pixel-title")).to_have_text(f"row {row}, column {col}: 9")
    expect(page.locator("#pixel-probs li").first).to_contain_text("9")
    page.wait_for_function(f"() => location.search.includes('pixel={row},{col}')")
    page.select_option("#method", "integrated-gradients")
    expect(page.locator("#pixel-note")).to_contain_text("Σ map")
    ready(page)
    shot(page, "segment-scene-1600x1000", full_page=True)


def test_two_digits_drawn_are_segmented(page):
    page.goto(PAGE)
    ready(page)
    stroke(page, [(0.25, 0.3), (0.25, 0.7)])  # a 1 on the left
    page.wait_for_function(DRAWN, arg="sample-scene-1")
    turns = np.linspace(0, 2 * np.pi, 24)
    circle = [(0.68 + 0.13 * np.sin(t), 0.5 - 0.2 * np.cos(t)) for t in turns]
    before = page.locator("#stage").get_attribute("data-image")
    stroke(page, circle)  # a 0 on the right
    page.wait_for_function(DRAWN, arg=before)
    ready(page)
    assert legend_count(page, "1") > 10 and legend_count(page, "0") > 10
    expect(page.locator("#seg-found")).to_contain_text("1")
    expect(page.locator("#seg-found")).to_contain_text("0")
    shot(page, "segment-drawn-1600x1000")
    page.click("#draw-clear")
    expect(page.locator("#stage")).to_have_attribute("data-state", "empty")
    expect(page.locator("#seg-found")).to_have_text("draw a few digits")


def test_the_u_with_its_skips_and_up_convolutions_linked(page):
    page.goto(f"{PAGE}?image=sample-scene-2")
    ready(page)
    diagram = page.locator("#u-diagram")
    for block in ("enc1", "enc2", "bottleneck", "dec2", "dec1", "skip1", "skip2"):
        expect(diagram.locator(f'[data-block="{block}"]')).to_be_visible()
    expect(diagram.locator(".u-skip")).to_have_count(2)
    expect(page.locator(".seg-table th[scope=rowgroup]")).to_have_count(12)  # one per block
    up2 = get_network("unet-digits").module.up2
    link = diagram.locator("a.seg-uplink", has_text="up2")
    href = link.get_attribute("href") or ""
    assert href.startswith("/transposed?") and "stride=2" in href and "padding=0" in href
    assert re.search(r"kernel=1x1x2x2:", href)
    weights = up2.weight.detach()
    c_in, c_out = divmod(int(weights.flatten(2).norm(dim=2).argmax()), weights.shape[1])
    first = f"{float(weights[c_in, c_out, 0, 0]):.3g}"
    assert f"1x1x2x2:{first}," in href.replace("%3A", ":").replace("%2C", ",")
    shot(page, "segment-u-1600x1000")
    link.click()
    page.wait_for_url(re.compile(r"/transposed\?"))
    expect(page.locator('[name="stride_h"]')).to_have_value("2")


def test_no_horizontal_scroll_at_three_sizes(page):
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{PAGE}?image=sample-scene-3")
        ready(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        for selector in ("#seg-picture", "#saliency-picture", "#u-diagram"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        shot(page, f"segment-{width}x{height}")
        page.locator("#u-diagram").scroll_into_view_if_needed()
        shot(page, f"segment-u-{width}x{height}")


def test_each_network_has_the_views_that_apply_to_it(page):
    page.goto("/networks/lenet5")
    expect(page.get_by_role("link", name="Saliency", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Segmentation")).to_have_count(0)
    page.goto(PAGE)
    expect(page.get_by_role("link", name="Saliency", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Segmentation")).to_be_visible()
    page.expected.append(404)
    response = page.goto("/networks/lenet5/segment")
    assert response is not None and response.status == 404
    expect(page.locator("body")).to_contain_text("LeNet-5 has no Segmentation view")


def test_the_explorer_of_the_u_net_offers_no_softmax_it_does_not_have(page):
    page.goto("/networks/unet-digits")
    expect(page.locator("#prediction-plot .bar, #prediction-plot svg").first).to_be_visible()
    expect(page.locator("#show-softmax")).to_have_count(0)
    expect(page.locator(".prediction")).to_contain_text("averaged over the pixels")
    # the table's transposed convolutions link to their page, with their learned numbers
    expect(page.locator('#architecture a[href^="/transposed?"]')).to_have_count(2)
    shot(page, "explorer-unet-digits")  # the page fixture fails on any 4xx it did not expect
