"""Issue 14, the numbers a lecture hall reads: the network explorer's unit inspector on a
projector (its window, kernel, whole sum and stepper on one screen in presenter mode,
numbers of 14 px or more; without presenter mode the sum beside the window; no sideways
scrolling on a projector or a phone), and the convolution page's output cells, each wide
enough for its whole number ("−19" in the RGB two-output example)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_lecture_hall import PHONE, PROJECTOR, keep, off_screen, sideways
from tests.browser.test_network_pages import inspector_ready
from tests.utils.browser import ready

#: A unit of each kind of network: a digit network's 5×5 window over six channels (its
#: sum is 25 products long), a photo network's 3×3 depthwise window with BatchNorm and
#: ReLU6 after it, and a pooling window.
UNITS = [
    "/networks/lenet5?image=sample-mnist-3&unit=conv2:2,7,4",
    "/networks/efficientnet-lite0?image=sample-chelsea&unit=blocks.5.depthwise.conv:3,6,6",
    "/networks/simple-cnn?image=sample-mnist-7&unit=pool1:2,5,6",
]
WINDOW = "#unit-grids .plot-slot:first-child .plot"
KERNEL = "#unit-grids .plot-slot:nth-child(2) .plot"
STAGE = [WINDOW, "#unit-expression", "#unit-stepper"]  # what presenter mode keeps on screen
READABLE_PX = 14  # presenter mode's smallest number

#: The numbers printed in the inspector's grids (the enlarged map, the window, the
#: kernel): each text's font size, its width and its cell's (the grid's width / columns).
PRINTED = """() => [...document.querySelectorAll('#map-plot, #unit-grids .plot')].flatMap((div) => {
    if (!div.data || !div.data.length) return [];
    const cols = div.data[0].z[0].length;
    const cell = div._fullLayout.xaxis._length / cols;
    return [...div.querySelectorAll('.heatmaplayer text')]
        .filter((t) => t.textContent.trim())
        .map((t) => ({ where: div.id || div.closest('.plot-slot').dataset.index,
                       text: t.textContent, font: parseFloat(getComputedStyle(t).fontSize),
                       width: t.getBoundingClientRect().width, cell }));
})"""


def open_unit(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    inspector_ready(page)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # a presenter-mode grid drawn again, smaller, once measured


def stage_of(url: str) -> list[str]:
    return STAGE if "pool1" not in url else [WINDOW, "#unit-expression"]  # a pool has no steps


@pytest.mark.parametrize("url", UNITS, ids=["lenet5-conv2", "efficientnet-depthwise", "pool"])
def test_presenter_mode_shows_the_window_the_whole_sum_and_the_stepper(page, url):
    page.set_viewport_size(PROJECTOR)
    open_unit(page, url + "&present=1")
    expect(page.locator("body")).to_have_class(re.compile("presenting"))
    stage = [*stage_of(url), *([KERNEL] if "pool1" not in url else [])]
    assert off_screen(page, stage) == [], "presenter mode leaves these off the screen"
    assert page.evaluate(
        """() => [...document.querySelectorAll('#unit-expression .expr-result')].every((r) => {
            const box = r.getBoundingClientRect();
            return box.width > 0 && box.top >= 0 && box.right <= innerWidth
                && box.bottom <= innerHeight;
        })"""
    ), "a result of the sum is cut off"
    printed = page.evaluate(PRINTED)
    assert printed, "the window's numbers are printed"
    small = [p for p in printed if p["font"] < READABLE_PX]
    assert not small, f"numbers smaller than {READABLE_PX} px: {small[:5]}"
    cut = [p for p in printed if p["width"] > p["cell"]]
    assert not cut, f"numbers wider than their cells: {cut[:5]}"
    sums = page.eval_on_selector_all(
        "#unit-expression .expr-body",
        "bodies => bodies.map(b => parseFloat(getComputedStyle(b).fontSize))",
    )
    assert min(sums) >= READABLE_PX
    if "pool1" not in url:  # the keyboard steps through the sum, and it stays on screen
        count = page.locator("#unit-stepper [data-role=count]")
        before = count.text_content() or ""
        page.keyboard.press("ArrowLeft")
        expect(count).not_to_have_text(before)
        page.keyboard.press("Home")
        expect(count).to_have_text(re.compile(r"^Step 1 of"))
        assert off_screen(page, stage) == []
    assert sideways(page) == 0
    keep(page, "present-unit-" + url.split("unit=")[1].split(":")[0].replace(".", "-"))


def test_the_pool_window_sum_says_the_numbers_it_shows(page):
    """The max of a pooling window listed each value with as many decimals as its place in
    the list (2, 2.2, 0.92, 0.923 for 2.2079, 2.2079, 0.9226, 0.9226)."""
    open_unit(page, UNITS[2])
    expect(page.locator("#unit-expression .expr-body")).to_have_text(
        "max(2.2079, 2.2079, 0.9226, 0.9226) = 2.2079"
    )


def test_on_a_projector_the_sum_is_beside_the_window_and_p_fits_them(page):
    """Without presenter mode at 1280×720, scrolling to the end of the sum keeps the
    window on screen (they stand side by side); P then fits the stage to the screen."""
    page.set_viewport_size(PROJECTOR)
    open_unit(page, UNITS[0])
    page.locator("#unit-expression").evaluate("(e) => e.scrollIntoView({ block: 'end' })")
    assert off_screen(page, [WINDOW, "#unit-expression"]) == []
    window = page.locator(WINDOW).bounding_box()
    total = page.locator("#unit-expression").bounding_box()
    assert window and total and window["x"] + window["width"] < total["x"]  # side by side
    assert sideways(page) == 0
    keep(page, "unit-projector-scrolled")
    page.keyboard.press("p")  # the open inspector is sized again for the screen
    expect(page.locator("body")).to_have_class(re.compile("presenting"))
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert off_screen(page, [*STAGE, KERNEL]) == []
    expect(page.locator("#unit-stepper [data-role=count]")).to_have_text("Step 8 of 8")


def test_the_inspector_on_a_phone_scrolls_down_only(page):
    page.set_viewport_size(PHONE)
    open_unit(page, UNITS[0])
    assert sideways(page) == 0
    inside = page.evaluate(
        "() => { const d = document.querySelector('#inspector');"
        " return d.scrollWidth - d.clientWidth; }"
    )
    assert inside <= 0, f"the inspector scrolls {inside} px sideways"
    keep(page, "unit-phone")


#: Each output cell's number, its width and its cell's. Plotly prints cells' numbers as SVG
#: text, which has no scrollWidth: the text's drawn width is compared with the cell's.
OUTPUT_CELLS = """() => [...document.querySelectorAll('#output-plots .plot')].map((div) => {
    const cols = div.data[0].z[0].length;
    const cell = div._fullLayout.xaxis._length / cols - 1;  // less the 1-pixel gap
    return [...div.querySelectorAll('.heatmaplayer text')]
        .filter((t) => t.textContent.trim())
        .map((t) => ({ text: t.textContent, width: t.getBoundingClientRect().width, cell }));
})"""


@pytest.mark.parametrize(
    ("size", "present"),
    [(PROJECTOR, True), ({"width": 1600, "height": 1000}, False)],
    ids=["1280x720-presenting", "1600x1000"],
)
def test_output_cells_show_their_whole_numbers(page, size, present):
    page.set_viewport_size(size)
    page.goto("/convolution?preset=rgb_two_filters" + ("&present=1" if present else ""))
    ready(page)
    page.wait_for_timeout(300)  # the second fit, once what is under the figures is measured
    page.keyboard.press("End")  # every output cell revealed
    expect(page.locator("#stepper [data-role=count]")).to_have_text("Step 50 of 50")
    maps = page.evaluate(OUTPUT_CELLS)
    assert [len(cells) for cells in maps] == [25, 25], "every output cell shows its number"
    assert "−19" in [c["text"] for c in maps[0]]
    cut = [c for cells in maps for c in cells if c["width"] > c["cell"]]
    assert not cut, f"numbers wider than their cells: {cut}"
    if present:  # and the stage still fits the projector
        assert off_screen(page, ["#stage .figures", "#expression", "#stepper"]) == []
    keep(page, f"convolution-rgb-outputs-{size['width']}")


def test_space_plays_the_units_steps_when_the_inspector_opens(page):
    """The open inspector has the keys, not its first button ("◀ channel", which Space
    would press): Space plays the unit's steps, as on the playground, and the channel
    stays the one clicked."""
    open_unit(page, UNITS[0])
    assert page.evaluate("() => document.activeElement.id") == "inspector"
    title = page.locator("#inspector-title").inner_text()
    page.keyboard.press(" ")
    expect(page.locator("#unit-stepper")).to_have_attribute("data-playing", "true")
    assert page.locator("#inspector-title").inner_text() == title
    page.keyboard.press(" ")
    expect(page.locator("#unit-stepper")).to_have_attribute("data-playing", "false")
