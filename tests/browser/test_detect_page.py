"""The detection page in a real browser: EfficientNet-Lite0 on the cat-and-espresso scene
(the window stepped over the photo with its crop and score, suppression step by step, the
boxes found, the cost against the fully convolutional pass) at three window sizes of the
screen, another class typed by name, LeNet-5 on digits with its exact one-pass map, a bad
setting's sentence, and the tab on the other network pages. Few windows, so each detection
takes seconds."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.utils.browser import ready, screenshot

TIMEOUT = 90_000  # EfficientNet may still be loading, and 8 windows on a busy CPU
CAT = "/networks/efficientnet-lite0/detect?sizes=224&stride=32&threshold=0.2&iou=0.3&target=285"


def wait_ready(page):  # type: ignore[no-untyped-def]
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)


def test_the_cat_and_the_espresso_cup(page):
    page.goto(CAT)
    wait_ready(page)
    expect(page.locator("#slide-sub")).to_have_text("8 windows · P(Egyptian cat)")
    expect(page.locator("#window-stepper [data-role=count]")).to_have_text("Step 1 of 8")
    expect(page.locator("#window-text")).to_have_text("Window 1 of 8: 224 × 224 pixels at x 0, y 0")
    expect(page.locator("#crop-text")).to_contain_text("resized to 224 × 224: P(Egyptian cat) = 0.")
    page.locator("#window-stepper [data-action=next]").click()
    expect(page.locator("#window-text")).to_have_text(
        "Window 2 of 8: 224 × 224 pixels at x 32, y 0"
    )
    expect(page.locator("#maps figure")).to_have_count(1)
    # the boxes found: the best Egyptian cat box is in the left half of the 448-pixel scene
    best = page.locator("#final-list li").first
    expect(best).to_contain_text("(best)")
    x = int(best.text_content().split("at x ")[1].split(",")[0])
    assert x + 112 < 224
    # suppression: the first step keeps the best box and lists every other with its IoU
    nms = page.locator("#nms-stepper")
    nms.locator("[data-action=next]").click()
    expect(page.locator("#nms-caption")).to_contain_text("Step 1: keep #1")
    expect(page.locator("#nms-text li").first).to_contain_text("IoU")
    # the cost, and the one pass compared with the windows where they coincide
    expect(page.locator("#cost")).to_contain_text("Sliding windows: 8 forward passes")
    expect(page.locator("#cost")).to_contain_text("Fully convolutional: 1 pass")
    expect(page.locator("#fc-maps figcaption")).to_contain_text("8 positions coincide")
    expect(page.locator(".det-rewrites tbody tr")).to_have_count(4)
    expect(page.locator("#exactness")).to_contain_text("layers pad their input")
    expect(page.locator(".view-tabs a[aria-current=page]")).to_have_text("Detection")
    for width, height in ((1600, 1000), (1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        wait_ready(page)
        page.wait_for_function("() => document.documentElement.scrollWidth > 0")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        screenshot(page, f"detect-cat-{width}x{height}")
    # another class, typed by name: the espresso's best box is in the right half
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.fill("#target", "espresso")
    page.press("#target", "Enter")
    expect(page.locator("#slide-sub")).to_have_text("8 windows · P(espresso)", timeout=TIMEOUT)
    wait_ready(page)
    best = page.locator("#final-list li").first
    x = int(best.text_content().split("at x ")[1].split(",")[0])
    assert x + 112 > 224
    page.wait_for_function("() => location.search.includes('target=967')")  # written (200 ms)
    screenshot(page, "detect-espresso")


def test_lenet_on_digits_with_its_exact_map(page):
    page.goto("/networks/lenet5/detect?sizes=32&stride=4&threshold=0.5&target=7")
    wait_ready(page)
    expect(page.locator("#slide-sub")).to_have_text("69 windows · P(7)")
    expect(page.locator("#exactness")).to_contain_text("No convolution or pooling")
    expect(page.locator("#fc-maps figcaption")).to_contain_text(
        "69 positions coincide with sliding windows"
    )
    expect(page.locator("#fc-maps figcaption")).to_contain_text("(equal up to rounding)")
    page.locator("#window-stepper [data-action=last]").click()
    expect(page.locator("#window-text")).to_have_text(
        "Window 69 of 69: 32 × 32 pixels at x 88, y 8"
    )
    best = page.locator("#final-list li").first
    expect(best).to_contain_text("7: P ")
    screenshot(page, "detect-lenet-digits")


def test_a_bad_setting_says_why(page):
    page.expected.append(422)
    page.goto("/networks/lenet5/detect?sizes=32&stride=4&target=3")
    wait_ready(page)
    page.fill("#sizes", "32,32")
    page.press("#sizes", "Tab")
    expect(page.locator("#error")).to_have_text("the window size 32 is given twice")
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")


def test_the_tab_is_on_every_network_page(page):
    page.goto("/networks/simple-cnn")
    tab = page.locator(".view-tabs a", has_text="Detection")
    expect(tab).to_have_attribute("href", "/networks/simple-cnn/detect")
    tab.click()
    ready(page)
    expect(page.locator("#slide-sub")).to_contain_text("windows · P(")
