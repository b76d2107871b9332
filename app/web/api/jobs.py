"""HTTP for long computations (:mod:`app.jobs`): start one, follow its progress, cancel it,
fetch what it produced.

Endpoints that compute something slow (a SmoothGrad map, an activation maximisation) come
in two forms built on the helpers here:

- synchronous: :func:`run_job` claims the job for the request's key, waits, and answers
  with the result. Two students asking for the same map share one computation, a repeated
  request is answered from the result cache, and a client that hangs up releases its claim,
  so the worker stops at its next batch;
- for pages: :func:`start_job` answers ``202`` at once with the job's id and URLs. The page
  follows ``GET /api/jobs/{id}/events`` (server-sent events: one JSON snapshot
  ``{id, status, progress, error}`` per change, the last when it finishes) or polls
  ``GET /api/jobs/{id}``, fetches ``GET /api/jobs/{id}/result`` when it is done, and
  ``DELETE /api/jobs/{id}`` when the user cancels or leaves. A tab that closes without a
  word stops being asked about, and its job stops after ``job_abandon_after_s``.

A job's result is an object with ``to_dict()`` (``format=json``) and ``png()``
(``format=png``): the computations' result types all have both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.responses import Response

from app.explain.progress import Cancelled, Progress
from app.runtime.jobs import Job, Jobs, UnknownJob
from app.web.deps import JobsDep, Pool
from app.web.errors import ERROR_RESPONSES, unprocessable
from app.web.responses import JSONBytes, dumps

router = APIRouter(prefix="/api/jobs", tags=["jobs"])

NO_JOB = {"description": "No such job: never started on this server, or long forgotten"}
NOT_FINISHED = {"description": "The job has not finished, or was cancelled"}
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class ResultFormat(StrEnum):
    json = "json"
    png = "png"


def job_urls(job: Job) -> dict[str, Any]:
    """A job's snapshot with where to follow it, fetch its result and cancel it."""
    url = f"/api/jobs/{job.id}"
    return {**job.snapshot(), "url": url, "events": f"{url}/events", "result": f"{url}/result"}


def start_job(
    jobs: Jobs, key: Hashable, fn: Callable[[Progress], Any], **kwargs: Any
) -> JSONResponse:
    """Start (or join, or find cached) the job for ``key``: 202 with :func:`job_urls`.

    The page holds the claim this makes until it cancels (``DELETE``); it keeps the job
    alive by following its events or polling."""
    job = jobs.start(key, fn, **kwargs)
    return JSONResponse(job_urls(job), status_code=202)


async def run_job(
    request: Request, jobs: Jobs, key: Hashable, fn: Callable[[Progress], Any], **kwargs: Any
) -> Any:
    """The result of the job for ``key``, claimed for the duration of this request.

    A ``ValueError`` of the computation (a bad setting found while it ran) is the 422 with
    its sentence, as :func:`job_result` answers it; any other exception is raised again.
    When the client goes away, the claim is released (the worker stops at its next batch
    unless someone else wants the result) and the request ends with a 499 nobody reads."""
    async with jobs.claim(key, fn, **kwargs) as job:
        try:
            return await jobs.wait(job, disconnected=request.is_disconnected)
        except Cancelled as error:
            raise HTTPException(499, detail=f"Stopped: {error}") from None
        except ValueError as error:
            raise unprocessable(error) from error


def _job(jobs: Jobs, job_id: str) -> Job:
    try:
        return jobs.get(job_id)
    except UnknownJob as error:
        raise HTTPException(404, detail=str(error)) from None


@router.get(
    "/{job_id}",
    summary="A job's status and progress (poll it)",
    responses={404: NO_JOB},
)
def job_status(job_id: JobId, jobs: JobsDep) -> Response:
    """`status` (queued, running, done, failed, cancelled), `progress` from 0 to 1, and
    `error`, the sentence of a failed job."""
    return JSONBytes(job_urls(_job(jobs, job_id)))


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
    job = _job(jobs, job_id)

    async def events() -> AsyncIterator[bytes]:
        # Starlette cancels this when the client goes away: the job is no longer touched.
        async for snapshot in jobs.watch(job):
            yield b"data: " + dumps(snapshot) + b"\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.delete(
    "/{job_id}",
    summary="Cancel a job",
    responses={404: NO_JOB},
)
def cancel_job(job_id: JobId, jobs: JobsDep) -> Response:
    """Withdraw the page's claim: the job stops at its next step unless another client
    still wants its result (it then goes on, and this answer says `running`)."""
    try:
        job = jobs.cancel(job_id)
    except UnknownJob as error:
        raise HTTPException(404, detail=str(error)) from None
    return JSONBytes(job_urls(job))


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
    job = _job(jobs, job_id)
    if not job.finished:
        raise HTTPException(409, detail=f"The job is {job.status} ({job.progress:.0%}); wait")
    try:
        result = jobs.outcome(job)
    except Cancelled:
        raise HTTPException(409, detail="The job was cancelled; start it again") from None
    except ValueError as error:
        raise unprocessable(error) from error
    headers = {"Cache-Control": "private, max-age=3600"}  # a job's result never changes
    if format is ResultFormat.png:
        return Response(await pool.run(result.png), media_type="image/png", headers=headers)
    content = await pool.run(lambda: dumps(result.to_dict()))
    return Response(content, media_type="application/json", headers=headers)
