"""Take the README's screenshots anew (``docs/screenshot-*.png``), at 1600×1000, from the app
as it is: ``.venv/bin/python scripts/readme-screenshots.py`` (needs the test tools and
Chromium, as ``make test`` installs them). Each page is shot once it says it has drawn."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.utils.browser import CHROMIUM_FLAGS, chromium_path  # noqa: E402
from tests.utils.server import live_server  # noqa: E402

TIMEOUT = 180_000
DOCS = ROOT / "docs"


def convolution(page: Page) -> None:
    page.goto("/convolution?preset=rgb_two_filters&step=14")
    expect(page.locator("#stage")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)


def saliency(page: Page) -> None:
    methods = "gradient,smoothgrad,integrated-gradients"
    page.goto(f"/networks/efficientnet-lite0/saliency?image=sample-chelsea&methods={methods}")
    for method in methods.split(","):
        for column in (0, 1):
            cell = page.locator(f'.sal-cell[data-method="{method}"][data-column="{column}"]')
            expect(cell).to_have_attribute("data-state", "done", timeout=TIMEOUT)


def explorer(page: Page) -> None:
    page.goto("/networks/lenet5?image=sample-mnist-3&unit=conv2:2,7,4")
    expect(page.locator("#inspector-body")).to_have_attribute(
        "data-state", "ready", timeout=TIMEOUT
    )


def architecture(page: Page) -> None:
    page.goto("/networks/resnet18/architecture")
    expect(page.locator("body")).to_contain_text("ResNet-18", timeout=TIMEOUT)
    page.wait_for_timeout(1500)  # the charts


SHOTS = {
    "convolution": (convolution, True),
    "saliency": (saliency, False),
    "explorer": (explorer, False),
    "architecture": (architecture, False),
}


def main() -> None:
    with live_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=url)
        for name, (visit, full_page) in SHOTS.items():
            page = context.new_page()
            visit(page)
            path = DOCS / f"screenshot-{name}.png"
            page.screenshot(path=str(path), full_page=full_page)
            print(f"wrote {path.relative_to(ROOT)}")
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
