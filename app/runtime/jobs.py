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
- **Claimed, by tickets.** Every :meth:`Jobs.start` (a page's ``POST .../jobs``) and every
  :meth:`Jobs.claim` block (a synchronous request) gets a :class:`Ticket` of its own: one
  client's claim on the shared job, under an unguessable id. A client reads the job
  through its ticket and withdraws only its own claim (:meth:`Jobs.release`, once per
  ticket, however often it asks). A job stops at its next batch once no claim is left, or
  when nobody has looked at it for ``abandon_after_s`` seconds (a polling tab that was
  closed): the progress callback raises :class:`~app.explain.progress.Cancelled` and the
  worker thread is free again. A job that has not started yet is dropped from the pool's
  queue at once. One client cannot stop what another still wants.
- **Bounded.** At most ``max_active`` jobs queued or running (beyond that, and when the pool
  itself is full, :class:`~app.workers.PoolBusy`: 503 with Retry-After); the tickets of
  :meth:`Jobs.start` are kept to be looked up by id, and beyond ``records`` the oldest
  finished or released ones are forgotten (an unknown id is :class:`UnknownJob`, a 404).
  A synchronous request's ticket is never looked up, so it is not kept.

- **Batched.** A computation that can run with others of its kind in one pass (one
  saliency pass of one network with the same settings: vanilla gradient, Grad-CAM) says so
  with a ``batch_key`` and a ``batch_run``: the worker that starts it takes the jobs of the
  same key still waiting in the line (up to ``BATCH``) and computes them together, in one
  forward and backward pass instead of one each; their own turn in the pool then finds them
  done. A lecture hall's burst of Grad-CAMs on the students' own uploads is computed eight
  at a time (less Python per image, and larger, more efficient operations).

Jobs live in one process. Replicas behind a load balancer share them through Redis with
:class:`app.runtime.shared_jobs.SharedJobs`, a :class:`Jobs` with the same interface: a job
started through one replica is followed, polled, fetched and withdrawn through any other.
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

#: The most jobs computed together in one batch, and how often a job taken into another's
#: batch is looked at by a request waiting for it.
BATCH = 8
BATCH_POLL_S = 0.005

Status = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED = ("done", "failed", "cancelled")


class UnknownJob(LookupError):
    """No ticket with this id: never issued here, or forgotten (HTTP 404)."""

    def __init__(self, job_id: str) -> None:
        shown = job_id if len(job_id) <= 40 else job_id[:37] + "..."
        super().__init__(f"There is no job {shown!r} on the server: start it again")
        self.job_id = job_id


@dataclass(eq=False)
class Job:
    """One computation, shared by every ticket for its key: its state and what it produced."""

    key: Hashable
    status: Status = "queued"
    progress: float = 0.0
    error: str | None = None  # the sentence of a failed job
    result: Any = field(default=None, repr=False)
    exception: BaseException | None = field(default=None, repr=False)
    claims: int = 0  # tickets not yet released
    seen: float = 0.0  # when a client last asked about it (the jobs' clock)
    future: Future[None] | None = field(default=None, repr=False)
    work: Any = field(default=None, repr=False)  # the computation, while it waits (batching)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


@dataclass(eq=False)
class Ticket:
    """One client's claim on a shared :class:`Job`, under an id of its own: what a page
    follows (``/api/jobs/{id}``) and withdraws (``DELETE``), its state the job's."""

    id: str
    job: Job
    released: bool = False

    @property
    def key(self) -> Hashable:
        return self.job.key

    @property
    def status(self) -> Status:
        return self.job.status

    @property
    def progress(self) -> float:
        return self.job.progress

    @property
    def error(self) -> str | None:
        return self.job.error

    @property
    def result(self) -> Any:
        return self.job.result

    @property
    def finished(self) -> bool:
        return self.job.finished

    def snapshot(self) -> dict[str, Any]:
        """What a poll or a stream event says about the job (under the ticket's id)."""
        job = self.job
        return {"id": self.id, "status": job.status, "progress": job.progress, "error": job.error}


def _batch_key(work: Any) -> Hashable | None:
    """The key a computation is batched by, or None (it runs alone; so does one whose key
    cannot be told: its own run will say what is wrong)."""
    try:
        return getattr(work, "batch_key", None)
    except Exception:
        return None


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

    #: Whether the jobs are shared with other replicas (their calls may then wait for the
    #: network: the web layer makes them off the event loop).
    shared = False

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
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._lock = threading.Lock()

    # --- starting, reading, stopping ----------------------------------------------------------

    def start(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
        recipe: dict[str, Any] | None = None,
    ) -> Ticket:
        """A new ticket, kept to be looked up by its id, on the job computing ``key``: a
        finished one if the result is cached, the running one if there is one (one more
        claim on it), else ``fn(progress)`` started in the pool. (``recipe``: how another
        replica would plan the same job again; used by shared jobs only.)"""
        return self._issue(key, fn, size, keep=True)

    def get(self, ticket_id: str) -> Ticket:
        """The ticket ``ticket_id`` (while it holds its claim, its job is looked at: not
        abandoned)."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                raise UnknownJob(ticket_id)
            self._look(ticket)
            return ticket

    def release(self, ticket: Ticket) -> None:
        """Withdraw the ticket's claim (once: again is nothing); with no claim left the job
        stops (at once if not started)."""
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            job = ticket.job
            if job.finished:
                return
            job.claims = max(0, job.claims - 1)
            if job.claims == 0 and job.future is not None and job.future.cancel():
                self._finish(job, "cancelled")

    def cancel(self, ticket_id: str) -> Ticket:
        """A client's cancel button: :meth:`release` the ticket ``ticket_id``."""
        ticket = self.get(ticket_id)
        self.release(ticket)
        return ticket

    @asynccontextmanager
    async def claim(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        *,
        size: Callable[[Any], int] = default_size,
        recipe: dict[str, Any] | None = None,
    ) -> AsyncIterator[Ticket]:
        """A ticket on the job for ``key``, held for the duration of the block (a request)
        and released after it; nobody looks it up, so it is not kept."""
        ticket = self._issue(key, fn, size, keep=False)
        try:
            yield ticket
        finally:
            self.release(ticket)

    def _issue(
        self,
        key: Hashable,
        fn: Callable[[Progress], Any],
        size: Callable[[Any], int],
        *,
        keep: bool,
    ) -> Ticket:
        with self._lock:
            now = self.clock()
            cached = self.results.get(key)
            if cached is not None:
                done = Job(key, "done", 1.0, result=cached, seen=now)
                return self._ticket(done, keep)
            running = self._active.get(key)
            if running is not None:
                running.seen = now
                return self._ticket(running, keep)
            if len(self._active) >= self.max_active:
                raise PoolBusy(self.pool.retry_after)
            job = Job(key, seen=now, work=fn)
            self._active[key] = job
            ticket = self._ticket(job, keep)
        try:
            job.future = self.pool.submit(self._run, job, fn, size)
        except BaseException:
            with self._lock:
                self._finish(job, "cancelled")
                self._tickets.pop(ticket.id, None)
            raise
        return ticket

    # --- waiting ---------------------------------------------------------------------------

    async def wait(
        self,
        ticket: Ticket,
        *,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
        tick: float = 0.25,
    ) -> Any:
        """The ticket's job's result, once it is there; its exception if it failed,
        ``Cancelled`` if it was stopped. Every ``tick`` seconds the job is marked as looked
        at, and if ``disconnected()`` says the client has gone, ``Cancelled`` is raised
        (release the ticket, and the job stops unless someone else wants it)."""
        job = ticket.job
        if job.future is not None and not job.finished:
            waiting = asyncio.wrap_future(job.future)
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=tick)
                self._touch(ticket)
                if not waiting.done() and disconnected is not None and await disconnected():
                    raise Cancelled("the client went away")
            if not waiting.cancelled():
                waiting.result()  # _run never raises; this only surfaces pool errors
            while not job.finished:  # taken into another job's batch, still computing
                await asyncio.sleep(BATCH_POLL_S)
                self._touch(ticket)
                if disconnected is not None and await disconnected():
                    raise Cancelled("the client went away")
        return self.outcome(ticket)

    async def watch(self, ticket: Ticket, *, tick: float = 0.25) -> AsyncIterator[dict[str, Any]]:
        """Snapshots of the ticket's job whenever its status or progress changes, then a last
        one when it finishes (a server-sent events stream yields them as they come)."""
        last: dict[str, Any] | None = None
        while True:
            self._touch(ticket)
            snapshot = ticket.snapshot()
            if snapshot != last:
                yield snapshot
                last = snapshot
            if snapshot["status"] in FINISHED:  # the snapshot sent, not the job now: a job
                return  # that finished since then is sent once more, as finished
            await asyncio.sleep(tick)

    def outcome(self, ticket: Ticket) -> Any:
        """A finished job's result, or its exception raised again."""
        job = ticket.job
        if job.status == "done":
            return job.result
        if job.status == "failed" and job.exception is not None:
            raise job.exception
        if job.status == "cancelled":
            raise Cancelled()
        raise RuntimeError(f"job {ticket.id} has not finished (status {job.status})")

    # --- inside the worker thread --------------------------------------------------------------

    def _run(self, job: Job, fn: Callable[[Progress], Any], size: Callable[[Any], int]) -> None:
        with self._lock:
            if job.status != "queued":
                return  # computed in another job's batch (or already finished)
            if self._stopping(job):
                self._finish(job, "cancelled")
                return
            job.status = "running"
            batch = [job, *self._companions(job)]
            works = [member.work for member in batch]  # before a release can forget them
        if len(batch) > 1:
            self._run_batch(batch, works, size)
        else:
            self._run_one(job, fn, size)

    def _run_one(self, job: Job, fn: Callable[[Progress], Any], size: Callable[[Any], int]) -> None:
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
            self._done(job, value, size)

    def _done(self, job: Job, value: Any, size: Callable[[Any], int]) -> None:
        self.results.put(job.key, value, size(value))
        with self._lock:
            job.result, job.progress = value, 1.0
            self._finish(job, "done")

    def _companions(self, job: Job) -> list[Job]:
        """Jobs of ``job``'s batch key still waiting (and wanted), taken: marked running so
        that their own turn in the pool skips them. Under the lock."""
        key = _batch_key(job.work)
        if key is None:
            return []
        taken: list[Job] = []
        for other in self._active.values():
            if len(taken) == BATCH - 1:
                break
            if other is job or other.status != "queued" or self._stopping(other):
                continue
            if _batch_key(other.work) == key:
                other.status = "running"
                taken.append(other)
        return taken

    def _run_batch(self, jobs: list[Job], works: list[Any], size: Callable[[Any], int]) -> None:
        """Compute ``jobs`` together (``batch_run`` of the first one's computation, given
        every job's) and finish each with its own result. If the batch fails, each job runs
        alone: one student's bad request fails no one else's."""
        try:
            values = works[0].batch_run(works)
        except Exception:
            for job, work in zip(jobs, works, strict=True):
                self._run_one(job, work, size)
            return
        for job, value in zip(jobs, values, strict=True):
            self._done(job, value, size)

    def _progress(self, job: Job, fraction: float) -> None:
        """The computation's callback: record progress; stop if nobody wants the result;
        take the threads that suit what runs now for the next batch (another computation may
        have started or ended since the last report)."""
        if fraction > 0:  # a batch done: the next one may take every core (Cores)
            self.pool.cores.resize()
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
        job.work = None  # the computation (and the image it holds) is not needed any more
        if self._active.get(job.key) is job:
            del self._active[job.key]

    def _ticket(self, job: Job, keep: bool) -> Ticket:
        """A new claim on ``job`` (a finished one claims nothing); kept if ``keep``, and the
        oldest finished or released tickets beyond ``records`` forgotten."""
        ticket = Ticket(secrets.token_hex(16), job)
        if not job.finished:
            job.claims += 1
        if keep:
            self._tickets[ticket.id] = ticket
            while len(self._tickets) > self.records:
                done = next((t for t in self._tickets.values() if t.released or t.finished), None)
                if done is None:
                    break
                del self._tickets[done.id]
        return ticket

    def _look(self, ticket: Ticket) -> None:
        """A client looked at the ticket: its job is still wanted, unless it let it go."""
        if not ticket.released:
            ticket.job.seen = self.clock()

    def _touch(self, ticket: Ticket) -> None:
        with self._lock:
            self._look(ticket)

    @property
    def active(self) -> int:
        """Jobs queued or running now."""
        return len(self._active)
