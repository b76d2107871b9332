"""Jobs: run in the bounded pool, shared by key, cached, cancelled when nobody wants them;
each client holds a ticket of its own and can withdraw only its own claim."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import ClassVar

import pytest

from app.explain.progress import Cancelled
from app.runtime.jobs import Jobs, UnknownJob
from app.runtime.workers import ComputePool, PoolBusy
from tests.utils.jobs import Work, wait_until
from tests.utils.loops import eventually, run_in_fresh_loop


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pool():
    pool = ComputePool(workers=1, queue=4, retry_after=3)
    yield pool
    pool.shutdown()


def test_a_job_reports_progress_and_its_result_is_kept(pool):
    jobs = Jobs(pool)
    work = Work(steps=4)
    job = jobs.start(("model", "image", "smoothgrad"), work)
    assert job.status in {"queued", "running"}
    work.started.wait(5)
    work.go(2)
    wait_until(lambda: job.progress == 0.5)
    assert job.status == "running"
    assert jobs.get(job.id).snapshot() == {
        "id": job.id,
        "status": "running",
        "progress": 0.5,
        "error": None,
    }
    work.go(2)
    assert run_in_fresh_loop(lambda: jobs.wait(job)) == "result"
    assert job.snapshot()["status"] == "done" and job.progress == 1.0
    again = jobs.start(("model", "image", "smoothgrad"), work)
    assert again.status == "done" and again.result == "result" and again.id != job.id
    assert work.calls == 1  # answered from the cache
    assert run_in_fresh_loop(lambda: jobs.wait(again)) == "result"
    wait_until(lambda: pool.in_flight == 0)


def test_the_same_request_joins_the_running_job(pool):
    jobs = Jobs(pool)
    work = Work(steps=2)
    first = jobs.start("key", work)
    second = jobs.start("key", work)
    assert second.id != first.id and second.job is first.job and first.job.claims == 2
    jobs.release(first)  # one client leaves: the other still wants it
    work.go(2)
    assert run_in_fresh_loop(lambda: jobs.wait(second)) == "result"
    assert work.calls == 1


def test_releasing_the_last_claim_stops_the_job_and_frees_the_worker(pool):
    jobs = Jobs(pool)
    work = Work(steps=100)
    job = jobs.start("key", work)
    work.started.wait(5)
    work.go(3)
    wait_until(lambda: job.progress >= 0.03)
    jobs.release(job)
    work.go(1)  # the batch in hand finishes; the next progress call stops the computation
    assert work.stopped.wait(5)
    wait_until(lambda: pool.in_flight == 0)
    assert job.status == "cancelled" and jobs.active == 0
    with pytest.raises(Cancelled):
        run_in_fresh_loop(lambda: jobs.wait(job))
    assert jobs.results.get("key") is None  # nothing cached
    again = jobs.start("key", Work(steps=1, value="fresh"))  # a new request starts afresh
    assert again is not job


def test_a_queued_job_nobody_wants_never_runs(pool):
    jobs = Jobs(pool)
    busy, waiting = Work(steps=1), Work(steps=1)
    running = jobs.start("first", busy)
    busy.started.wait(5)
    queued = jobs.start("second", waiting)
    assert queued.status == "queued" and pool.in_flight == 2
    jobs.cancel(queued.id)
    assert queued.status == "cancelled" and pool.in_flight == 1
    busy.go()
    run_in_fresh_loop(lambda: jobs.wait(running))
    assert waiting.calls == 0


def test_a_job_nobody_looks_at_is_abandoned(pool):
    clock = Clock()
    jobs = Jobs(pool, abandon_after_s=15.0, clock=clock)
    work = Work(steps=10)
    job = jobs.start("key", work)  # a polling client that then closes its tab
    work.started.wait(5)
    work.go(2)
    wait_until(lambda: job.progress >= 0.2)
    clock.now = 10.0
    jobs.get(job.id)  # a poll: still wanted
    clock.now = 20.0
    work.go(1)
    wait_until(lambda: job.progress >= 0.3)
    assert job.status == "running"  # 10 s since the last poll
    clock.now = 40.0
    work.go(1)
    assert work.stopped.wait(5)
    assert job.status == "cancelled"


def test_a_failing_job_keeps_its_sentence(pool):
    jobs = Jobs(pool)

    def fails(progress):  # type: ignore[no-untyped-def]
        progress(0.0)
        raise ValueError("the class index must be from 0 to 9 (got 12)")

    job = jobs.start("bad", fails)
    with pytest.raises(ValueError, match="from 0 to 9"):
        run_in_fresh_loop(lambda: jobs.wait(job))
    assert job.snapshot()["status"] == "failed"
    assert job.snapshot()["error"] == "the class index must be from 0 to 9 (got 12)"
    assert jobs.results.get("bad") is None


def test_jobs_are_bounded(pool):
    jobs = Jobs(pool, max_active=2, records=3)
    works = [Work(steps=1) for _ in range(3)]
    first, second = jobs.start(0, works[0]), jobs.start(1, works[1])
    with pytest.raises(PoolBusy) as busy:
        jobs.start(2, works[2])
    assert busy.value.retry_after == 3
    assert jobs.start(0, works[0]).job is first.job  # joining a running job is not refused
    for work in works[:2]:
        work.go()
    run_in_fresh_loop(lambda: jobs.wait(first))
    run_in_fresh_loop(lambda: jobs.wait(second))
    for key in range(3, 7):
        work = Work(steps=1)
        work.go()
        job = jobs.start(key, work)
        run_in_fresh_loop(lambda job=job: jobs.wait(job))
    with pytest.raises(UnknownJob, match="There is no job"):
        jobs.get(first.id)  # forgotten: only the 3 latest records are kept
    with pytest.raises(UnknownJob):
        jobs.cancel("nope")


def test_only_finished_or_released_tickets_are_forgotten(pool):
    jobs = Jobs(pool, records=2)
    work = Work(steps=2)
    held = [jobs.start("key", work) for _ in range(3)]  # three clients following one job
    assert all(jobs.get(ticket.id) is ticket for ticket in held)  # none forgotten
    jobs.release(held[1])
    jobs.start("key", work)  # a fourth: the released ticket goes, the live ones stay
    with pytest.raises(UnknownJob):
        jobs.get(held[1].id)
    assert jobs.get(held[0].id) is held[0] and jobs.get(held[2].id) is held[2]
    work.go(2)
    assert run_in_fresh_loop(lambda: jobs.wait(held[0])) == "result"


def test_results_larger_than_the_cache_are_not_kept(pool):
    jobs = Jobs(pool, result_bytes=1000)
    work = Work(steps=1, value=b"x" * 2000)
    work.go()
    run_in_fresh_loop(lambda: jobs.wait(jobs.start("big", work)))
    assert jobs.results.get("big") is None
    work.go()
    run_in_fresh_loop(lambda: jobs.wait(jobs.start("big", work)))
    assert work.calls == 2


def test_each_client_withdraws_only_its_own_claim(pool):
    """Issue 12: one client cancelling (three times) must not stop another's computation."""
    jobs = Jobs(pool)
    work = Work(steps=4)
    mine, theirs = jobs.start("key", work), jobs.start("key", work)
    assert mine.id != theirs.id and mine.job is theirs.job and work.calls <= 1
    work.started.wait(5)
    work.go(1)
    wait_until(lambda: theirs.progress >= 0.25)
    for _ in range(3):
        assert jobs.cancel(mine.id) is mine  # repeating it withdraws nothing more
    assert mine.released and not theirs.released and theirs.job.claims == 1
    work.go(3)
    assert run_in_fresh_loop(lambda: jobs.wait(theirs)) == "result"
    assert theirs.status == "done" and jobs.get(mine.id).status == "done"
    assert work.calls == 1 and not work.stopped.is_set()


def test_a_released_ticket_does_not_stop_a_synchronous_claim(pool):
    jobs = Jobs(pool)
    work = Work(steps=4)
    ticket = jobs.start("key", work)

    async def request() -> object:
        async with jobs.claim("key", work) as claimed:
            assert claimed.job is ticket.job and claimed.id != ticket.id
            with pytest.raises(UnknownJob):
                jobs.get(claimed.id)  # a request's ticket is never looked up: not kept
            for _ in range(3):
                jobs.cancel(ticket.id)
            work.go(4)
            return await jobs.wait(claimed, tick=0.01)

    assert run_in_fresh_loop(request) == "result"
    assert ticket.status == "done" and work.calls == 1


def test_the_last_ticket_released_stops_the_job_at_its_next_step(pool):
    jobs = Jobs(pool)
    work = Work(steps=100)
    first, second = jobs.start("key", work), jobs.start("key", work)
    work.started.wait(5)
    work.go(2)
    wait_until(lambda: first.progress >= 0.02)
    jobs.cancel(first.id)
    jobs.cancel(first.id)  # the same client again: the other claim stands
    work.go(1)
    wait_until(lambda: first.progress >= 0.03)
    assert second.status == "running" and not work.stopped.is_set()
    jobs.cancel(second.id)  # the last claim
    work.go(1)
    assert work.stopped.wait(5)
    wait_until(lambda: pool.in_flight == 0)
    assert first.status == second.status == "cancelled" and jobs.active == 0
    assert first.progress < 0.05


def test_a_client_joining_a_job_being_stopped_keeps_it_going(pool):
    jobs = Jobs(pool)
    work = Work(steps=2)
    leaving = jobs.start("key", work)
    work.go(1)
    wait_until(lambda: leaving.progress == 0.5)  # the first step done, the second held
    jobs.release(leaving)  # no claim left; the job stops at its next step...
    joining = jobs.start("key", work)  # ...unless someone wants it before then
    assert joining.job is leaving.job
    work.go(1)
    assert run_in_fresh_loop(lambda: jobs.wait(joining)) == "result"


def test_looking_at_a_released_ticket_does_not_keep_its_job_alive(pool):
    clock = Clock()
    jobs = Jobs(pool, abandon_after_s=15.0, clock=clock)
    work = Work(steps=10)
    closed, cancelled = jobs.start("key", work), jobs.start("key", work)  # a tab closed
    work.started.wait(5)
    jobs.cancel(cancelled.id)
    clock.now = 20.0
    assert jobs.get(cancelled.id).status == "running"  # a poll of a withdrawn ticket
    work.go(1)
    assert work.stopped.wait(5)  # nobody that wants it has looked for 20 s
    assert closed.status == "cancelled"


def test_a_waiting_client_that_leaves_stops_the_job(pool):
    jobs = Jobs(pool)
    work = Work(steps=100)
    gone = asyncio.Event()

    async def disconnected() -> bool:
        return gone.is_set()

    async def request() -> None:
        async with jobs.claim("key", work) as job:
            await jobs.wait(job, disconnected=disconnected, tick=0.01)

    async def scenario() -> None:
        task = asyncio.create_task(request())
        await asyncio.to_thread(work.started.wait, 5)
        work.go(2)
        gone.set()
        with pytest.raises(Cancelled, match="went away"):
            await task

    run_in_fresh_loop(scenario)
    work.go(1)
    assert work.stopped.wait(5)
    wait_until(lambda: pool.in_flight == 0)


def test_watch_streams_the_progress_until_the_end(pool):
    jobs = Jobs(pool)
    work = Work(steps=2)

    def feed() -> None:
        for _ in range(2):
            time.sleep(0.05)
            work.go()

    async def scenario() -> list[dict]:
        async with jobs.claim("key", work) as job:
            feeder = threading.Thread(target=feed)
            feeder.start()
            events = [event async for event in jobs.watch(job, tick=0.01)]
            feeder.join()
        return events

    events = run_in_fresh_loop(scenario)
    assert events[-1]["status"] == "done" and events[-1]["progress"] == 1.0
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress)
    assert len({(e["status"], e["progress"]) for e in events}) == len(events)  # only changes


def test_the_pool_frees_a_slot_when_a_started_job_is_cancelled_from_outside(pool):
    """The synchronous endpoint's path: ComputePool.run cancelled before the work starts."""
    blocker = Work(steps=1)
    jobs = Jobs(pool)
    jobs.start("blocker", blocker)
    blocker.started.wait(5)

    async def scenario() -> None:
        task = asyncio.create_task(pool.run(lambda: None))
        await eventually(lambda: pool.in_flight == 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pool.in_flight == 1

    run_in_fresh_loop(scenario)
    blocker.go()


@pytest.mark.slow
def test_a_cancelled_saliency_map_frees_its_worker_within_a_batch(pool):
    """The real thing: SmoothGrad with 100 samples on EfficientNet-Lite0 (13 batches of 8)."""
    from app.nets.registry import get_network
    from app.services.saliency import saliency
    from tests.utils.samples import sample

    jobs = Jobs(pool)
    image = sample("chelsea.png")
    batch = 8 / 100  # progress moves a batch of 8 of the 100 noisy images at a time
    job = jobs.start(
        "cat smoothgrad",
        lambda progress: saliency(
            get_network("efficientnet-lite0"),
            image,
            "smoothgrad",
            settings={"samples": 100},
            progress=progress,
        ),
    )
    wait_until(lambda: job.progress > 0.05, timeout=120)  # the first batch is done
    jobs.release(job)
    at_release = job.progress  # the batch under way when the claim went, or a later one
    wait_until(lambda: pool.in_flight == 0, timeout=120)
    assert job.status == "cancelled"
    assert job.progress <= at_release + batch + 1e-9  # it stopped at the next batch


def test_watch_sends_the_finish_even_when_the_job_ends_while_it_looks(pool, monkeypatch):
    """The job finishes just after a snapshot said "running": the stream still ends with the
    finished snapshot (it once ended without it)."""
    jobs = Jobs(pool)
    work = Work(steps=1)
    ticket = jobs.start("finishing", work)
    wait_until(work.started.is_set)
    original = type(ticket).snapshot

    def snapshot_then_finish(self):  # type: ignore[no-untyped-def]
        shot = original(self)
        if shot["status"] == "running" and not work.stopped.is_set():
            work.go()
            wait_until(lambda: self.job.status == "done")
        return shot

    monkeypatch.setattr(type(ticket), "snapshot", snapshot_then_finish)

    async def scenario() -> list[dict]:
        return [event async for event in jobs.watch(ticket, tick=0.01)]

    events = run_in_fresh_loop(scenario)
    assert events[0]["status"] == "running"
    assert events[-1]["status"] == "done" and events[-1]["progress"] == 1.0


class Doubling:
    """A batchable computation: doubles its number; ``batch_run`` records each batch."""

    batches: ClassVar[list[list[int]]] = []

    def __init__(self, n: int, key: str = "double") -> None:
        self.n, self.batch_key = n, key

    def __call__(self, progress):  # type: ignore[no-untyped-def]
        return self.batch_run([self])[0]

    def batch_run(self, batch):  # type: ignore[no-untyped-def]
        Doubling.batches.append([item.n for item in batch])
        if any(item.n < 0 for item in batch):
            raise ValueError("a negative number cannot be doubled here")
        return [2 * item.n for item in batch]


def behind_a_busy_worker(pool):  # type: ignore[no-untyped-def]
    """Jobs whose one worker is busy (until ``blocker.go()``): what starts now waits."""
    jobs = Jobs(pool, max_active=32)
    pool.capacity = 32
    blocker = Work(steps=1)
    jobs.start("blocker", blocker)
    blocker.started.wait(5)
    Doubling.batches = []
    return jobs, blocker


def test_jobs_waiting_with_the_same_batch_key_are_computed_together(pool):
    """While the one worker is busy, ten doublings and one of another kind wait; the next
    turn computes eight doublings in one batch (the limit), then the other two; each ticket,
    polled or waited for, gets its own answer, and the other kind runs alone."""
    jobs, blocker = behind_a_busy_worker(pool)
    tickets = [jobs.start(("double", n), Doubling(n)) for n in range(10)]
    odd = jobs.start(("other", 5), Doubling(5, key="other"))

    async def scenario():
        async with jobs.claim(("double", 3), Doubling(3)) as waiting:  # joins a waiting job
            blocker.go()
            assert await jobs.wait(waiting) == 6

    run_in_fresh_loop(scenario)
    wait_until(lambda: all(t.finished for t in [*tickets, odd]))
    assert [t.result for t in tickets] == [2 * n for n in range(10)]
    assert odd.result == 10
    assert sorted(map(len, Doubling.batches)) == [1, 2, 8]
    assert [5] in Doubling.batches  # the other kind, alone
    assert jobs.active == 0


def test_a_bad_job_in_a_batch_fails_alone(pool):
    """A batch that fails is run again job by job: the bad request gets its sentence, the
    others their answers."""
    jobs, blocker = behind_a_busy_worker(pool)
    tickets = [jobs.start(("double", n), Doubling(n)) for n in (1, -1, 2)]
    blocker.go()
    wait_until(lambda: all(t.finished for t in tickets))
    assert [t.status for t in tickets] == ["done", "failed", "done"]
    assert tickets[0].result == 2 and tickets[2].result == 4
    assert tickets[1].error == "a negative number cannot be doubled here"
    assert Doubling.batches == [[1, -1, 2], [1], [-1], [2]]
