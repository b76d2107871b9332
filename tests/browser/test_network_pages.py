"""The model zoo and the network explorer in a real browser: cards, drawing a digit, the
prediction following the pen, feature maps, and clicking an activation to see its
receptive field and its computation."""

from __future__ import annotations

import io
import math
import re

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from playwright.sync_api import expect

from app.nets.predict import classify
from app.nets.registry import get_model, get_model_spec, get_network, list_models
from tests.utils.browser import ready, screenshot
from tests.utils.samples import sample

TIMEOUT = 30000  # the first EfficientNet request may still wait for the model to load


def fmt(value: float, digits: int = 4) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return ("0" if text == "-0" else text).replace("-", "−")


def percent(p: float) -> str:
    if p >= 0.9995:
        return "100%"
    return f"{p * 100:.1f}%" if p >= 0.001 else "<0.1%"


def stroke(page, points, *, release=True):
    """Draw through points given as fractions of the canvas (its box read afresh)."""
    box = page.locator("#digit-canvas").bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=6)
    if release:
        page.mouse.up()


def predicted(page) -> str:
    return page.locator("#prediction-note").text_content()


def drawn(page, before: str | None) -> str:
    """Once the pen has lifted: the id of the drawing the prediction shown is of."""
    page.wait_for_function(
        """(before) => {
            const stage = document.querySelector('#stage');
            return stage.dataset.state === 'ready' && stage.dataset.final === 'true'
              && /^[0-9a-f]{32}$/.test(stage.dataset.image || '') && stage.dataset.image !== before;
        }""",
        arg=before,
    )
    return page.locator("#stage").get_attribute("data-image")


def drawn_image(page, image_id: str) -> Image.Image:
    """The drawing the server keeps, as the server re-encodes it."""
    response = page.request.get(f"/api/images/{image_id}/png")
    assert response.ok
    return Image.open(io.BytesIO(response.body()))


def open_section(page, index):
    page.evaluate(f"() => document.querySelector('#maps-{index}').scrollIntoView()")
    expect(page.locator(f"#maps-{index}")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)


def inspector_ready(page):
    expect(page.locator("#inspector-body")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT
    )


def field_box(page, selector="#field-plot"):
    shape = page.evaluate(f"() => document.querySelector('{selector}').layout.shapes[0]")
    return (
        round(shape["y0"] + 0.5),
        round(shape["x0"] + 0.5),
        round(shape["y1"] - 0.5),
        round(shape["x1"] - 0.5),
    )


def test_the_zoo_shows_a_card_per_model(page):
    page.goto("/networks")
    cards = page.locator(".model-card")
    expect(cards).to_have_count(len(list_models()))  # the trained networks, then the classics
    expect(cards.nth(0).locator("h2")).to_have_text("LeNet-5")
    expect(cards.nth(0)).to_contain_text("61,706")
    expect(cards.nth(0)).to_contain_text("98.1%")
    expect(cards.nth(2).locator("h2")).to_have_text("EfficientNet-Lite0")
    expect(cards.nth(2)).to_contain_text("3 × 224 × 224")
    expect(cards.nth(2)).to_contain_text("1,000")
    screenshot(page, "networks")
    cards.nth(1).get_by_role("link", name="Explore SimpleCNN →").click()
    expect(page.locator("h1")).to_have_text("SimpleCNN")
    ready(page)
    expect(page.locator('.model-links a[aria-current="page"]')).to_have_text("SimpleCNN")


def test_draw_a_digit_and_the_prediction_follows_the_pen(page):
    refused: list[str] = []  # no request for an empty drawing, nor any other refusal
    page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
    page.goto("/networks/lenet5")
    ready(page)
    expect(page.locator("#prediction-note")).to_have_text(
        f"0, {percent(classify(get_network('lenet5'), sample('mnist-0.png'), k=1)[0].probability)}"
    )
    bars = page.locator("#prediction-plot .bars .point")
    expect(bars).to_have_count(10)

    # a "1": the prediction changes while the pen is still down
    stroke(page, [(0.5, 0.15), (0.5, 0.5), (0.52, 0.85)], release=False)
    expect(page.locator("#prediction-note")).to_have_text(re.compile(r"^1, "), timeout=10000)
    page.mouse.up()
    one = drawn(page, "sample-mnist-0")
    top = classify(get_network("lenet5"), drawn_image(page, one), k=1)[0]
    assert top.label == "1"
    expect(page.locator("#prediction-note")).to_have_text(f"1, {percent(top.probability)}")
    page.wait_for_function(f"() => location.search.includes('image={one}')")
    expect(page.locator("#picker [data-role=sample]")).to_have_value("upload")

    # Clear wipes the prediction and what the network sees; no request is sent for it
    page.click("#draw-clear")
    expect(page.locator("#digit-canvas")).to_have_attribute("data-state", "empty")
    expect(page.locator("#stage")).to_have_attribute("data-state", "empty")
    expect(page.locator("#prediction-note")).to_have_text("")
    expect(page.locator("#prediction-plot .bars .point")).to_have_count(0)
    expect(page.locator("#seen-plot .main-svg")).to_have_count(0)
    expect(page.locator("#seen-plot")).to_have_text("Nothing drawn yet.")
    page.wait_for_function("() => !location.search.includes('image=')")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "network-draw-cleared", full_page=False)
    # a tap is a dot of ink: a drawing the server can classify, not an empty one
    stroke(page, [(0.5, 0.5)])
    dot = drawn(page, one)
    expect(page.locator("#prediction-plot .bars .point")).to_have_count(10)
    page.click("#draw-clear")
    expect(page.locator("#stage")).to_have_attribute("data-state", "empty")

    # draw a "0", then a "7"
    circle = [
        (0.5 + 0.22 * math.sin(t / 24 * 2 * math.pi), 0.5 - 0.32 * math.cos(t / 24 * 2 * math.pi))
        for t in range(25)
    ]
    stroke(page, circle)
    zero = drawn(page, dot)
    expect(page.locator("#prediction-note")).to_have_text(re.compile(r"^0, "))
    page.click("#draw-clear")
    stroke(page, [(0.28, 0.2), (0.72, 0.2), (0.45, 0.82)])
    seven = drawn(page, zero)
    top = classify(get_network("lenet5"), drawn_image(page, seven), k=1)[0]
    assert top.label == "7"
    expect(page.locator("#prediction-note")).to_have_text(f"7, {percent(top.probability)}")

    # what the network sees is the drawing prepared as MNIST digits are: 32×32 for LeNet-5
    seen = page.evaluate("() => document.querySelector('#seen-plot').layout.xaxis.range")
    assert seen == [-0.5, 31.5]
    # and the feature maps follow the drawing
    open_section(page, 0)
    expect(page.locator("#maps-0 .map-tile")).to_have_count(6)
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, "network-draw")
    assert refused == []


def test_click_an_activation_to_see_its_receptive_field_and_computation(page):
    page.goto("/networks/lenet5?image=sample-mnist-3")
    ready(page)
    open_section(page, 3)  # conv2: 16 maps of 10×10
    tiles = page.locator("#maps-3 .map-tile")
    expect(tiles).to_have_count(16)
    channel = int(tiles.nth(2).get_attribute("data-channel"))
    box = tiles.nth(2).locator("img").bounding_box()
    page.mouse.click(
        box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.75
    )  # row 7, col 4
    inspector_ready(page)
    expect(page.locator("#inspector-title")).to_have_text(
        f"conv2 · channel {channel}, row 7, column 4"
    )

    # the receptive field on the input: 14×14 pixels, 2 apart
    row = get_network("lenet5").summary.layer("conv2")
    top, left, bottom, right = row.receptive_field.box(7, 4, 32, 32)
    assert (top, left, bottom, right) == (14, 8, 28, 22)
    assert field_box(page) == (top, left, bottom - 1, right - 1)
    assert field_box(page, "#seen-plot") == (top, left, bottom - 1, right - 1)
    expect(page.locator("#field-text")).to_have_text(
        "Rows 14–27 and columns 8–21 of the 32 × 32 input: 14 × 14 pixels. "
        "Neighbouring units of conv2 look 2 pixels apart."
    )

    # the computation, against torch.nn.functional
    model = get_model("lenet5")
    x = get_model_spec("lenet5").preprocess(sample("mnist-3.png"))[None]
    with torch.inference_mode():
        pool1 = F.avg_pool2d(torch.tanh(F.conv2d(x, model.conv1.weight, model.conv1.bias)), 2)
        window = pool1[0, :, 7:12, 4:9]  # (6, 5, 5)
        partials = (window * model.conv2.weight[channel]).sum(dim=(1, 2))
        value = F.conv2d(pool1, model.conv2.weight, model.conv2.bias)[0, channel, 7, 4]
    stepper = page.locator("#unit-stepper")
    expect(stepper.locator("[data-role=count]")).to_have_text("Step 8 of 8")
    lines = page.locator("#unit-expression .expr-line strong")
    expect(lines.nth(2)).to_have_text(fmt(float(value)))  # + bias = the pre-activation
    expect(lines.nth(3)).to_have_text(fmt(float(torch.tanh(value))))  # then tanh
    stepper.locator('[data-action="first"]').click()
    expect(stepper.locator("[data-role=count]")).to_have_text("Step 1 of 8")
    expect(lines.nth(0)).to_have_text(fmt(float(partials[0])))
    expect(page.locator("#unit-grids figcaption").first).to_have_text(
        "pool1, channel 0: rows 7–11, columns 4–8"
    )
    page.keyboard.press("ArrowRight")
    expect(lines.nth(1)).to_have_text(fmt(float(partials[:2].sum())))  # the running total
    expect(page.locator("#unit-note a")).to_have_attribute(
        "href", re.compile(r"^/convolution\?input=6x5x5:")
    )
    page.wait_for_function("() => location.search.includes('unit=conv2')")
    screenshot(page, "network-unit", full_page=False)

    # another cell of the enlarged map
    cell = page.locator("#map-plot .nsewdrag").bounding_box()
    page.mouse.click(cell["x"] + cell["width"] * 0.05, cell["y"] + cell["height"] * 0.05)
    expect(page.locator("#inspector-title")).to_have_text(
        f"conv2 · channel {channel}, row 0, column 0"
    )
    inspector_ready(page)
    assert field_box(page) == (0, 0, 13, 13)
    page.click("#inspector-close")
    expect(page.locator("#inspector")).not_to_be_visible()
    expect(page.locator("#unit-stepper [data-role=count]")).to_have_text("No steps")
    page.evaluate("() => document.activeElement.blur()")
    before = page.evaluate("() => window.scrollY")
    page.keyboard.press(" ")  # the page scrolls: no hidden stepper takes the key
    page.wait_for_function(f"() => window.scrollY > {before}")


def test_dense_layers_and_softmax_written_out(page):
    page.goto("/networks/lenet5?image=sample-mnist-3")
    ready(page)
    page.click("#show-softmax")
    inspector_ready(page)
    expect(page.locator("#inspector-title")).to_have_text("fc2 · unit 3")
    model = get_model("lenet5")
    x = get_model_spec("lenet5").preprocess(sample("mnist-3.png"))[None]
    with torch.inference_mode():
        logits = model(x)[0].double()
    probabilities = torch.softmax(logits, 0)
    rows = page.locator(".softmax tbody tr")
    expect(rows).to_have_count(10)
    expect(rows.nth(3).locator("td").nth(4)).to_have_text(fmt(float(probabilities[3]), 6))
    expect(rows.nth(3)).to_have_class("chosen")
    expect(page.locator(".softmax tfoot td").nth(3)).to_have_text(
        fmt(float((logits - logits.max()).exp().sum()), 6)
    )
    expect(page.locator("#field-text")).to_contain_text("Every pixel of the 32 × 32 input")
    expect(page.locator("#map-figure")).to_be_hidden()
    screenshot(page, "network-softmax", full_page=False)
    page.click("#inspector-close")
    # a bar of a dense layer: fc1 unit 7, with tanh after it
    open_section(page, 9)
    bar = page.locator("#maps-9 .bars .point").nth(7).bounding_box()
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    inspector_ready(page)
    expect(page.locator("#inspector-title")).to_have_text("fc1 · unit 7")
    with torch.inference_mode():
        flat = torch.tanh(
            model.conv3(
                F.avg_pool2d(
                    torch.tanh(model.conv2(F.avg_pool2d(torch.tanh(model.conv1(x)), 2))), 2
                )
            )
        ).flatten(1)
        pre = F.linear(flat, model.fc1.weight, model.fc1.bias)[0, 7]
    lines = page.locator("#unit-expression .expr-line strong")
    expect(lines.nth(1)).to_have_text(fmt(float(pre)))
    expect(lines.nth(2)).to_have_text(fmt(float(torch.tanh(pre))))
    expect(page.locator("#unit-table caption").first).to_have_text(
        "The 6 largest contributions (of 120)"
    )


def fmt4(value: float) -> str:
    """A number as the page's fmt() writes it: at most four decimals, a true minus sign."""
    text = f"{round(value, 4):.4f}".rstrip("0").rstrip(".")
    text = text.replace("-", "−")
    return f"({text})" if value < 0 else text


def test_efficientnet_on_the_cat_with_wide_layers_paged(page):
    page.goto("/networks/efficientnet-lite0")
    ready(page)
    top = classify(get_network("efficientnet-lite0"), sample("chelsea.png"), k=1)[0]
    assert top.label == "Egyptian cat"
    expect(page.locator("#prediction-note")).to_have_text(
        f"Egyptian cat, {percent(top.probability)}"
    )
    expect(page.locator("#prediction-plot .bars .point")).to_have_count(5)
    open_section(page, 8)  # blocks.1.expand.conv: 96 maps of 112×112
    section = page.locator("#maps-8")
    expect(section.locator(".map-tile")).to_have_count(16)
    expect(section.locator("[data-role=page]")).to_have_text("maps 1–16 of 96 (strongest first)")
    section.locator("[data-role=next]").click()
    expect(section.locator("[data-role=page]")).to_have_text("maps 17–32 of 96 (strongest first)")
    expect(section).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    page.select_option("#order", "index")
    expect(section.locator("[data-role=page]")).to_have_text("maps 1–16 of 96 (by number)")
    expect(section.locator(".tile-label").first).to_have_text("#0")
    expect(section).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    page.wait_for_function("() => location.search.includes('order=index')")

    # click inside a map: the enlarged map is a picture; click one of its pixels
    section.locator(".map-tile").nth(5).click()
    inspector_ready(page)
    figure = page.locator("#map-plot .nsewdrag").bounding_box()
    page.mouse.click(
        figure["x"] + figure["width"] * (60.5 / 112), figure["y"] + figure["height"] * (30.5 / 112)
    )
    expect(page.locator("#inspector-title")).to_have_text(
        "blocks.1.expand.conv · channel 5, row 30, column 60"
    )
    inspector_ready(page)
    row = get_network("efficientnet-lite0").summary.layer("blocks.1.expand.conv")
    top, left, bottom, right = row.receptive_field.box(30, 60, 224, 224)
    assert field_box(page) == (top, left, bottom - 1, right - 1)
    expect(page.locator("#field-caption")).to_have_text(f"{bottom - top} × {right - left} pixels")
    expect(page.locator("#unit-stepper [data-role=count]")).to_have_text(
        "Step 19 of 19"
    )  # 16 + bias + BN + ReLU6
    bn = get_model("efficientnet-lite0").get_submodule("blocks.1.expand.bn")
    mean, var = float(bn.running_mean[5]), float(bn.running_var[5])
    batchnorm = page.locator(".expr-line", has_text="BatchNorm(")
    expect(batchnorm).to_contain_text(f"− {fmt4(mean)}) / √({fmt4(var)} + 0.001) · ")
    screenshot(page, "network-efficientnet", full_page=False)


def test_the_unit_in_the_url_opens_on_load_and_a_forgotten_image_says_so(page):
    page.goto("/networks/simple-cnn?image=sample-mnist-7&unit=pool1:2,5,6")
    ready(page)
    inspector_ready(page)
    expect(page.locator("#inspector-title")).to_have_text("pool1 · channel 2, row 5, column 6")
    expect(page.locator("#unit-summary")).to_contain_text("Max pooling: the 2 × 2 window of relu1")
    page.click("#inspector-close")
    page.expected.append(404)
    page.goto("/networks/lenet5?image=0123456789abcdef0123456789abcdef")
    expect(page.locator("#stage")).to_have_attribute("data-state", "error", timeout=TIMEOUT)
    expect(page.locator("#error")).to_contain_text("upload it again")


@pytest.mark.parametrize("name", ["simple-cnn"])
def test_an_upload_is_classified(page, name):
    page.goto(f"/networks/{name}")
    ready(page)
    with open("static/samples/mnist-4.png", "rb") as file:
        data = file.read()
    page.set_input_files(
        "#picker-file", files=[{"name": "four.png", "mimeType": "image/png", "buffer": data}]
    )
    expect(page.locator("#prediction-note")).to_have_text(re.compile(r"^4, "), timeout=TIMEOUT)
    expect(page.locator("#picker [data-role=status]")).to_contain_text("four.png")
