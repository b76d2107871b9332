"""Jobs shared by replicas through a real redis-server: three :class:`SharedJobs` in this
process stand for three replicas (each with its own pool and its own connection). A job
started on one is polled, followed, fetched and withdrawn on the others; a dead replica's
job is picked up; Redis out of reach, a replica keeps serving from its own memory; a Redis
that restarts (even from a snapshot) serves no state from before as true."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.explain.progress import Cancelled
from app.runtime.jobs import UnknownJob
from app.runtime.shared_jobs import SharedJobs, SharedTicket
from app.runtime.state import SharedState
from app.runtime.workers import ComputePool
from tests.utils.jobs import Work, wait_until
from tests.utils.loops import run_in_fresh_loop
from tests.utils.redis_server import RedisServer

DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


class Replica:
    """One replica's shared state and jobs (its own pool, its own Redis connection)."""

    def __init__(self, url: str, prefix: str, **options: Any) -> None:
        self.state = SharedState(url, lease_s=1.0, prefix=prefix)
        assert self.state.probe()
        self.pool = ComputePool(workers=1, queue=4, retry_after=3)
        self.jobs = SharedJobs(self.pool, self.state, **options)

    def close(self) -> None:
        self.pool.shutdown()
        self.state.stop()


@pytest.fixture
def replicas(redis_server: RedisServer) -> Iterator[list[Replica]]:
    prefix = f"test-{secrets.token_hex(4)}"  # each test its own keys
    made = [Replica(redis_server.url, prefix) for _ in range(3)]
    yield made
    for replica in made:
        replica.close()


def follow(
    jobs: SharedJobs, ticket_id: str, on_first: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        seen = []
        async for snapshot in jobs.watch(jobs.get(ticket_id)):
            seen.append(snapshot)
            if on_first is not None and len(seen) == 1:
                on_first()
        return seen

    seen: list[dict[str, Any]] = run_in_fresh_loop(run)
    return seen


def test_a_job_started_on_one_replica_is_polled_followed_and_fetched_on_the_others(replicas):
    a, b, c = (r.jobs for r in replicas)
    work = Work(steps=4, value={"map": [1, 2, 3]})
    ticket = a.start(("saliency", "cat", "smoothgrad"), work)
    assert isinstance(ticket, SharedTicket)
    assert work.started.wait(DEADLINE_S)
    work.go(2)
    wait_until(lambda: b.get(ticket.id).progress == 0.5, DEADLINE_S)
    assert b.get(ticket.id).snapshot() == {
        "id": ticket.id, "status": "running", "progress": 0.5, "error": None,
    }  # fmt: skip
    events = follow(c, ticket.id, on_first=lambda: work.go(2))
    assert events[0]["progress"] == 0.5 and events[-1]["status"] == "done"
    assert [e["status"] for e in events].count("done") == 1
    assert b.outcome(b.get(ticket.id)) == {"map": [1, 2, 3]}  # decoded from Redis on b
    assert work.calls == 1


def test_the_same_request_through_another_replica_joins_the_job_and_then_the_cache(replicas):
    a, b, c = (r.jobs for r in replicas)
    work, other = Work(steps=2), Work(steps=2)
    first = a.start("key", work)
    second = b.start("key", other)  # b joins a's job: nothing starts on b
    assert second.job_id == first.job_id and second.id != first.id
    assert work.started.wait(DEADLINE_S)
    b.release(b.get(first.id))  # one client leaves through b: the other still wants it
    work.go(2)
    assert run_in_fresh_loop(lambda: c.wait(c.get(second.id))) == "result"
    third = c.start("key", Work())  # answered from the shared cache
    assert third.status == "done" and c.outcome(third) == "result"
    assert work.calls == 1 and other.calls == 0


def test_a_cancel_through_another_replica_withdraws_only_its_own_claim(replicas):
    a, b, c = (r.jobs for r in replicas)
    work = Work(steps=100)
    mine = a.start("key", work)
    theirs = a.start("key", work)
    assert work.started.wait(DEADLINE_S)
    work.go(2)
    assert b.cancel(mine.id).status == "running"  # someone else still wants it
    assert b.cancel(mine.id).status == "running"  # again: harmless
    work.go(1)
    wait_until(lambda: c.get(theirs.id).progress >= 0.03, DEADLINE_S)
    assert not work.stopped.is_set()
    c.cancel(theirs.id)  # the last claim, withdrawn through a third replica
    work.go(1)
    assert work.stopped.wait(DEADLINE_S)  # a stops it at its next batch
    wait_until(lambda: b.get(theirs.id).status == "cancelled", DEADLINE_S)
    with pytest.raises(Cancelled):
        b.outcome(b.get(theirs.id))
    wait_until(lambda: replicas[0].pool.in_flight == 0, DEADLINE_S)


def test_a_queued_job_withdrawn_elsewhere_never_runs(replicas):
    a, b = replicas[0].jobs, replicas[1].jobs
    busy, waiting = Work(steps=1), Work(steps=1)
    running = a.start("first", busy)
    assert busy.started.wait(DEADLINE_S)
    queued = a.start("second", waiting)
    assert queued.status == "queued"
    assert b.cancel(queued.id).status == "cancelled"  # at once: it had not started
    busy.go()
    assert run_in_fresh_loop(lambda: a.wait(running)) == "result"
    wait_until(lambda: replicas[0].pool.in_flight == 0, DEADLINE_S)
    assert waiting.calls == 0


def test_a_job_nobody_follows_any_more_stops(redis_server):
    prefix = f"test-{secrets.token_hex(4)}"
    a = Replica(redis_server.url, prefix, abandon_after_s=0.3)
    try:
        work = Work(steps=10)
        ticket = a.jobs.start("key", work)  # a tab that polls once, then closes
        assert work.started.wait(DEADLINE_S)
        base = a.state.epoch_base()
        assert isinstance(ticket, SharedTicket)
        seen = f"{base}seen:{ticket.job_id}"
        wait_until(lambda: not a.state.client.exists(seen), DEADLINE_S)  # Redis forgot it
        work.go(1)
        assert work.stopped.wait(DEADLINE_S)
        wait_until(lambda: a.jobs.get(ticket.id).status == "cancelled", DEADLINE_S)
    finally:
        a.close()


def test_a_failed_job_is_the_same_sentence_everywhere(replicas):
    a, b = replicas[0].jobs, replicas[1].jobs

    def fails(progress: Callable[[float], None]) -> None:
        progress(0.0)
        raise ValueError("the class index must be from 0 to 9 (got 12)")

    ticket = a.start("bad", fails)
    wait_until(lambda: b.get(ticket.id).status == "failed", DEADLINE_S)
    assert b.get(ticket.id).snapshot()["error"] == "the class index must be from 0 to 9 (got 12)"
    with pytest.raises(ValueError, match="from 0 to 9"):  # the 422 its request would be
        b.outcome(b.get(ticket.id))


def kill(replica: Replica) -> None:
    """The replica stops beating, as if its process were killed; its lease lapses."""
    replica.state._stop.set()
    base = replica.state.epoch_base()
    replica.state.client.delete(f"{base}replica:{replica.state.replica}")


def test_the_job_of_a_replica_that_died_is_picked_up_by_a_follower(replicas):
    a, b = replicas[0].jobs, replicas[1].jobs
    stuck = Work(steps=4)
    again = Work(steps=2, value="picked up")
    plans = []

    async def replan(recipe: dict[str, Any]) -> tuple[str, Work]:
        plans.append(recipe)
        return "key", again

    b.replan = replan
    ticket = a.start("key", stuck, recipe={"path": "/api/x/jobs"})
    assert stuck.started.wait(DEADLINE_S)
    stuck.go(1)
    wait_until(lambda: b.get(ticket.id).progress == 0.25, DEADLINE_S)
    kill(replicas[0])  # a dies mid-job (its worker stays stuck, as a dead process's would)
    events = follow(b, ticket.id, on_first=lambda: again.go(2))
    assert events[-1]["status"] == "done" and plans == [{"path": "/api/x/jobs"}]
    assert b.outcome(b.get(ticket.id)) == "picked up"
    stuck.go(3)  # the old worker wakes up: it was taken over, so it stops
    assert stuck.stopped.wait(DEADLINE_S)


def test_a_job_that_keeps_losing_its_replica_fails_with_a_sentence(redis_server):
    prefix = f"test-{secrets.token_hex(4)}"
    a = Replica(redis_server.url, prefix)
    b = Replica(redis_server.url, prefix, attempts=1)
    try:
        work = Work(steps=4)
        ticket = a.jobs.start("key", work, recipe={"path": "/api/x/jobs"})
        assert work.started.wait(DEADLINE_S)
        kill(a)
        events = follow(b.jobs, ticket.id)
        assert events[-1]["status"] == "failed"
        assert "start it again" in events[-1]["error"]
        work.go(4)
    finally:
        a.close()
        b.close()


def test_a_job_without_a_recipe_fails_when_its_replica_dies(replicas):
    a, b = replicas[0].jobs, replicas[1].jobs
    work = Work(steps=4)
    ticket = a.start("key", work)  # no recipe: nobody can plan it again
    assert work.started.wait(DEADLINE_S)
    kill(replicas[0])
    events = follow(b, ticket.id)
    assert events[-1]["status"] == "failed" and "start it again" in events[-1]["error"]
    work.go(4)


def test_with_redis_out_of_reach_a_replica_serves_its_own_jobs(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    a = Replica(server.url, "test")
    try:
        running = Work(steps=2, value="kept here")
        ticket = a.jobs.start("before", running)  # a shared job, then Redis goes away
        assert running.started.wait(DEADLINE_S)
        server.stop()
        running.go(2)  # its progress cannot be written: it goes on all the same
        assert run_in_fresh_loop(lambda: a.jobs.wait(a.jobs.get(ticket.id))) == "kept here"
        assert not a.state.reachable
        work = Work(steps=2, value="local")
        local = a.jobs.start("during", work)  # a job of this replica's own
        assert not isinstance(local, SharedTicket)
        assert work.started.wait(DEADLINE_S)
        work.go(2)
        assert follow(a.jobs, local.id)[-1]["status"] == "done"
        assert a.jobs.outcome(a.jobs.get(local.id)) == "local"
        with pytest.raises(UnknownJob):
            a.jobs.get("0" * 32)  # another replica's ticket cannot be known: 404, not 500
        server.start()  # back (a restart: a new epoch)
        a.state.beat()
        assert a.state.reachable and a.state.restarts == 1
        shared = a.jobs.start("after", Work(steps=1))
        assert isinstance(shared, SharedTicket)
        assert a.jobs.start("during", Work()).status == "done"  # the result kept here
    finally:
        a.close()
        server.stop()


def test_a_redis_that_restarts_from_a_snapshot_serves_no_old_job_as_true(tmp_path: Path):
    server = RedisServer(tmp_path, persist=True)
    server.start()
    a = Replica(server.url, "test")
    b = Replica(server.url, "test")
    try:
        work = Work(steps=4)
        ticket = a.jobs.start("key", work)
        assert work.started.wait(DEADLINE_S)
        work.go(1)
        wait_until(lambda: b.jobs.get(ticket.id).progress == 0.25, DEADLINE_S)
        old = a.state.epoch_base()
        server.restart()  # written to disk on stop, read back on start
        assert isinstance(ticket, SharedTicket)
        assert a.state.client.exists(f"{old}job:{ticket.job_id}")
        b.state.beat()
        assert b.state.restarts == 1 and b.state.epoch_base() != old
        with pytest.raises(UnknownJob):  # the snapshot says "running": not believed
            b.jobs.get(ticket.id)
        a.state.beat()
        work.go(1)  # a's worker finds its job gone, and stops
        assert work.stopped.wait(DEADLINE_S)
        fresh = Work(steps=1, value="again")
        again = b.jobs.start("key", fresh)  # the page starts it again: a new job
        assert isinstance(again, SharedTicket) and again.job_id != ticket.job_id
        assert fresh.started.wait(DEADLINE_S)
        fresh.go(1)
        assert run_in_fresh_loop(lambda: b.jobs.wait(again)) == "again"
    finally:
        a.close()
        b.close()
        server.stop()


@pytest.mark.parametrize(
    ("path", "options"),
    [
        (
            "/api/models/lenet5/layers/conv2/channels/3/maximize/jobs",
            {"json": {"steps": 3, "seed": 7}},
        ),
        (
            "/api/models/lenet5/saliency/jobs?method=smoothgrad&samples=3&seed=5",
            {"files": {"image": ("digit.png", b"", "image/png")}},
        ),
        ("/api/models/lenet5/layers/conv1/channels/0/top-digits/jobs", {}),
    ],
    ids=["json-body", "uploaded-file", "no-body"],
)
def test_a_job_is_planned_again_from_its_recipe(redis_server, path, options) -> None:
    from fastapi.testclient import TestClient

    from app.images.store import upload_id
    from app.main import create_app
    from app.settings import Settings
    from app.web.jobs import replan
    from tests.utils import images as corpus

    if "files" in options:  # an upload: the recipe names it by id
        options = {"files": {"image": ("digit.png", corpus.solid(28, 28), "image/png")}}
    settings = Settings(device="cpu", preload_models=False, redis_url=redis_server.url)
    app = create_app(settings)
    with TestClient(app) as client:
        jobs = app.state.jobs
        started = jobs.start  # what the endpoint hands over: its key and its recipe
        seen: list[tuple[object, dict]] = []

        def spy(key: Any, fn: Any, **kwargs: Any) -> Any:
            seen.append((key, kwargs["recipe"]))
            return started(key, fn, **kwargs)

        jobs.start = spy
        answer = client.post(path, **options)
        assert answer.status_code == 202, answer.text
        key, recipe = seen[0]
        if "files" in options:  # the file itself is not in the recipe: its id is
            body = base64.b64decode(recipe["body"])
            data = options["files"]["image"][1]
            assert upload_id(data).encode() in body and data not in body

        async def again() -> tuple[Any, Any]:
            return await replan(app, recipe)

        assert client.portal is not None
        planned_key, run = client.portal.call(again)
        assert planned_key == key and callable(run)
        client.delete(answer.json()["url"])
