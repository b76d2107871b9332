"""Long computations over HTTP (:mod:`app.runtime.jobs`): a synchronous endpoint and its
``/jobs`` twin, both made from one definition by :func:`job_endpoints`.

An endpoint that computes something slow (a SmoothGrad map, an activation maximisation)
plans the work: it checks the request (a 4xx before any job starts) and returns
:class:`Planned`, the job's key and its computation. From that one plan come:

- the synchronous endpoint: it claims the job for the key, waits, and answers with the
  result. Two students asking for the same map share one computation, a repeated request
  is answered from the result cache, and a client that hangs up releases its claim, so the
  worker stops at its next batch unless someone else still wants the map;
- ``.../jobs`` for pages: ``202`` at once with a ticket of the page's own on the (shared)
  job: its id and URLs. The page follows ``GET /api/jobs/{id}/events`` (server-sent
  events) or polls ``GET /api/jobs/{id}``, fetches ``GET /api/jobs/{id}/result`` when it
  is done, and ``DELETE /api/jobs/{id}`` when the user cancels or leaves: that withdraws
  the page's claim only, never another client's.

A job's result is an object with ``to_dict()`` (``format=json``) and ``png()``
(``format=png``): the computations' result types all have both.

Replicas sharing their jobs (:class:`~app.runtime.shared_jobs.SharedJobs`) record with each
job its *recipe*: the ``/jobs`` request that plans it, with its image named by id. A replica
that picks up the job of a replica that died plans it again with :func:`replan`: the same
request, sent to its own app in process, whose ``/jobs`` endpoint hands back the plan
instead of starting it.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Message

from app.explain.progress import Progress
from app.images.store import ImageSource, upload_id
from app.runtime.jobs import Jobs, Ticket
from app.web.deps import JobsDep

#: The key of the ASGI scope under which a replayed request (:func:`replan`) asks its
#: ``/jobs`` endpoint for the plan; a client's request cannot set it.
REPLAN = "convscope.replan"
_BOUNDARY = "convscope-recipe"

#: The answer of a ``.../jobs`` endpoint, in OpenAPI.
JOB_STARTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "The job: follow `events`, fetch `result` when done"}
}


@dataclass(frozen=True)
class Planned:
    """A checked request, ready to run as a job: what identifies it, and the computation."""

    key: Hashable
    run: Callable[[Progress], Any]


def job_urls(ticket: Ticket) -> dict[str, Any]:
    """A ticket's snapshot of its job with where to follow it, fetch its result and
    withdraw the claim."""
    url = f"/api/jobs/{ticket.id}"
    return {**ticket.snapshot(), "url": url, "events": f"{url}/events", "result": f"{url}/result"}


async def start_job(
    jobs: Jobs, planned: Planned, recipe: dict[str, Any] | None = None
) -> JSONResponse:
    """Start (or join, or find cached) the planned job: 202 with :func:`job_urls` of a new
    ticket. The page holds the ticket's claim until it cancels (``DELETE``); it keeps the
    job alive by following its events or polling. (Shared jobs talk to Redis: off the
    event loop.)"""
    if jobs.shared:
        ticket = await run_in_threadpool(jobs.start, planned.key, planned.run, recipe=recipe)
    else:
        ticket = jobs.start(planned.key, planned.run)
    return JSONResponse(job_urls(ticket), status_code=202)


async def recipe_of(request: Request, given: dict[str, Any], path: str) -> dict[str, Any]:
    """How another replica plans the same job again: ``POST path`` (a ``/jobs`` endpoint)
    with this request's query and body, an uploaded image named by its id."""
    source = next((value for value in given.values() if isinstance(value, ImageSource)), None)
    if source is not None:
        image_id = upload_id(source.data) if source.data is not None else source.image_id
        body = (
            f'--{_BOUNDARY}\r\ncontent-disposition: form-data; name="image_id"\r\n\r\n'
            f"{image_id}\r\n--{_BOUNDARY}--\r\n"
        ).encode()
        media = f"multipart/form-data; boundary={_BOUNDARY}"
    else:
        body = await request.body()  # a JSON body, read (and kept) by FastAPI; or none
        media = request.headers.get("content-type", "")
    return {
        "path": path,
        "query": request.url.query,
        "media": media,
        "body": base64.b64encode(body).decode(),
    }


async def replan(app: FastAPI, recipe: dict[str, Any]) -> tuple[Hashable, Callable[..., Any]]:
    """The plan of a recipe (:func:`recipe_of`): its request sent to ``app`` in process,
    whose ``/jobs`` endpoint hands the plan back; ``ValueError`` with what it answered
    when it refuses (an image no longer kept, say)."""
    body = base64.b64decode(recipe["body"])
    plans: list[Planned] = []
    answered: list[int] = []
    said: list[bytes] = []
    done = asyncio.Event()
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": recipe["path"], "raw_path": recipe["path"].encode(),
        "query_string": recipe["query"].encode(), "root_path": "",
        "headers": [(b"host", b"replica"), (b"content-type", recipe["media"].encode()),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0), REPLAN: plans,
    }  # fmt: skip
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answered.append(int(message["status"]))
        elif message["type"] == "http.response.body":
            said.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    finally:
        done.set()
    if not plans:
        detail = b"".join(said)[:300].decode("utf-8", "replace")
        raise ValueError(f"planning it again was answered {answered[:1]}: {detail}")
    return plans[0].key, plans[0].run


async def run_job(
    request: Request, jobs: Jobs, planned: Planned, recipe: dict[str, Any] | None = None
) -> Any:
    """The result of the planned job, claimed for the duration of this request.

    A ``ValueError`` of the computation (a bad setting found while it ran) is raised again,
    as :func:`job_result` answers it (422). When the client goes away the claim is released
    (the worker stops at its next batch unless someone else wants the result) and
    :class:`~app.explain.progress.Cancelled` ends the request (499, which nobody reads)."""
    async with jobs.claim(planned.key, planned.run, recipe=recipe) as ticket:
        return await jobs.wait(ticket, disconnected=request.is_disconnected)


def _keyword(parameter: inspect.Parameter) -> inspect.Parameter:
    return parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)


def job_endpoints(
    router: APIRouter,
    path: str,
    *,
    respond: Callable[..., Response | Awaitable[Response]],
    summary: str,
    description: str,
    job_summary: str,
    job_description: str,
    method: str = "POST",
    **route: Any,
) -> Callable[[Callable[..., Awaitable[Planned]]], Callable[..., Awaitable[Planned]]]:
    """Register, for one planning function ``async def plan(...) -> Planned`` (its
    parameters are the endpoint's: path, query, body, dependencies):

    - ``method path``: waits for the result and answers ``respond(result, **extra)``,
      whose extra parameters (say, a ``format`` query) belong to this endpoint only;
    - ``POST path/jobs``: 202 with the job to follow.

    ``route`` goes to both routes (``responses``, ``openapi_extra``, ...), but
    ``response_class`` to the first only."""

    def decorate(plan: Callable[..., Awaitable[Planned]]) -> Callable[..., Awaitable[Planned]]:
        planning = [_keyword(p) for p in inspect.signature(plan, eval_str=True).parameters.values()]
        planned_names = {p.name for p in planning}
        answering = list(inspect.signature(respond, eval_str=True).parameters.values())[1:]
        extra = [p.name for p in answering]  # a name the plan has too gets the same value
        answering = [p for p in answering if p.name not in planned_names]
        own = [
            inspect.Parameter("_request_", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
            inspect.Parameter("_jobs_", inspect.Parameter.KEYWORD_ONLY, annotation=JobsDep),
        ]

        async def wait(**given: Any) -> Response:
            request, jobs = given.pop("_request_"), given.pop("_jobs_")
            options = {name: given[name] for name in extra}
            for name in extra:
                if name not in planned_names:
                    del given[name]
            planned = await plan(**given)
            recipe = None
            if jobs.shared:
                twin = request.url.path.rstrip("/") + "/jobs"
                recipe = await recipe_of(request, given, twin)
            result = await run_job(request, jobs, planned, recipe)
            answer = respond(result, **options)
            return await answer if inspect.isawaitable(answer) else answer

        async def start(**given: Any) -> JSONResponse:
            request, jobs = given.pop("_request_"), given.pop("_jobs_")
            planned = await plan(**given)
            plans = request.scope.get(REPLAN)
            if plans is not None:  # a replica picking up a job asks for its plan
                plans.append(planned)
                return JSONResponse({}, status_code=202)
            recipe = await recipe_of(request, given, request.url.path) if jobs.shared else None
            return await start_job(jobs, planned, recipe)

        # FastAPI reads an endpoint's parameters from its signature
        wait.__dict__["__signature__"] = inspect.Signature(
            [*own, *planning, *(_keyword(p) for p in answering)]
        )
        start.__dict__["__signature__"] = inspect.Signature([*own, *planning])
        wait.__name__, start.__name__ = plan.__name__, f"{plan.__name__}_job"
        responses = route.pop("responses", {})
        answer_class = route.pop("response_class", None)
        router.add_api_route(
            path, wait, methods=[method], summary=summary, description=description,
            responses=responses, **({"response_class": answer_class} if answer_class else {}),
            **route,
        )  # fmt: skip
        router.add_api_route(
            f"{path}/jobs", start, methods=["POST"], status_code=202, summary=job_summary,
            description=job_description, responses={**JOB_STARTED, **responses}, **route,
        )  # fmt: skip
        return plan

    return decorate


def install_replan(app: FastAPI) -> None:
    """Let the app's shared jobs plan a job again from its recipe (a replica picking up
    the job of one that died); nothing for jobs in one process."""
    jobs = app.state.jobs
    if jobs.shared:

        async def plan_again(recipe: dict[str, Any]) -> tuple[Hashable, Callable[..., Any]]:
            return await replan(app, recipe)

        jobs.replan = plan_again
