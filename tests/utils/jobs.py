"""A computation for job tests that moves one step at a time when the test says so."""

from __future__ import annotations

import threading
import time

from app.explain.progress import Cancelled, batches


class Work:
    """A computation in steps; each step waits for the test to let it go on."""

    def __init__(self, steps: int = 4, value: object = "result") -> None:
        self.steps, self.value = steps, value
        self.calls = 0
        self.step = threading.Semaphore(0)
        self.started = threading.Event()
        self.stopped = threading.Event()

    def __call__(self, progress) -> object:  # type: ignore[no-untyped-def]
        self.calls += 1
        self.started.set()
        try:
            for _ in batches(self.steps, 1, progress):
                assert self.step.acquire(timeout=10)
        except Cancelled:
            self.stopped.set()
            raise
        return self.value

    def go(self, steps: int = 1) -> None:
        for _ in range(steps):
            self.step.release()


def wait_until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
