"""The bounded compute pool: it refuses work at once when full, and frees the slot of work
that was cancelled before it started."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.runtime.workers import ComputePool, PoolBusy
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
