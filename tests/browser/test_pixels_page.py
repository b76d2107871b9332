"""The pixels page in a real browser: numbers from the server, channels, gray, resize, uploads."""

from __future__ import annotations

import base64
import re
import time

from playwright.sync_api import expect

from tests.utils import images as corpus
from tests.utils.browser import ready, screenshot

MAIN = "#main-plot"


def texts(page, selector):
    """The numbers printed in a figure's cells (Plotly text points), in order."""
    return page.eval_on_selector_all(
        f"{selector} g.textpoint text", "nodes => nodes.map(n => n.textContent)"
    )


def wait_for_texts(page, selector, count):
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s + ' g.textpoint text').length === n",
        arg=[selector, count],
        timeout=10000,
    )


def window_from_note(page):
    note = page.locator("#window-note").text_content()
    match = re.search(r"rows (\d+)–(\d+), columns (\d+)–(\d+)", note)
    assert match, note
    top, bottom, left, right = map(int, match.groups())
    return top, left, bottom - top + 1, right - left + 1


def server_window(page, image, top, left, rows, cols, size=""):
    query = f"top={top}&left={left}&rows={rows}&cols={cols}" + (f"&size={size}" if size else "")
    response = page.request.get(f"/api/images/{image}/pixels?{query}")
    assert response.ok
    return response.json()


def test_show_the_numbers_prints_the_servers_values_in_every_view(page):
    page.goto("/pixels")
    ready(page)
    expect(page.locator("#main-size")).to_have_text("451 × 300 pixels")
    assert texts(page, MAIN) == []  # the whole photo: cells too small for numbers
    expect(page.locator("#window-note")).to_contain_text("Zoom in")
    page.click("#zoom-numbers")
    expect(page.locator("#window-note")).to_contain_text("Numbers shown for rows")
    top, left, rows, cols = window_from_note(page)
    assert 0 < rows * cols <= 64 * 64
    wait_for_texts(page, MAIN, rows * cols)
    data = server_window(page, "sample-chelsea", top, left, rows, cols)
    triples = ["".join(str(v) for v in pixel) for row in data["values"] for pixel in row]
    assert texts(page, MAIN) == triples  # R, G and B stacked in each cell
    for index, key in enumerate("rgb"):
        wait_for_texts(page, f'[data-channel="{key}"]', rows * cols)
        expected = [str(pixel[index]) for row in data["values"] for pixel in row]
        assert texts(page, f'[data-channel="{key}"]') == expected
    gray = [str(v) for row in data["gray"] for v in row]
    assert texts(page, '[data-channel="gray"]') == gray
    page.wait_for_function("() => location.search.includes('view=')")  # written (200 ms)
    screenshot(page, "pixels-numbers")


def test_pointing_at_a_pixel_shows_its_values_and_gray_formula(page):
    page.goto("/pixels?image=sample-coffee")
    ready(page)
    box = page.locator(f"{MAIN} .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    expect(page.locator("#pixel-where")).not_to_contain_text("Row 200, column 300")
    where = page.locator("#pixel-where").text_content()
    row, col = map(int, re.search(r"Row (\d+), column (\d+)", where).groups())
    assert abs(row - 0.6 * 400) <= 3 and abs(col - 0.3 * 600) <= 3
    data = server_window(page, "sample-coffee", row, col, 1, 1)
    r, g, b = data["values"][0][0]
    expect(page.locator("#pixel-values")).to_contain_text(f"R{r}G{g}B{b}")
    luma, gray = float(f"{data['luma'][0][0]:.3f}"), data["gray"][0][0]
    expect(page.locator("#gray-numbers")).to_contain_text(
        f"gray = 0.299·{r} + 0.587·{g} + 0.114·{b} = {luma:g} ≈ {gray}"
    )
    shape = page.evaluate("() => document.querySelector('#main-plot').layout.shapes[0]")
    assert (shape["x0"], shape["y0"]) == (col - 0.5, row - 0.5)  # the pixel is outlined


def test_resizing_to_16_pixels_shows_every_number_at_once(page):
    page.goto("/pixels")
    ready(page)
    page.select_option("#size", "16")
    expect(page.locator("#main-size")).to_have_text("16 × 11 pixels (resized from 451 × 300)")
    ready(page)
    wait_for_texts(page, MAIN, 16 * 11)
    data = server_window(page, "sample-chelsea", 0, 0, 64, 64, size=16)
    assert (data["rows"], data["cols"]) == (11, 16)
    triples = ["".join(str(v) for v in pixel) for row in data["values"] for pixel in row]
    assert texts(page, MAIN) == triples
    wait_for_texts(page, '[data-channel="g"]', 16 * 11)
    page.wait_for_function("() => location.search.includes('size=16')")  # written (200 ms)
    screenshot(page, "pixels-resized-16")


def test_a_gray_digit_is_one_channel_with_every_number(page):
    page.goto("/pixels")
    ready(page)
    page.select_option('[data-role="sample"]', "sample-mnist-3")
    ready(page)
    expect(page.locator("#main-title")).to_have_text("The pixels: gray levels")
    expect(page.locator("#channels")).to_be_hidden()
    expect(page.locator("#gray-box")).to_be_hidden()
    expect(page.locator("#gray-numbers")).to_have_text(
        "A gray image has one number per pixel: 0 is black, 255 white."
    )  # not the formula of the colour photo shown before
    wait_for_texts(page, MAIN, 28 * 28)
    data = server_window(page, "sample-mnist-3", 0, 0, 28, 28)
    assert texts(page, MAIN) == [str(p[0]) for row in data["values"] for p in row]
    expect(page.locator(".picker-credit")).to_contain_text("MNIST digit 3")
    screenshot(page, "pixels-mnist")


def test_a_gray_digit_opened_by_link_reads_out_its_pixels(page):
    """Issue 14, defect 5: a gray image first (no channel figures) logged "div.on is not a
    function" and left the one-pixel readout dead; a colour photo after it follows too."""
    page.goto("/pixels?image=sample-mnist-3")  # the page fixture fails on any page error
    ready(page)
    box = page.locator(f"{MAIN} .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.25)
    expect(page.locator("#pixel-where")).to_contain_text("Row 7, column 14")
    value = server_window(page, "sample-mnist-3", 7, 14, 1, 1)["values"][0][0][0]
    expect(page.locator("#pixel-values")).to_contain_text(str(value))
    page.select_option('[data-role="sample"]', "sample-coffee")
    ready(page)
    expect(page.locator("#channels")).to_be_visible()
    page.locator('[data-channel="g"]').scroll_into_view_if_needed()
    box = page.locator('[data-channel="g"] .nsewdrag').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    expect(page.locator("#pixel-where")).to_contain_text("Row 24")


def png_file(name, width=40, height=30, colour=(200, 40, 10)):
    return {
        "name": name,
        "mimeType": "image/png",
        "buffer": corpus.solid(width, height, colour),
    }


def drop_or_paste(page, kind, data: bytes, name: str):
    page.evaluate(
        """([kind, b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            const init = { bubbles: true, cancelable: true };
            const event = kind === "drop"
              ? new DragEvent("drop", { ...init, dataTransfer: transfer })
              : new ClipboardEvent("paste", { ...init, clipboardData: transfer });
            const target = kind === "drop" ? document.querySelector("#main-plot") : document.body;
            target.dispatchEvent(event);
        }""",
        [kind, base64.b64encode(data).decode(), name],
    )


def test_uploads_by_picker_drop_and_paste(page):
    page.goto("/pixels")
    ready(page)
    page.set_input_files("#picker-file", png_file("red.png", 40, 30))
    expect(page.locator(".picker-status")).to_have_text(
        "red.png: 40 × 30 pixels, RGB, three channels (PNG)"
    )
    ready(page)
    expect(page.locator("#main-size")).to_have_text("40 × 30 pixels")
    expect(page.locator('[data-role="sample"]')).to_have_value("upload")
    page.wait_for_function("() => /image=[0-9a-f]{32}/.test(location.search)")

    drop_or_paste(page, "drop", corpus.solid(12, 9, (0, 0, 255)), "dropped.png")
    expect(page.locator(".picker-status")).to_contain_text("dropped.png: 12 × 9 pixels")
    expect(page.locator("#main-size")).to_have_text("12 × 9 pixels")
    ready(page)
    wait_for_texts(page, MAIN, 12 * 9)
    assert set(texts(page, MAIN)) == {"00255"}

    drop_or_paste(page, "paste", corpus.encode(corpus.Image.new("L", (5, 4), 99), "PNG"), "x.png")
    expect(page.locator(".picker-status")).to_contain_text("5 × 4 pixels, gray, one channel")
    ready(page)
    wait_for_texts(page, MAIN, 20)
    assert set(texts(page, MAIN)) == {"99"}
    screenshot(page, "pixels-pasted")


def test_a_file_that_is_not_an_image_shows_the_servers_sentence(page):
    page.expected.append(415)
    page.goto("/pixels")
    ready(page)
    page.set_input_files(
        "#picker-file", {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": corpus.TEXT}
    )
    expect(page.locator("#picker")).to_have_attribute("data-state", "error")
    expect(page.locator(".picker-status")).to_have_text(
        "This file is not an image convscope can read: upload a PNG, JPEG, WebP, GIF or BMP image."
    )
    expect(page.locator("#main-size")).to_have_text("451 × 300 pixels")  # the cat stays


def test_an_id_the_server_forgot_is_uploaded_again(page):
    page.expected.append(404)
    page.goto("/pixels")
    ready(page)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.set_input_files("#picker-file", png_file("again.png", 6, 5))
    ready(page)
    expect(page.locator("#main-size")).to_have_text("6 × 5 pixels")
    assert len(posts) == 1
    forgotten = {"done": False}

    def forget_once(route):
        if forgotten["done"]:
            route.continue_()
            return
        forgotten["done"] = True
        route.fulfill(
            status=404,
            content_type="application/json",
            body='{"detail": "There is no image on the server: upload it again"}',
        )

    page.route("**/api/images/*/pixels*", forget_once)
    page.select_option("#size", "8")
    ready(page)
    expect(page.locator(".picker-status")).to_contain_text("again.png: 6 × 5 pixels")
    deadline = time.monotonic() + 30  # the second upload may still be on its way
    while len(posts) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert forgotten["done"] and len(posts) == 2  # uploaded a second time, then carried on
    expect(page.locator("#error")).to_be_hidden()


def test_an_unknown_id_in_the_url_says_to_upload_again(page):
    page.expected.append(404)
    page.goto("/pixels?image=" + "a" * 32)
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")
    expect(page.locator("#error")).to_contain_text("upload it again")
