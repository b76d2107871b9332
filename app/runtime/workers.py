"""A bounded pool for heavy computations: a few threads and a bounded waiting line.

When every thread is busy and the line is full, :meth:`ComputePool.run` raises
:class:`PoolBusy` at once, which the app answers with 503 and ``Retry-After``: a crowd of
students gets a clear "try again" instead of a server that hangs for everyone.

:class:`Cores` sizes torch's intra-op threads per computation, across every pool of the
app: one thread each (a lecture hall's requests never fight over the cores, and a single
pass is fastest so from a worker thread), every core for a batched job that is the
server's only work (the requests in flight count too:
:class:`app.web.middleware.RequestGauge`). torch's thread count is per calling thread
(OpenMP), so each worker sets its own; a job sizes itself again at each progress report
(:meth:`Cores.resize`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import torch

T = TypeVar("T")

#: torch's intra-op threads when the process started (every core, or OMP_NUM_THREADS).
DEFAULT_THREADS = torch.get_num_threads()


class PoolBusy(Exception):
    """Every worker is busy and the waiting line is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("the server is busy")
        self.retry_after = retry_after


class Cores:
    """The intra-op threads of each running computation: ``shared`` (one by default) as it
    starts; a batched job (SmoothGrad, Integrated Gradients, occlusion: eight images or
    positions a pass) takes ``alone`` (0 = torch's default, every core) at its next
    progress report while it is the only computation and the server answers no other
    request, and goes back to ``shared`` as soon as another starts.

    Measured on the 2-core machine (EfficientNet-Lite0, forward and backward, in a worker
    thread): one image is fastest on one thread (73 ms; two threads 106 ms: from a thread
    other than the main one, every small operation waits for the team), eight images are
    faster on two (479 ms against 594). And a team only pays while it has the cores to
    itself: beside the event loop or another computation each parallel region waits for a
    thread that is not running (tens of times slower on a busy machine)."""

    def __init__(self, shared: int = 1, alone: int = 0) -> None:
        self.shared = shared or DEFAULT_THREADS
        self.alone = alone or DEFAULT_THREADS
        self.running = 0
        #: HTTP requests in flight (counted by the app's middleware; a server-sent event
        #: stream that follows a job counts while it is open)
        self.requests = 0
        self._lock = threading.Lock()

    def threads(self) -> int:
        """What a batched job resizing now should use."""
        return self.alone if self.running <= 1 and self.requests <= 1 else self.shared

    def resize(self) -> None:
        """Set the calling worker's thread count for what runs now (cheap: microseconds)."""
        _set_threads(self.threads())

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` counted as running, started on ``shared`` threads."""
        with self._lock:
            self.running += 1
        try:
            _set_threads(self.shared)
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1


def _set_threads(count: int) -> None:
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


class ComputePool:
    """Run blocking torch work off the event loop, with back-pressure.

    A slot is held from submission until the work itself finishes (not merely until its
    caller stops waiting), so abandoned requests cannot pile up behind the bound. Work that
    has not started when its caller is cancelled is dropped at once.
    """

    def __init__(
        self,
        workers: int,
        queue: int,
        retry_after: int,
        torch_threads: int = 0,
        cores: Cores | None = None,
    ):
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after = retry_after
        self._in_flight = 0
        self._lock = threading.Lock()
        #: shared with the app's other pools; a pool of its own sizes its work alone
        self.cores = cores or Cores(torch_threads, torch_threads)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="convscope-compute")

    @property
    def in_flight(self) -> int:
        """Computations running or waiting for a thread right now."""
        return self._in_flight

    def _release(self, _: Future[Any] | None = None) -> None:
        with self._lock:
            self._in_flight -= 1

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """``fn(*args, **kwargs)`` queued for a worker thread, or ``PoolBusy`` at once if the
        line is full. The slot is held until ``fn`` ends (or the future is cancelled
        before it started)."""
        with self._lock:
            if self._in_flight >= self.capacity:
                raise PoolBusy(self.retry_after)
            self._in_flight += 1
        try:
            future = self._executor.submit(self.cores.call, fn, *args, **kwargs)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a worker thread, or ``PoolBusy`` if the line is full."""
        future = self.submit(fn, *args, **kwargs)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # succeeds only if it has not started; then its slot frees now
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
