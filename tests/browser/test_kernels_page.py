"""The kernels page in a real browser: presets, custom kernels, hover, display, comparison."""

from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from playwright.sync_api import expect

from app.ops.kernels import KERNELS
from tests.utils import images as corpus
from tests.utils.browser import ready, screenshot
from tests.utils.plots import cell_texts

OUTPUT = "#output-plot"


def cat() -> torch.Tensor:
    return torch.from_numpy(np.asarray(Image.open("static/samples/chelsea.png")).copy()).permute(
        2, 0, 1
    )


def conv(x: torch.Tensor, kernel, stride=1, padding=1) -> torch.Tensor:
    w = torch.tensor(kernel, dtype=torch.float64)[None, None]
    return torch.cat(
        [F.conv2d(x[c : c + 1].double()[None], w, None, stride, padding)[0] for c in range(len(x))]
    )


def fmt(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return ("0" if text == "-0" else text).replace("-", "−")


def detail_pixel(page) -> tuple[int, int]:
    where = page.locator("#detail-where").text_content()
    return tuple(map(int, re.search(r"Output row (\d+), column (\d+)", where).groups()))


def results(page) -> list[str]:
    """The value each expression line ends with (the strong number)."""
    return page.eval_on_selector_all(
        "#detail-sums .expr-line strong", "nodes => nodes.map(n => n.textContent)"
    )


def wait_for_results(page, expected: list[str]) -> None:
    """Wait until the expression lines end with ``expected`` (a recompute may be under way)."""
    page.wait_for_function(
        """(want) => JSON.stringify([...document.querySelectorAll(
            '#detail-sums .expr-line strong')].map(n => n.textContent)) === JSON.stringify(want)""",
        arg=expected,
    )


def point_at(page, selector, fx, fy, height, width):
    """Move the pointer to a fraction of a figure; wait until the detail shows that pixel."""
    box = page.locator(f"{selector} .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.wait_for_function(
        """([row, col]) => {
            const m = /Output row (\\d+), column (\\d+)/.exec(
              document.querySelector('#detail-where').textContent);
            return m && Math.abs(m[1] - row) <= 2 && Math.abs(m[2] - col) <= 2;
        }""",
        arg=[fy * height, fx * width],
    )
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready")


def test_sharpen_on_the_cat_and_the_weighted_sum_under_the_pointer(page):
    page.goto("/kernels")
    ready(page)
    expect(page.locator("#preset")).to_have_value("sharpen")
    expect(page.locator("#input-size")).to_have_text("451 × 300, R, G, B")
    expect(page.locator("#output-size")).to_have_text("451 × 300, R, G, B")
    expect(page.locator("#detail-where")).to_contain_text("Output row 150, column 225")
    expected = conv(cat(), KERNELS["sharpen"].weights)
    wait_for_results(page, [fmt(v) for v in expected[:, 150, 225].tolist()])
    lines = page.locator("#detail-sums .expr-line")
    expect(lines).to_have_count(3)
    window = cat()[0, 149:152, 224:227].tolist()
    expect(lines.nth(0)).to_contain_text(f"{window[0][0]}×0 + {window[0][1]}×(−1) + ")
    wait_grid = page.locator("#detail-grids .plot-slot")
    expect(wait_grid).to_have_count(4)  # R, G, B neighbourhoods and the kernel
    assert cell_texts(page, "#detail-grids .plot-slot:nth-child(1) .plot") == [
        str(v) for row in window for v in row
    ]

    point_at(page, OUTPUT, 0.2, 0.3, 300, 451)
    row, col = detail_pixel(page)
    expect(page.locator("#detail-sums .expr-line strong").first).to_have_text(
        fmt(expected[0, row, col].item())
    )
    wait_for_results(page, [fmt(v) for v in expected[:, row, col].tolist()])
    shown = expected[:, row, col].round().clamp(0, 255).int().tolist()
    for line, value in zip(lines.all(), shown, strict=True):
        expect(line).to_contain_text(f"→ shown as {value}")
    shapes = page.evaluate("() => document.querySelector('#input-plot').layout.shapes[0]")
    assert (shapes["x0"], shapes["y0"]) == (col - 1 - 0.5, row - 1 - 0.5)
    page.wait_for_function("() => location.search.includes('px=')")
    screenshot(page, "kernels-sharpen")


def test_a_preset_and_the_display_modes(page):
    page.goto("/kernels")
    ready(page)
    page.select_option("#preset", "sobel_left")
    ready(page)
    expect(page.locator("#kernel-description")).to_have_text(KERNELS["sobel_left"].description)
    editor = [page.get_by_label(f"weights, row 0, column {c}").input_value() for c in range(3)]
    assert editor == ["1", "0", "−1"]
    expect(page.locator("#kernel-sum")).to_have_text("The weights add up to 0.")
    expected = conv(cat(), KERNELS["sobel_left"].weights)
    row, col = detail_pixel(page)
    wait_for_results(page, [fmt(v) for v in expected[:, row, col].tolist()])
    page.select_option("#display", "abs")
    ready(page)
    expect(page.locator("#histogram-note")).to_contain_text("Absolute value")
    shown = expected[:, row, col].abs().round().clamp(0, 255).int().tolist()
    expect(page.locator("#detail-sums .expr-line").first).to_contain_text(f"→ shown as {shown[0]}")
    page.select_option("#display", "minmax")
    ready(page)
    lo, hi = expected.min().item(), expected.max().item()
    expect(page.locator("#histogram-note")).to_contain_text(
        f"Rescaled: {fmt(lo)} shows as 0 (black) and {fmt(hi)} as 255 (white)."
    )
    bars = page.evaluate("() => document.querySelector('#histogram').data.length")
    assert bars == 3
    screenshot(page, "kernels-sobel-minmax")


def test_a_custom_kernel_typed_in_the_editor_and_normalised(page):
    page.goto("/kernels")
    ready(page)
    for name in ("k_h", "k_w"):
        page.fill(f'[name="{name}"]', "1")
        page.dispatch_event(f'[name="{name}"]', "change")
    page.evaluate("document.activeElement.blur()")
    expect(page.locator("#kernel-shape")).to_have_text("1 × 1")
    expect(page.locator("#detail-sums .expr-line").first).to_contain_text("×0 = 0")
    ready(page)
    expect(page.locator("#preset")).to_have_value("")
    cell = page.get_by_label("weights, row 0, column 0")
    cell.fill("3")
    cell.blur()
    expect(page.locator("#kernel-sum")).to_have_text("The weights add up to 3.")
    ready(page)
    row, col = detail_pixel(page)
    pixel = cat()[:, row, col].tolist()
    wait_for_results(page, [str(3 * v) for v in pixel])
    expect(page.locator("#detail-sums .expr-line").first).to_contain_text(f"{pixel[0]}×3 = ")
    page.check('[name="normalize"]')
    ready(page)
    expect(page.locator("#kernel-sum")).to_have_text(
        "The weights add up to 3; divided by that, they add up to 1."
    )
    wait_for_results(page, [str(v) for v in pixel])
    page.wait_for_function(
        "() => location.search.includes('kernel=1x1:3') && location.search.includes('normalize=1')"
    )

    page.expected.append(422)
    cell.fill("0")
    cell.blur()
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")
    expect(page.locator("#error")).to_contain_text(
        "the kernel's weights add up to 0, so it cannot be normalised to sum 1"
    )
    page.uncheck('[name="normalize"]')
    ready(page)
    expect(page.locator("#error")).to_be_hidden()


def test_gray_mode_with_stride_two(page):
    page.goto("/kernels?kernel=box_blur")
    ready(page)
    page.check('[name="channels"][value="gray"]')
    ready(page)
    expect(page.locator("#detail-sums .expr-line")).to_have_count(1)
    expect(page.locator("#input-size")).to_have_text("451 × 300, gray")
    for axis in ("h", "w"):
        page.fill(f'[name="stride_{axis}"]', "2")
        page.dispatch_event(f'[name="stride_{axis}"]', "change")
    page.evaluate("document.activeElement.blur()")
    expect(page.locator("#output-size")).to_have_text("226 × 150, gray")
    ready(page)
    expect(page.locator("#formula")).to_contain_text(
        "W' = ⌊(451 + 2·1 − 1·(3 − 1) − 1) / 2⌋ + 1 = 226"
    )
    row, col = detail_pixel(page)
    luma = cat().to(torch.int64)
    gray = ((299 * luma[0] + 587 * luma[1] + 114 * luma[2] + 500) // 1000)[None]
    expected = conv(gray, KERNELS["box_blur"].weights, stride=2)
    wait_for_results(page, [fmt(expected[0, row, col].item())])
    expect(page.locator("#detail-where")).to_contain_text(
        f"input rows {2 * row - 1}…{2 * row + 1}, columns {2 * col - 1}…{2 * col + 1}"
    )


def test_several_kernels_side_by_side(page):
    page.goto("/kernels")
    ready(page)
    page.click("#compare-classic")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(10)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile')].every(t => t.dataset.state === 'ready')",
        timeout=20000,
    )
    sources = page.eval_on_selector_all(".tile img", "imgs => imgs.map(i => i.src.slice(0, 22))")
    assert sources == ["data:image/png;base64,"] * 10
    expect(tiles.nth(6).locator(".tile-title")).to_have_text("Emboss (3 × 3)")
    page.click("#compare-add")  # sharpen is already there: not added twice
    expect(tiles).to_have_count(10)
    page.locator(".tile-remove").first.click()
    expect(tiles).to_have_count(9)
    page.wait_for_function("() => location.search.includes('compare=sharpen~box_blur')")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile')].every(t => t.dataset.state === 'ready')"
    )
    screenshot(page, "kernels-compare")
    page.get_by_label("Use Emboss (3 × 3)").click()
    ready(page)
    expect(page.locator("#preset")).to_have_value("emboss")
    page.wait_for_function("() => location.search.includes('kernel=emboss')")
    page.reload()
    ready(page)
    expect(tiles).to_have_count(9)
    expect(page.locator("#preset")).to_have_value("emboss")


def test_an_uploaded_image_goes_through_the_kernel(page):
    page.goto("/kernels?kernel=identity")
    ready(page)
    photo = Image.fromarray(corpus.noise(64, 48, seed=5))
    page.set_input_files(
        "#picker-file",
        {"name": "noise.png", "mimeType": "image/png", "buffer": corpus.encode(photo, "PNG")},
    )
    expect(page.locator("#input-size")).to_have_text("64 × 48, R, G, B")
    ready(page)
    row, col = detail_pixel(page)
    assert (row, col) == (24, 32)
    wait_for_results(page, [str(v) for v in np.asarray(photo)[24, 32].tolist()])


def test_the_classic_set_normalises_what_can_be(page):
    """Issue 14, defect 10: with Normalise ticked, the kernels whose weights add up to 0
    (Laplacian, Outline, Sobel, Prewitt) are drawn as they are, and say so."""
    page.goto("/kernels?kernel=box_blur&normalize=1")
    ready(page)
    page.click("#compare-classic")
    expect(page.locator(".tile[data-state='ready']")).to_have_count(10)  # none failed
    notes = page.eval_on_selector_all(
        ".tile",
        "tiles => tiles.filter(t => t.querySelector('.tile-note'))"
        ".map(t => t.querySelector('.tile-title').textContent)",
    )
    assert sorted(notes) == sorted(
        [
            "Laplacian (3 × 3)",
            "Outline (3 × 3)",
            "Sobel left (3 × 3)",
            "Sobel top (3 × 3)",
            "Prewitt right (3 × 3)",
        ]
    ), notes
    screenshot(page, "kernels-compare-normalised")
