"""Long computations as jobs: started in the bounded compute pool, watched, shared, cancelled,
and their results kept (pure Python; the endpoints that poll or stream wrap it).

SmoothGrad, Integrated Gradients, occlusion and activation maximisation take seconds. A
:class:`Jobs` runs each as a :class:`Job` on a thread of the app's
:class:`~app.workers.ComputePool` and hands its computation a progress callback
(:mod:`app.explain.progress`): the job records the fraction done, which a page reads by
polling (:meth:`Jobs.get`) or as a stream (:meth:`Jobs.watch`, for server-sent events).

- **Shared.** Jobs are keyed by what they compute (model, image, method, settings): a
  second request for the same key while the first runs joins it, and a finished result is
  kept in a bounded LRU cache (by count and bytes) and answered at once. In a lecture hall
  where everyone asks for the cat's SmoothGrad, the server computes it once.
- **Claimed.** Every :meth:`Jobs.start` (or :meth:`Jobs.claim` block) is one claim;
  :meth:`Jobs.release` (the client cancels or goes away) withdraws it. A job stops at its
  next batch once no claim is left, or when nobody has looked at it for
  ``abandon_after_s`` seconds (a polling tab that was closed): the progress callback raises
  :class:`~app.explain.progress.Cancelled` and the worker thread is free again. A job that
  has not started yet is dropped from the pool's queue at once.
- **Bounded.** At most ``max_active`` jobs queued or running (beyond that, and when the pool
  itself is full, :class:`~app.workers.PoolBusy`: 503 with Retry-After); finished job
  records beyond ``records`` are forgotten, oldest first (an unknown id is
  :class:`UnknownJob`, a 404).

Jobs live in one process. Behind a load balancer, a stream (one connection, one replica)
works as is; polling needs sticky sessions, or the poll reaches a replica that never saw
the job (404) and the page starts it again there.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from app.explain.progress import Cancelled, Progress
from app.runtime.cache import LRUCache
from app.runtime.workers import ComputePool, PoolBusy

Status = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED = ("done", "failed", "cancelled")


class UnknownJob(LookupError):
    """No job with this id: never started here, or forgotten (HTTP 404)."""

    def __init__(self, job_id: str) -> None:
        shown = job_id if len(job_id) <= 40 else job_id[:37] + "..."
        super().__init__(f"There is no job {shown!r} on the server: start it again")
        self.job_id = job_id


@dataclass(eq=False)
class Job:
    """One computation: its state as a page sees it, and what it produced."""

    id: str
    key: Hashable
    status: Status = "queued"
    progress: float = 0.0
    error: str | None = None  # the sentence of a failed job
    result: Any = field(default=None, repr=False)
    exception: BaseException | None = field(default=None, repr=False)
    claims: int = 1
    seen: float = 0.0  # when a client last asked about it (the jobs' clock)
    future: Future[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def snapshot(self) -> dict[str, Any]:
        """What a poll or a stream event says about the job."""
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "error": self.error,
        }


def default_size(value: Any) -> int:
    """Bytes a result keeps alive, roughly: its ``nbytes``, a tensor's or bytes' length."""
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    size = getattr(value, "nbytes", None)
    return int(size) if isinstance(size, int) else 1024


class Jobs:
    """The jobs of one app (``app.state.jobs``), run in its compute pool."""

    def __init__(
        self,
        pool: ComputePool,
        *,
        max_active: int = 16,
        records: int = 256,
        result_items: int = 64,
        result_bytes: int = 256 * 1024 * 1024,
        abandon_after_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pool = pool
        self.max_active = max_active
        self.records = records
        self.abandon_after_s = abandon_after_s
        self.clock = clock
        self.results: LRUCache[Hashable, Any] = LRUCache(result_items, result_bytes)
        self._active: dict[Hashable, Job] = {}
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    # --- starting, reading, stopping ----------------------------------------------------------

    def start(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
    ) -> Job:
        """The job computing ``key``: a finished one if the result is cached, the running one
        if there is one (one more claim on it), else ``fn(progress)`` started in the pool."""
        with self._lock:
            now = self.clock()
            cached = self.results.get(key)
            if cached is not None:
                job = Job(secrets.token_hex(16), key, "done", 1.0, result=cached, seen=now)
                self._remember(job)
                return job
            running = self._active.get(key)
            if running is not None:
                running.claims += 1
                running.seen = now
                return running
            if len(self._active) >= self.max_active:
                raise PoolBusy(self.pool.retry_after)
            job = Job(secrets.token_hex(16), key, seen=now)
            self._active[key] = job
            self._remember(job)
        try:
            job.future = self.pool.submit(self._run, job, fn, size)
        except BaseException:
            with self._lock:
                self._finish(job, "cancelled")
                self._jobs.pop(job.id, None)
            raise
        return job

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` (a client is looking at it: it is not abandoned)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise UnknownJob(job_id)
            job.seen = self.clock()
            return job

    def release(self, job: Job) -> None:
        """Withdraw one claim; with none left the job stops (at once if not started)."""
        with self._lock:
            if job.finished:
                return
            job.claims = max(0, job.claims - 1)
            if job.claims == 0 and job.future is not None and job.future.cancel():
                self._finish(job, "cancelled")

    def cancel(self, job_id: str) -> Job:
        """A client's cancel button: :meth:`release` the job ``job_id``."""
        job = self.get(job_id)
        self.release(job)
        return job

    @asynccontextmanager
    async def claim(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
    ) -> AsyncIterator[Job]:
        """The job for ``key``, claimed for the duration of the block (a request, a stream)."""
        job = self.start(key, fn, size=size)
        try:
            yield job
        finally:
            self.release(job)

    # --- waiting ---------------------------------------------------------------------------

    async def wait(
        self,
        job: Job,
        *,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        tick: float = 0.25,
    ) -> Any:
        """The job's result, once it is there; its exception if it failed, ``Cancelled`` if
        it was stopped. Every ``tick`` seconds the job is marked as looked at, and if
        ``disconnected()`` says the client has gone, ``Cancelled`` is raised (release the
        claim, and the job stops unless someone else wants it)."""
        if job.future is not None and not job.finished:
            waiting = asyncio.wrap_future(job.future)
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=tick)
                self._touch(job)
                if not waiting.done() and disconnected is not None and await disconnected():
                    raise Cancelled("the client went away")
            if not waiting.cancelled():
                waiting.result()  # _run never raises; this only surfaces pool errors
        return self.outcome(job)

    async def watch(self, job: Job, *, tick: float = 0.25) -> AsyncIterator[dict[str, Any]]:
        """Snapshots of the job whenever its status or progress changes, then a last one when
        it finishes (a server-sent events stream yields them as they come)."""
        last: dict[str, Any] | None = None
        while True:
            self._touch(job)
            snapshot = job.snapshot()
            if snapshot != last:
                yield snapshot
                last = snapshot
            if job.finished:
                return
            await asyncio.sleep(tick)

    def outcome(self, job: Job) -> Any:
        """A finished job's result, or its exception raised again."""
        if job.status == "done":
            return job.result
        if job.status == "failed" and job.exception is not None:
            raise job.exception
        if job.status == "cancelled":
            raise Cancelled()
        raise RuntimeError(f"job {job.id} has not finished (status {job.status})")

    # --- inside the worker thread --------------------------------------------------------------

    def _run(self, job: Job, fn: Callable[[Progress], Any], size: Callable[[Any], int]) -> None:
        with self._lock:
            if self._stopping(job):
                self._finish(job, "cancelled")
                return
            job.status = "running"
        try:
            value = fn(lambda fraction: self._progress(job, fraction))
        except Cancelled:
            with self._lock:
                self._finish(job, "cancelled")
        except Exception as error:
            with self._lock:
                job.error, job.exception = str(error), error
                self._finish(job, "failed")
        else:
            self.results.put(job.key, value, size(value))
            with self._lock:
                job.result, job.progress = value, 1.0
                self._finish(job, "done")

    def _progress(self, job: Job, fraction: float) -> None:
        """The computation's callback: record progress; stop if nobody wants the result."""
        with self._lock:
            job.progress = max(job.progress, min(float(fraction), 1.0))
            if self._stopping(job):
                self._finish(job, "cancelled")
                raise Cancelled()

    # --- bookkeeping (under the lock) -----------------------------------------------------------

    def _stopping(self, job: Job) -> bool:
        return job.claims <= 0 or self.clock() - job.seen > self.abandon_after_s

    def _finish(self, job: Job, status: Status) -> None:
        if not job.finished:
            job.status = status
        if self._active.get(job.key) is job:
            del self._active[job.key]

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > self.records:
            oldest = next((j for j in self._jobs.values() if j.finished), None)
            if oldest is None:
                break
            del self._jobs[oldest.id]

    def _touch(self, job: Job) -> None:
        with self._lock:
            job.seen = self.clock()

    @property
    def active(self) -> int:
        """Jobs queued or running now."""
        return len(self._active)
