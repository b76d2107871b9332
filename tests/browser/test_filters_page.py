"""The learned-filters page in a real browser: EfficientNet-Lite0's first layer in colour, a
filter's numbers and its map on the cat; a deep channel's activation maximisation with its
progress, its picture and Cancel; LeNet-5's sort by norm and top digits."""

from __future__ import annotations

import re

import torch
from playwright.sync_api import expect

from app.explain.filters import filter_detail
from app.explain.topdigits import top_digits
from app.nets.registry import get_model, get_model_spec, get_network
from tests.utils.browser import ready, screenshot
from tests.utils.plots import wait_for_cells
from tests.utils.samples import sample

TIMEOUT = 30000  # the first EfficientNet request may still wait for the model to load
EFFICIENTNET = get_model("efficientnet-lite0")


def fmt(value: float, digits: int = 3) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text).replace("-", "−")


def click_tile(page, position: int, columns: int, tile: int, channel: int = 0):
    """Click the tile at ``position`` of a gallery ``columns`` tiles wide (square tiles)."""
    scale = int(page.locator("#gallery-frame").get_attribute("data-scale"))
    row, col = divmod(position, columns)
    step = tile + 1  # one gap pixel between tiles
    page.evaluate(  # the gallery scrolls: bring the row into view, as a person would
        "(top) => { document.querySelector('#gallery-scroll').scrollTop = top; }",
        max(0, row * step * scale - 20),
    )
    box = page.locator("#gallery-img").bounding_box()
    x = box["x"] + ((col + channel) * step + tile / 2) * scale
    y = box["y"] + (row * step + tile / 2) * scale
    page.mouse.click(x, y)


def test_efficientnets_first_layer_in_colour_a_filters_numbers_and_its_map_on_the_cat(page):
    page.goto("/networks/efficientnet-lite0/filters")
    ready(page)
    expect(page.locator("#layer")).to_have_value("stem.conv")
    expect(page.locator("#gallery-sub")).to_have_text("stem.conv: rgb, 32 × 3 × 3 × 3")
    natural = page.evaluate("() => document.querySelector('#gallery-img').naturalWidth")
    assert natural == 16 * 4 - 1  # 16 tiles of 3 pixels, 1-pixel gaps
    assert int(page.locator("#gallery-frame").get_attribute("data-scale")) >= 12  # readable
    expect(page.locator("#gallery-legend")).to_be_empty()  # colours are the RGB weights

    click_tile(page, 5, columns=16, tile=3)
    ready(page, "#filter-panel")
    expect(page.locator("#filter-title")).to_have_text("Filter 5 of stem.conv")
    weights = EFFICIENTNET.stem.conv.weight.detach()[5]  # (3, 3, 3)
    expect(page.locator("#filter-facts")).to_contain_text(
        f"L2 norm {fmt(float(weights.norm()), 4)}"
    )
    captions = page.locator("#slices figcaption")
    expect(captions).to_have_text(["R (red input)", "G (green input)", "B (blue input)"])
    for channel in range(3):
        wait_for_cells(
            page,
            f"#slices .plot-slot:nth-child({channel + 1})",
            [fmt(v) for v in weights[channel].flatten().tolist()],
        )
    expect(page.locator("#slice-pager")).to_be_hidden()

    ready(page, "#map-panel")
    expect(page.locator("#map-panel")).to_have_attribute("data-image", "sample-chelsea")
    x = get_model_spec("efficientnet-lite0").preprocess(sample("chelsea.png"))
    with torch.inference_mode():
        expected = EFFICIENTNET.stem.conv(x[None])[0, 5]
    low, high = float(expected.min()), float(expected.max())
    expect(page.locator("#map-size")).to_have_text(f"112 × 112, from {fmt(low)} to {fmt(high)}")
    expect(page.locator("#map-channel")).to_have_text("5 of stem.conv")
    assert page.evaluate("() => document.querySelector('#map-img').naturalWidth") == 112
    page.wait_for_function("() => location.search.includes('filter=5')")
    screenshot(page, "filters-efficientnet-stem")

    # the next filter in the gallery, by the arrow beside the title
    page.click("#filter-next")
    expect(page.locator("#filter-title")).to_have_text("Filter 6 of stem.conv")
    ready(page, "#filter-panel")
    wait_for_cells(
        page,
        "#slices .plot-slot:nth-child(1)",
        [fmt(v) for v in EFFICIENTNET.stem.conv.weight.detach()[6, 0].flatten().tolist()],
    )
    page.click("#filter-prev")
    expect(page.locator("#filter-title")).to_have_text("Filter 5 of stem.conv")
    ready(page, "#filter-panel")

    # another image: the coffee; the same filter's map changes
    page.select_option("#picker [data-role=sample]", "sample-coffee")
    expect(page.locator("#map-panel")).to_have_attribute("data-image", "sample-coffee")
    ready(page, "#map-panel")


def test_a_deep_channel_runs_activation_maximisation_with_progress_then_a_picture(page, gate):
    layer = "blocks.10.expand.conv"
    page.goto(f"/networks/efficientnet-lite0/filters?layer={layer}&filter=37")
    ready(page)
    ready(page, "#filter-panel")  # from the URL: the layer, the filter
    expect(page.locator("#layer")).to_have_value(layer)
    expect(page.locator("#filter-title")).to_have_text(f"Filter 37 of {layer}")
    inputs = EFFICIENTNET.get_submodule(layer).in_channels  # a 1×1 filter: one weight each
    expect(page.locator("#slices .bars .point")).to_have_count(inputs)
    expect(page.locator("#gallery-mark")).to_be_visible()
    expect(page.locator("#responds-sub")).to_have_text(f"channel 37 of {layer}")

    page.evaluate(
        """() => {
            window.seenProgress = [];
            new MutationObserver(() => window.seenProgress.push(
                document.querySelector('#progress-text').textContent
            )).observe(document.querySelector('#progress-text'), { childList: true });
        }"""
    )
    page.fill("#steps", "40")
    page.fill("#size", "64")
    gate.open()
    page.click("#run")
    expect(page.locator("#responds")).to_have_attribute("data-state", "done", timeout=TIMEOUT)
    # what the bar said on the way: percentages that never go back, ending at 100% (how
    # many it shows between depends on the machine's speed, so none is required)
    seen = page.evaluate("() => window.seenProgress")
    shown = [int(text[:-1]) for text in seen if re.fullmatch(r"[0-9]{1,3}%", text)]
    assert shown and shown[-1] == 100, seen
    assert shown == sorted(shown), seen
    assert page.evaluate("() => document.querySelector('#maximized-img').naturalWidth") == 64
    caption = page.locator("#maximized-caption")
    expect(caption).to_contain_text(f"Channel 37 of {layer}: mean activation")
    expect(caption).to_contain_text("after 40 steps (64 × 64 pixels, seed 0)")
    page.wait_for_function("() => location.search.includes('steps=40')")
    screenshot(page, "filters-efficientnet-maximize")

    # a long run, held part-way and cancelled: the page says so, and the server's job is
    # cancelled before its end
    gate.shut()
    page.fill("#steps", "512")
    page.fill("#size", "224")
    with page.expect_response(re.compile(r"/maximize/jobs$")) as started:
        page.click("#run")
    job = started.value.json()
    expect(page.locator("#responds")).to_have_attribute("data-state", "running")
    page.click("#cancel")
    expect(page.locator("#responds")).to_have_attribute("data-state", "cancelled")
    expect(page.locator("#progress-text")).to_have_text(
        "Cancelled: the server stopped the computation."
    )
    gate.open()
    page.wait_for_function(
        """async (url) => (await (await fetch(url)).json()).status === 'cancelled'""",
        arg=job["url"],
        timeout=10000,
    )
    assert page.request.get(job["url"]).json()["progress"] < 1

    # run again, then leave the page: the job stops on the server
    gate.shut()
    with page.expect_response(re.compile(r"/maximize/jobs$")) as started:
        page.click("#run")
    job = started.value.json()
    expect(page.locator("#responds")).to_have_attribute("data-state", "running")
    page.goto("/networks")
    gate.open()
    page.wait_for_function(
        """async (url) => (await (await fetch(url)).json()).status === 'cancelled'""",
        arg=job["url"],
        timeout=10000,
    )


def test_lenet_sorted_by_norm_and_the_nine_top_digits(page):
    page.goto("/networks/lenet5/filters")
    ready(page)
    expect(page.locator("#gallery-sub")).to_have_text("conv1: single, 6 × 1 × 5 × 5")
    page.get_by_label("strongest first (L2 norm)").check()
    page.wait_for_function("() => location.search.includes('order=norm')")
    ready(page)
    norms = get_model("lenet5").conv1.weight.detach().flatten(1).norm(dim=1)
    strongest = int(norms.argmax())
    click_tile(page, 0, columns=6, tile=5)  # the first tile: the strongest filter
    ready(page, "#filter-panel")
    expect(page.locator("#filter-title")).to_have_text(f"Filter {strongest} of conv1")
    found = filter_detail(get_model("lenet5"), "conv1", strongest)
    wait_for_cells(page, "#slices", [fmt(v) for v in found.weights[0].flatten().tolist()])

    page.select_option("#layer", "conv2")  # still strongest first
    ready(page)
    conv2 = get_model("lenet5").conv2.weight.detach().flatten(1).norm(dim=1)
    fourth = int(torch.argsort(conv2, descending=True, stable=True)[3])
    click_tile(page, 3, columns=1, tile=5, channel=2)  # row 3: the 4th strongest; column 2
    ready(page, "#filter-panel")
    expect(page.locator("#filter-title")).to_have_text(f"Filter {fourth} of conv2")
    page.get_by_label("by number").check()  # back in index order: row 3 is filter 3
    ready(page)
    click_tile(page, 3, columns=1, tile=5, channel=2)
    expect(page.locator("#filter-title")).to_have_text("Filter 3 of conv2")
    ready(page, "#filter-panel")
    expect(page.locator("#slices figcaption")).to_have_count(6)
    expect(page.locator("#slice-mark")).to_be_visible()
    expect(page.locator("#slices .plot-slot.picked figcaption")).to_have_text("input channel 2")
    page.wait_for_function("() => location.search.includes('channel=2')")

    ready(page, "#top")
    expected = top_digits(get_network("lenet5"), "conv2", 3)
    captions = [f"digit {d.label}, peak {fmt(d.activation)}" for d in expected.digits]
    expect(page.locator("#top-digits .digit-caption")).to_have_text(captions)
    expect(page.locator("#top-digits .digit-field")).to_have_count(9)
    screenshot(page, "filters-lenet-top-digits")

    # the view lives in the URL: a reload shows the same layer, filter, slice and digits
    page.wait_for_function("() => location.search.includes('filter=3')")
    page.reload()
    ready(page, "#filter-panel")
    expect(page.locator("#filter-title")).to_have_text("Filter 3 of conv2")
    expect(page.locator("#slices .plot-slot.picked figcaption")).to_have_text("input channel 2")
    ready(page, "#top")
    expect(page.locator("#top-digits .digit-caption")).to_have_text(captions)


def test_a_wide_filters_slices_come_a_page_at_a_time(page):
    page.goto("/networks/lenet5/filters?layer=conv3&filter=7")
    ready(page, "#filter-panel")
    expect(page.locator("#slice-page")).to_have_text("input channels 1–8 of 16")
    expect(page.locator("#slices figcaption")).to_have_count(8)
    weights = get_model("lenet5").conv3.weight.detach()[7]  # (16, 5, 5)
    wait_for_cells(
        page, "#slices .plot-slot:nth-child(1)", [fmt(v) for v in weights[0].flatten().tolist()]
    )
    page.click("#slice-next")
    expect(page.locator("#slice-page")).to_have_text("input channels 9–16 of 16")
    expect(page.locator("#slices figcaption").first).to_have_text("input channel 8")
    wait_for_cells(
        page, "#slices .plot-slot:nth-child(8)", [fmt(v) for v in weights[15].flatten().tolist()]
    )
    expect(page.locator("#slice-next")).to_be_disabled()
    page.wait_for_function("() => location.search.includes('page=2')")


def test_before_a_filter_is_chosen_and_by_keyboard(page):
    """Issue 14, defect 9: no broken-image icons before a filter is chosen, Run looks
    disabled, the gallery is reached and used by keyboard, and LeNet-5's map is captioned
    with what follows its convolution (a Tanh: it has no BatchNorm)."""
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto("/networks/lenet5/filters")
    ready(page)
    expect(page.locator("#map-img")).to_be_hidden()
    expect(page.locator("#map-panel .map-empty")).to_be_visible()
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => i.offsetWidth && !(i.complete && i.naturalWidth))"
    )
    assert broken == []
    run = page.locator("#run")
    expect(run).to_be_disabled()
    look = "b => getComputedStyle(b).backgroundColor"
    primary = page.evaluate(
        "() => { const b = document.createElement('button'); b.className = 'primary';"
        " document.body.append(b); const c = getComputedStyle(b).backgroundColor;"
        " b.remove(); return c; }"
    )
    assert run.evaluate(look) != primary, "Run looks enabled while disabled"
    page.focus("#gallery-scroll")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#filter-title")).to_have_text("Filter 0 of conv1")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#filter-title")).to_have_text("Filter 1 of conv1")
    ready(page, "#map-panel")
    expect(page.locator("#map-img")).to_be_visible()
    expect(page.locator("#map-legend")).to_contain_text("before Tanh")
    expect(page.locator("#map-legend")).not_to_contain_text("BatchNorm")
    expect(run).to_be_enabled()
    screenshot(page, "filters-keyboard-1280")
