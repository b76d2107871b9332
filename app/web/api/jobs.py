"""``/api/jobs``: a long computation (:mod:`app.runtime.jobs`) followed, fetched and cancelled.

Jobs are started by the endpoints that compute something slow (their ``.../jobs`` twins,
:mod:`app.web.jobs`), which answer with a ticket: the page's own claim on a job that other
clients may share. The ``{id}`` here is the ticket's: a page follows its job
(``GET /api/jobs/{id}/events``, server-sent events: one JSON snapshot
``{id, status, progress, error}`` per change, the last when it finishes) or polls it
(``GET /api/jobs/{id}``), fetches its result and withdraws its own claim (``DELETE``,
harmless to repeat); the job stops when no claim is left. A tab that closes without a
word stops being asked about, and its job stops after ``job_abandon_after_s`` unless
someone else still follows it.

With replicas sharing their jobs through Redis, any replica answers for any ticket; what
reads Redis runs off the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from app.runtime.jobs import Jobs, Ticket
from app.web.deps import JobsDep, Pool
from app.web.errors import ERROR_RESPONSES
from app.web.jobs import job_urls
from app.web.responses import JSONBytes, dumps

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

NO_JOB = {"description": "No such job ticket: never issued by this server, or long forgotten"}
NOT_FINISHED = {"description": "The job has not finished, or was cancelled"}
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


async def ticket_of(jobs: Jobs, job_id: str) -> Ticket:
    """The ticket ``job_id`` (read from Redis off the event loop when jobs are shared)."""
    return await run_in_threadpool(jobs.get, job_id) if jobs.shared else jobs.get(job_id)


class ResultFormat(StrEnum):
    json = "json"
    png = "png"


@router.get(
    "/{job_id}",
    summary="A job's status and progress (poll it)",
    responses={404: NO_JOB},
)
def job_status(job_id: JobId, jobs: JobsDep) -> Response:
    """The ticket's job: `status` (queued, running, done, failed, cancelled), `progress`
    from 0 to 1, and `error`, the sentence of a failed job."""
    return JSONBytes(job_urls(jobs.get(job_id)))


@router.get(
    "/{job_id}/events",
    summary="A job's progress as server-sent events",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "One event per change"},
        404: NO_JOB,
    },
)
async def job_events(job_id: JobId, jobs: JobsDep) -> StreamingResponse:
    """A `text/event-stream`: each event's data is the job's snapshot as JSON, sent when the
    status or progress changes; the stream ends after the snapshot of the finished job."""
    ticket = await ticket_of(jobs, job_id)

    async def events() -> AsyncIterator[bytes]:
        # Starlette cancels this when the client goes away: the job is no longer touched.
        async for snapshot in jobs.watch(ticket):
            yield b"data: " + dumps(snapshot) + b"\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.delete(
    "/{job_id}",
    summary="Cancel a job (withdraw this ticket's claim)",
    responses={404: NO_JOB},
)
def cancel_job(job_id: JobId, jobs: JobsDep) -> Response:
    """Withdraw this ticket's claim, once (again changes nothing): the job stops at its next
    step unless another client still wants its result (it then goes on, and this answer
    says `running`)."""
    return JSONBytes(job_urls(jobs.cancel(job_id)))


@router.get(
    "/{job_id}/result",
    summary="What a finished job computed",
    responses={
        200: {"content": {"application/json": {}, "image/png": {}}},
        404: NO_JOB,
        409: NOT_FINISHED,
        422: ERROR_RESPONSES[422],
    },
)
async def job_result(
    job_id: JobId,
    jobs: JobsDep,
    pool: Pool,
    format: Annotated[ResultFormat, Query(description="json: the numbers; png: the picture")] = (
        ResultFormat.json
    ),
) -> Response:
    """The result as JSON or as a PNG. A job still running or cancelled is a 409; one that
    failed on bad settings is the 422 its request would have been."""
    ticket = await ticket_of(jobs, job_id)
    if not ticket.finished:
        raise HTTPException(409, detail=f"The job is {ticket.status} ({ticket.progress:.0%}); wait")
    if ticket.status == "cancelled":
        raise HTTPException(409, detail="The job was cancelled; start it again")
    # a failed job's ValueError is the 422 its request would be
    result = await run_in_threadpool(jobs.outcome, ticket) if jobs.shared else jobs.outcome(ticket)
    headers = {"Cache-Control": "private, max-age=3600"}  # a job's result never changes
    if format is ResultFormat.png:
        return Response(await pool.run(result.png), media_type="image/png", headers=headers)
    content = await pool.run(lambda: dumps(result.to_dict()))
    return Response(content, media_type="application/json", headers=headers)
