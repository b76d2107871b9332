"""The home page and the offline API docs in a real browser."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.utils.browser import screenshot


def test_home_introduces_the_lessons_and_links_to_the_playground(page):
    page.goto("/")
    expect(page.locator("h1")).to_have_text("What a convolutional network really computes")
    lessons = page.locator(".lesson h2")
    expect(lessons.first).to_contain_text("Images as numbers")
    expect(page.locator('[data-lesson="convolution"] a')).to_have_attribute("href", "/convolution")
    for slug in ("pointwise", "pooling", "activations", "transposed"):
        expect(page.locator(f'[data-lesson="{slug}"] a')).to_have_attribute("href", f"/{slug}")
    screenshot(page, "home")
    page.click('[data-lesson="convolution"] a')
    expect(page).to_have_url(
        page.url.split("/")[0] + "//" + page.url.split("/")[2] + "/convolution"
    )
    expect(page.locator("h1")).to_have_text("Convolution, step by step")
    expect(page.locator('.topbar a[aria-current="page"]')).to_have_text("Convolution")


def test_docs_render_from_local_assets(page):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15000)
    expect(page.get_by_text("/api/convolution", exact=True).first).to_be_visible()
    assert not outside
    screenshot(page, "docs")
