"""Browser tests drive real pages in headless Chromium; they are marked ``browser``."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def gate(monkeypatch):  # type: ignore[no-untyped-def]
    """Long computations of the live server pause at each progress report until
    ``gate.open()`` (``gate.shut()`` holds them again; opened when the test ends)."""
    from tests.utils.gate import Gate

    held = Gate()
    held.install(monkeypatch)
    yield held
    held.open()
