"""The normalisation page in a real browser: which maps share a statistic, the mean, the
variance and one value followed to the output, equal to F.batch_norm / F.layer_norm /
F.group_norm / F.instance_norm; BatchNorm's running statistics in train and eval mode; a
bad setting explained; no horizontal scroll at three screen sizes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from playwright.sync_api import expect

from app.services.mechanics import NORM_INPUT
from tests.utils.browser import ready, screenshot

X = torch.tensor(NORM_INPUT, dtype=torch.float64)  # 2 × 4 × 3 × 3
COUNT = '#stepper [data-role="count"]'


def shown(value: float) -> str:
    """A number as the page prints it: at most four decimals, − for minus."""
    text = repr(round(float(value), 4))
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text.replace("-", "−")


def choose(page, name, value):  # type: ignore[no-untyped-def]
    page.check(f'[name="{name}"][value="{value}"]')
    page.evaluate("document.activeElement.blur()")  # keys go to the stepper again
    ready(page)


def test_batch_norm_pools_a_channel_across_the_batch_and_updates_running_statistics(page):
    page.goto("/normalisation")
    ready(page)
    expect(page.locator(".axis.on")).to_have_text(["N", "H", "W"])
    expect(page.locator(COUNT)).to_have_text("Step 1 of 4")
    expect(page.locator("#position")).to_have_text(
        "Statistic 1 of 4: 2 maps: (0, 0), (1, 0), 18 values"
    )
    assert page.locator(".map.member").count() == 4  # channel 0 of both examples, in and out
    mean = X[:, 0].mean()
    expect(page.locator("#expression")).to_contain_text(f"/ 18 = {shown(mean)}")
    expected = F.batch_norm(X, None, None, training=True, eps=1e-5)
    expect(page.locator("#example")).to_contain_text(f"= {shown(expected[0, 0, 0, 0])}")
    running_mean, running_var = (
        torch.zeros(4, dtype=torch.float64),
        torch.ones(4, dtype=torch.float64),
    )
    F.batch_norm(X, running_mean, running_var, training=True, momentum=0.1)
    expect(page.locator("#expression")).to_contain_text(f"= {shown(running_mean[0])}")
    expect(page.locator("#expression")).to_contain_text(f"= {shown(running_var[0])}")
    page.keyboard.press("End")
    expect(page.locator("#running-table tr.current td").first).to_have_text("3")
    screenshot(page, "normalisation-batch")

    choose(page, "mode", "eval")
    page.fill('[name="running_mean"]', "1, 2, 3, 4")
    page.dispatch_event('[name="running_mean"]', "change")
    page.evaluate("document.activeElement.blur()")
    ready(page)
    page.keyboard.press("Home")
    expect(page.locator("#expression")).to_contain_text("running_mean[0] = 1")
    rm = torch.tensor([1.0, 2, 3, 4], dtype=torch.float64)
    evaluated = F.batch_norm(X, rm, torch.ones(4, dtype=torch.float64), training=False)
    expect(page.locator("#example")).to_contain_text(f"= {shown(evaluated[0, 0, 0, 0])}")
    expect(page.locator("#running-text")).to_contain_text("nothing is updated")


def test_layer_group_and_instance_norm_equal_torch(page):
    page.goto("/normalisation?kind=layer")
    ready(page)
    expect(page.locator(".axis.on")).to_have_text(["C", "H", "W"])
    expect(page.locator(COUNT)).to_have_text("Step 1 of 2")
    layer = F.layer_norm(X, (4, 3, 3), eps=1e-5)
    expect(page.locator("#example")).to_contain_text(f"= {shown(layer[0, 0, 0, 0])}")

    choose(page, "kind", "group")
    page.fill('[name="groups"]', "2")
    page.dispatch_event('[name="groups"]', "change")
    page.evaluate("document.activeElement.blur()")
    ready(page)
    expect(page.locator(COUNT)).to_have_text("Step 1 of 4")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#position")).to_contain_text("2 maps: (0, 2), (0, 3), 18 values")
    group = F.group_norm(X, 2, eps=1e-5)
    expect(page.locator("#example")).to_contain_text(f"= {shown(group[0, 2, 0, 0])}")
    screenshot(page, "normalisation-group")

    page.expected.append(422)
    page.fill('[name="groups"]', "3")
    page.dispatch_event('[name="groups"]', "change")
    expect(page.locator("#error")).to_contain_text("groups must divide the 4 channels")
    expect(page.locator("#stage")).to_have_attribute("data-state", "error")

    choose(page, "kind", "instance")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator(COUNT)).to_have_text("Step 1 of 8")
    page.keyboard.press("End")
    instance = F.instance_norm(X, eps=1e-5)
    expect(page.locator("#example")).to_contain_text(f"= {shown(instance[1, 3, 0, 0])}")
    assert page.locator(".map.member").count() == 2


def test_a_typo_stops_the_computation_and_the_page_fits_three_screens(page):
    page.goto("/normalisation")
    ready(page)
    page.fill('[name="gamma"]', "1, x")
    page.dispatch_event('[name="gamma"]', "change")
    expect(page.locator("#error")).to_have_text(
        "Not computed: gamma must be a number or a list of numbers."
    )
    for width, height in ((1600, 1000), (1280, 720), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/normalisation?kind=group&groups=2")
        ready(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.locator("#input-maps").scroll_into_view_if_needed()
        screenshot(page, f"normalisation-{width}x{height}", full_page=False)
