"""Issue 14: the colour-blind-safe choice of the lecture tools reaches the pictures the
server paints: choosing it draws the explorer's feature maps (and their colour bars) and
the filters page's gallery and map again, in the safe scheme's colours; choosing the
standard scheme brings the first pictures back."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from app.images import colormaps
from tests.browser.test_network_pages import open_section
from tests.utils.browser import ready, screenshot

TILES = "#maps-1 .map-tile img"  # conv1 of LeNet-5: six maps of 28×28


def choose(page, scheme: str) -> None:  # type: ignore[no-untyped-def]
    """Choose a colour scheme in the lecture tools; wait for the page to be loaded again (a
    new document, not a history entry the page writes meanwhile)."""
    page.evaluate("() => { window.beforeTheChoice = true; }")
    page.click("#figures-open")
    page.click(f'input[name="colours"][value="{scheme}"]')
    page.wait_for_function("() => !window.beforeTheChoice && document.readyState !== 'loading'")
    assert page.evaluate("() => localStorage.getItem('convscope.colours')") == scheme


def palette_of(src: str) -> np.ndarray:
    """(256, 3) the colour table of a palette PNG given as a ``data:`` URL."""
    image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
    assert image.mode == "P"
    return np.asarray(image.getpalette()[: 256 * 3], dtype=np.uint8).reshape(256, 3)


def tables(scheme: str) -> list[np.ndarray]:
    return [colormaps.palette(colormaps.stops_of(scheme, k)) for k in ("diverging", "sequential")]


def in_scheme(src: str, scheme: str) -> bool:
    return any(np.array_equal(palette_of(src), table) for table in tables(scheme))


def maps_shown(page) -> list[str]:  # type: ignore[no-untyped-def]
    open_section(page, 1)
    expect(page.locator(TILES)).to_have_count(6)
    return page.eval_on_selector_all(TILES, "images => images.map(i => i.src)")


def test_the_safe_scheme_repaints_the_explorers_feature_maps(page):
    page.goto("/networks/lenet5?image=sample-mnist-3")
    ready(page)
    standard = maps_shown(page)
    assert all(in_scheme(src, "standard") for src in standard)

    choose(page, "safe")
    ready(page)
    safe = maps_shown(page)
    assert all(in_scheme(src, "safe") for src in safe)
    assert not set(safe) & set(standard), "every map is painted again"
    bar = page.locator("#maps-1 .legend-bar").evaluate("(b) => b.style.background")
    ends = [colormaps.SAFE_DIVERGING[0][1], colormaps.SAFE_SEQUENTIAL[0][1]]
    assert any(
        f"rgb({int(c[1:3], 16)}, {int(c[3:5], 16)}, {int(c[5:7], 16)})" in bar for c in ends
    ), bar  # the colour bar is the safe scheme's
    page.locator("#maps-1").scroll_into_view_if_needed()
    screenshot(page, "explorer-maps-safe", full_page=False)

    choose(page, "standard")
    ready(page)
    assert maps_shown(page) == standard


def test_the_safe_scheme_repaints_the_filter_gallery_and_its_map(page):
    page.goto("/networks/lenet5/filters?layer=conv2&filter=3")
    ready(page)
    ready(page, "#map-panel")
    gallery = page.locator("#gallery-img").get_attribute("src") or ""
    assert "colors=standard" in gallery
    choose(page, "safe")
    ready(page)
    ready(page, "#map-panel")
    expect(page.locator("#gallery-img")).to_have_attribute(
        "src", gallery.replace("standard", "safe")
    )
    assert in_scheme(page.locator("#map-img").get_attribute("src") or "", "safe")
    screenshot(page, "filters-safe", full_page=False)
