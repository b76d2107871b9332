"""The bounded compute pool: it refuses work at once when full, and frees the slot of work
that was cancelled before it started; the cores: every core on one team thread for the
server's only work, one thread each otherwise."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from app.runtime.workers import _OMP_SET_NUM_THREADS, ComputePool, Cores, PoolBusy
from tests.utils.loops import eventually, run_in_fresh_loop


def test_pool_refuses_work_when_full():
    pool = ComputePool(workers=1, queue=0, retry_after=3)
    release = threading.Event()

    async def scenario():
        first = asyncio.create_task(pool.run(release.wait, 5))
        await eventually(lambda: pool.in_flight == 1)
        with pytest.raises(PoolBusy) as busy:
            await pool.run(lambda: None)
        assert busy.value.retry_after == 3
        release.set()
        assert await first is True
        assert pool.in_flight == 0
        assert await pool.run(lambda: 42) == 42

    try:
        run_in_fresh_loop(scenario)
    finally:
        pool.shutdown()


def test_cancelled_work_that_has_not_started_frees_its_slot():
    pool = ComputePool(workers=1, queue=1, retry_after=1)
    release = threading.Event()
    started = threading.Event()

    def work() -> bool:
        started.set()
        return release.wait(5)

    async def scenario():
        running = asyncio.create_task(pool.run(work))
        await eventually(started.is_set)  # the one worker is busy
        waiting = asyncio.create_task(pool.run(lambda: "never"))
        await eventually(lambda: pool.in_flight == 2)
        waiting.cancel()
        await eventually(lambda: pool.in_flight == 1)  # the queued job was dropped
        running.cancel()  # already running: its slot is held until the work ends
        await asyncio.sleep(0)
        assert pool.in_flight == 1 and not release.is_set()
        release.set()
        await eventually(lambda: pool.in_flight == 0)

    try:
        run_in_fresh_loop(scenario)
    finally:
        pool.shutdown()


def test_the_only_work_runs_on_the_team_with_every_core_and_gives_them_back():
    """Threads are torch's count in the thread that computes: ``alone`` on the team thread
    for a computation that starts as the only one; at a progress report (``resize``)
    ``shared`` once another runs beside it (which runs on its own worker with ``shared``),
    and ``alone`` again when it is alone once more."""
    cores = Cores(shared=1, alone=3)
    lane_a = ComputePool(workers=1, queue=0, retry_after=1, cores=cores)
    lane_b = ComputePool(workers=1, queue=0, retry_after=1, cores=cores)
    second_running, release = threading.Event(), threading.Event()
    seen: dict[str, list[object]] = {"first": [], "second": []}

    def first() -> None:
        seen["first"] += [threading.current_thread().name, torch.get_num_threads()]
        second = lane_b.submit(work)
        assert second_running.wait(5)
        cores.resize()  # the next batch, beside the second: one thread
        seen["first"].append(torch.get_num_threads())
        release.set()
        second.result(5)
        cores.resize()  # alone again: every core
        seen["first"].append(torch.get_num_threads())

    def work() -> None:
        second_running.set()
        seen["second"] += [threading.current_thread().name, torch.get_num_threads()]
        cores.resize()  # a worker that is not the team never takes more than shared
        seen["second"].append(torch.get_num_threads())
        release.wait(5)

    try:
        lane_a.submit(first).result(10)
        again = lane_a.submit(lambda: threading.current_thread().name).result(5)
    finally:
        lane_a.shutdown()
        lane_b.shutdown()
        cores.shutdown()
    assert seen["first"][0].startswith("convscope-team") and seen["first"][1:] == [3, 1, 3]
    assert seen["second"][0].startswith("convscope-compute") and seen["second"][1:] == [1, 1]
    assert again == seen["first"][0]  # one team thread, always the same
    default = ComputePool(workers=1, queue=0, retry_after=1, torch_threads=2)
    try:  # a pool of its own: the same count alone or not, on its own worker
        assert default.submit(torch.get_num_threads).result(5) == 2
    finally:
        default.shutdown()


@pytest.mark.skipif(_OMP_SET_NUM_THREADS is None, reason="torch does not use GNU OpenMP here")
def test_the_team_leaves_the_count_new_threads_start_with_alone():
    """Threads that start while the team computes on every core begin with the count they
    would have begun with anyway: only the team ever makes a team of threads."""

    def new_thread_count() -> int:
        with ThreadPoolExecutor(1) as fresh:
            return fresh.submit(torch.get_num_threads).result(5)

    before = new_thread_count()
    cores = Cores(shared=1, alone=before + 2)
    try:
        during = cores.call(lambda: (torch.get_num_threads(), new_thread_count()))
    finally:
        cores.shutdown()
    assert during == (before + 2, before)


def test_every_core_only_while_the_server_has_nothing_else_to_answer():
    cores = Cores(shared=1, alone=4)
    assert cores.threads() == 4  # nothing runs yet: what starts now runs alone
    cores.running, cores.requests = 1, 1  # one computation, for the one request in flight
    assert cores.threads() == 4
    cores.requests = 2  # another request (a page, a trace) needs the event loop's core
    assert cores.threads() == 1
    cores.running, cores.requests = 2, 1  # two computations (a page's two maps)
    assert cores.threads() == 1


def test_the_gauge_counts_requests_in_flight():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.web.middleware import RequestGauge

    cores = Cores()
    seen = []

    async def endpoint(request):  # type: ignore[no-untyped-def]
        seen.append(cores.requests)
        return PlainTextResponse("ok")

    app = RequestGauge(Starlette(routes=[Route("/", endpoint)]), cores)
    with TestClient(app) as client:
        assert client.get("/").text == "ok"
        assert client.get("/missing").status_code == 404
    assert seen == [1] and cores.requests == 0
