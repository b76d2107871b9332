"""Fixtures: the app (in-process client), a live server and a headless browser page."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from app.main import create_app
from app.settings import Settings
from tests.utils.browser import CHROMIUM_FLAGS, chromium_path
from tests.utils.server import live_server

# Property tests: the same examples on every machine and every run (a failure seen anywhere
# reproduces everywhere), and no per-example deadline (a busy CPU is slower, not wrong).
# `HYPOTHESIS_PROFILE=explore` searches new examples while developing.
hypothesis_settings.register_profile("repeatable", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=500)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(device="cpu")


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    with live_server() as url:
        yield url


#: How long a browser test waits for a condition (an element, a state, a request) before it
#: fails. Generous, so that a busy or slow machine only makes the suite slower: tests wait
#: for conditions, never for fixed times.
WAIT_MS = 30_000


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, base_url):  # type: ignore[no-untyped-def]
    """A fresh page at 1600×1000 that fails the test on any console error or CSP violation.

    A test that provokes an error answer on purpose lists its status in ``page.expected``
    (e.g. ``page.expected.append(422)``): the browser logs those as failed loads.
    """
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=base_url)
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    tab.expected = []
    problems: list[str] = []

    def on_console(message):  # type: ignore[no-untyped-def]
        text = message.text
        if message.type != "error" or any(f"status of {code}" in text for code in tab.expected):
            return
        problems.append(text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    context.close()
    assert not problems, f"the page logged errors: {problems}"
