"""Headless Chromium (Debian's package) driven by Playwright, and a place for screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: Screenshots land here for a person to look at (``make test`` keeps them).
SCREENSHOTS = Path(os.environ.get("CONVSCOPE_SCREENSHOTS", "artifacts/screenshots"))


def chromium_path() -> str:
    """The Chromium binary: ``CONVSCOPE_CHROMIUM``, else Debian's or whatever is on PATH."""
    for candidate in (
        os.environ.get("CONVSCOPE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "Chromium was not found: `make test` installs Debian's chromium package, or set "
        "CONVSCOPE_CHROMIUM to a Chromium binary"
    )


def screenshot(page, name: str, *, full_page: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """Save a screenshot (of the whole page, or of what the window shows) under
    :data:`SCREENSHOTS` and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def ready(page, selector: str = "#stage") -> None:  # type: ignore[no-untyped-def]
    """Wait until ``selector`` has drawn what it was last asked for (``data-state="ready"``)."""
    from playwright.sync_api import expect

    expect(page.locator(selector)).to_have_attribute("data-state", "ready")


def set_pair(page, name: str, value: int, wait: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Type ``value`` into a settings pair (``name_h`` and ``name_w``), as a person would,
    then hand the keys back to the stepper; wait for the page to recompute."""
    for axis in ("h", "w"):
        page.fill(f'[name="{name}_{axis}"]', str(value))
        page.dispatch_event(f'[name="{name}_{axis}"]', "change")
    page.evaluate("document.activeElement.blur()")  # keys go to the stepper again
    if wait:
        ready(page)


def stroke(page, points, *, canvas: str = "#digit-canvas", steps: int = 6) -> None:  # type: ignore[no-untyped-def]
    """Draw with the mouse through ``points`` given as fractions of the canvas (scrolled
    into view first: the mouse reaches only what the window shows)."""
    page.locator(canvas).scroll_into_view_if_needed()
    box = page.locator(canvas).bounding_box()
    at = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=steps)
    page.mouse.up()
