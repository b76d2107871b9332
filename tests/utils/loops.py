"""Running a coroutine from a test, whatever else holds this thread's event loop; waiting for
a condition instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any


def run_in_fresh_loop(
    coroutine_function: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30.0
) -> Any:
    """asyncio.run in a thread of its own (a session's browser keeps a loop on this one);
    the coroutine's result, or its exception raised again here."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(coroutine_function()))
        except BaseException as error:  # re-raised below, on the test's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"the coroutine did not end in {timeout:g} s"
    if errors:
        raise errors[0]
    return results[0] if results else None


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Return once ``condition()`` holds (checked every millisecond or so); fail after
    ``timeout`` seconds. A busy machine is slower, never wrong."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.001)
