"""A busy server (503 + Retry-After) in a real browser: the page says so, waits, retries and
finishes as usual (static/js/lib/api.js, the status line of base.html)."""

from __future__ import annotations

import time

from playwright.sync_api import Route, expect

from tests.utils.browser import ready, screenshot

BUSY = "#busy"


def busy_once(page, pattern: str) -> list[float]:  # type: ignore[no-untyped-def]
    """Answer the first request matching ``pattern`` with 503 and ``Retry-After: 1`` (as the
    server does when its queue is full); let the others through. Returns when each request
    arrived (seconds, monotonic)."""
    seen: list[float] = []

    def handle(route: Route) -> None:
        seen.append(time.monotonic())
        if len(seen) == 1:
            route.fulfill(
                status=503,
                headers={"retry-after": "1", "content-type": "application/json"},
                body='{"detail": "The server is busy; try again in 1 s"}',
            )
        else:
            route.continue_()

    page.route(pattern, handle)
    page.expected.append(503)  # the browser logs the refused load
    return seen


def test_a_busy_server_is_waited_out_with_a_visible_note(page):
    seen = busy_once(page, "**/api/convolution")
    page.goto("/convolution")
    note = page.locator(BUSY)
    expect(note).to_be_visible()
    expect(note).to_have_attribute("role", "status")
    expect(note).to_have_text("The server is busy — retrying in 1 s…")
    screenshot(page, "busy-retrying", full_page=False)

    ready(page)  # the retry was answered and drawn
    expect(note).to_be_hidden()
    expect(page.locator("#expression")).to_contain_text("= 3")
    expect(page.locator("#error")).to_be_hidden()
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.9  # Retry-After was honoured
    screenshot(page, "busy-recovered", full_page=False)


def test_the_note_is_hidden_when_nothing_waits(page):
    page.goto("/convolution")
    ready(page)
    expect(page.locator(BUSY)).to_be_hidden()
    expect(page.locator(BUSY)).to_have_text("")
