"""A bounded pool for heavy computations: a few threads and a bounded waiting line.

When every thread is busy and the line is full, :meth:`ComputePool.run` raises
:class:`PoolBusy` at once, which the app answers with 503 and ``Retry-After``: a crowd of
students gets a clear "try again" instead of a server that hangs for everyone.

:class:`Cores` sizes torch's intra-op threads per computation, across every pool of the
app: one thread each while the server has several things to do (a lecture hall's requests
never fight over the cores), and every core, on one thread of its own (the *team*), for a
computation that is the server's only work (the requests in flight count too:
:class:`app.web.middleware.RequestGauge`). torch's thread count is per calling thread
(OpenMP), so each worker sets its own; a job sizes itself again at each progress report
(:meth:`Cores.resize`).
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
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


def _openmp_set_num_threads() -> Callable[[int], None] | None:
    """GNU OpenMP's ``omp_set_num_threads`` as torch loaded it (Linux), else ``None``.

    It sets the calling thread's count only; ``torch.set_num_threads`` also sets the count
    that every thread starting later begins with (and MKL's for the calling thread)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {
                fields[5]
                for fields in (line.split() for line in maps)
                if len(fields) >= 6 and fields[5].rsplit("/", 1)[-1].startswith("libgomp")
            }
        if len(paths) != 1:
            return None
        setter = ctypes.CDLL(paths.pop()).omp_set_num_threads
    except (OSError, AttributeError):
        return None
    setter.argtypes, setter.restype = [ctypes.c_int], None
    return setter


_OMP_SET_NUM_THREADS = _openmp_set_num_threads()


def one_thread_by_default() -> None:
    """Threads that are not a computation's (the event loop, request handlers) compute on
    one thread: call it first thing in a server process, so only :class:`Cores` ever
    makes a team of threads (see :class:`Cores` for why it matters)."""
    torch.set_num_threads(1)


def _set_threads(count: int) -> None:
    """The calling thread's intra-op threads; more than one leaves the count that new
    threads start with (and MKL's) alone where OpenMP's setter is at hand."""
    if torch.get_num_threads() == count:  # (also torch's first use in this thread)
        return
    if count > 1 and _OMP_SET_NUM_THREADS is not None:
        _OMP_SET_NUM_THREADS(count)
    else:
        torch.set_num_threads(count)


class Cores:
    """The intra-op threads of each running computation: every core (``alone``; 0 = torch's
    default) for one that starts as the server's only work, run on the *team* thread;
    ``shared`` (one by default) for one that starts beside others, on its own worker. A
    computation on the team sizes itself again at each progress report (another may have
    started or ended), so a long job gives the cores back as soon as students arrive.

    Why one team thread: GNU OpenMP keeps a team of helper threads for every thread that
    ever ran a parallel region with more than one thread, and once those teams add up to
    more threads than cores, every team stops spinning between regions and sleeps instead:
    each of a network's hundreds of small operations then waits for a thread to wake.
    Measured on the 2-core machine (EfficientNet-Lite0, one image, forward and backward):
    73 ms on one thread in a worker; 61 ms on two threads in the one thread that ever
    uses two; 106–170 ms on two threads once another thread has a team too. The server's
    other threads compute on one thread (:func:`one_thread_by_default`)."""

    def __init__(self, shared: int = 1, alone: int = 0) -> None:
        self.shared = shared or DEFAULT_THREADS
        self.alone = alone or DEFAULT_THREADS
        self.running = 0
        #: HTTP requests in flight (counted by the app's middleware; a server-sent event
        #: stream that follows a job counts while it is open)
        self.requests = 0
        self._lock = threading.Lock()
        self._team_free = threading.Lock()
        self._team: ThreadPoolExecutor | None = None
        self._team_thread: int | None = None

    def threads(self) -> int:
        """What a computation on the team should use now."""
        return self.alone if self.running <= 1 and self.requests <= 1 else self.shared

    def resize(self) -> None:
        """Set the calling worker's thread count for what runs now (cheap: microseconds);
        only the team thread ever takes more than ``shared``."""
        on_team = threading.get_ident() == self._team_thread
        _set_threads(self.threads() if on_team else self.shared)

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` counted as running: on the team with every core if it
        is the server's only work, else here on ``shared`` threads."""
        with self._lock:
            self.running += 1
            alone = self.alone > self.shared and self.running == 1 and self.requests <= 1
        try:
            if alone and self._team_free.acquire(blocking=False):
                try:
                    return self._on_team(fn, args, kwargs)
                finally:
                    self._team_free.release()
            _set_threads(self.shared)
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                self.running -= 1

    def _on_team(self, fn: Callable[..., T], args: Any, kwargs: Any) -> T:
        if self._team is None:
            self._team = ThreadPoolExecutor(1, thread_name_prefix="convscope-team")

        def run() -> T:
            self._team_thread = threading.get_ident()
            _set_threads(self.threads())
            return fn(*args, **kwargs)

        return self._team.submit(run).result()

    def shutdown(self) -> None:
        """Let the team thread end (a computation running on it finishes first)."""
        team, self._team = self._team, None
        if team is not None:
            team.shutdown(wait=False)


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
