"""Hold the live server's long computations mid-way, so that a test can act on a running job
whatever the machine's speed.

Browser tests run the server in the test's own process (:mod:`tests.utils.server`), so a
test can wrap the progress reports of the computations: every report between 0 and 1
waits until the test opens the gate. A test that cancels a job then knows that the job
was running when the cancel arrived, on a slow laptop as on a fast GPU server, instead of
hoping that 100 SmoothGrad samples take longer than a click.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import pytest

from app.explain import progress as progress_module

HOLD_AT_MOST_S = 60.0  # a gate left shut never hangs the suite


class Gate:
    """Computations pause at each progress report while the gate is shut."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self.reached = threading.Event()  # some computation waited at the gate

    def open(self) -> None:
        """Let every held computation go on, and hold none until :meth:`shut`."""
        self._open.set()

    def shut(self) -> None:
        self._open.clear()

    def wrap(self, report: Callable[..., None]) -> Callable[..., None]:
        def held(progress, fraction):  # type: ignore[no-untyped-def]
            report(progress, fraction)  # raises Cancelled once nobody wants the result
            if 0 < fraction < 1 and not self._open.is_set():
                self.reached.set()
                self._open.wait(HOLD_AT_MOST_S)

        return held

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Hold every report made through :func:`app.explain.progress.report`: by the
        progress module itself (and so every :func:`~app.explain.progress.batches`) and
        by each module of the app that imported ``report`` by name."""
        original = progress_module.report
        for name, module in list(sys.modules.items()):
            if (name == "app" or name.startswith("app.")) and getattr(
                module, "report", None
            ) is original:
                monkeypatch.setattr(module, "report", self.wrap(original))
