"""A bounded pool for heavy computations: a few threads and a bounded waiting line.

When every thread is busy and the line is full, :meth:`ComputePool.run` raises
:class:`PoolBusy` at once, which the app answers with 503 and ``Retry-After``: a crowd of
students gets a clear "try again" instead of a server that hangs for everyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import torch

T = TypeVar("T")


class PoolBusy(Exception):
    """Every worker is busy and the waiting line is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the server is busy")
        self.retry_after = retry_after


class ComputePool:
    """Run blocking torch work off the event loop, with back-pressure."""

    def __init__(self, workers: int, queue: int, retry_after: int, torch_threads: int = 0):
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after = retry_after
        self._in_flight = 0  # only touched on the event loop's thread
        initializer = partial(torch.set_num_threads, torch_threads) if torch_threads else None
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="convscope-compute", initializer=initializer
        )

    @property
    def in_flight(self) -> int:
        """Requests running or waiting right now."""
        return self._in_flight

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a worker thread, or ``PoolBusy`` if the line is full."""
        if self._in_flight >= self.capacity:
            raise PoolBusy(self.retry_after)
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))
        finally:
            self._in_flight -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
