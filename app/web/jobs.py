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
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from app.explain.progress import Progress
from app.runtime.jobs import Jobs, Ticket
from app.web.deps import JobsDep

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


def start_job(jobs: Jobs, planned: Planned) -> JSONResponse:
    """Start (or join, or find cached) the planned job: 202 with :func:`job_urls` of a new
    ticket. The page holds the ticket's claim until it cancels (``DELETE``); it keeps the
    job alive by following its events or polling."""
    ticket = jobs.start(planned.key, planned.run)
    return JSONResponse(job_urls(ticket), status_code=202)


async def run_job(request: Request, jobs: Jobs, planned: Planned) -> Any:
    """The result of the planned job, claimed for the duration of this request.

    A ``ValueError`` of the computation (a bad setting found while it ran) is raised again,
    as :func:`job_result` answers it (422). When the client goes away the claim is released
    (the worker stops at its next batch unless someone else wants the result) and
    :class:`~app.explain.progress.Cancelled` ends the request (499, which nobody reads)."""
    async with jobs.claim(planned.key, planned.run) as ticket:
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
            result = await run_job(request, jobs, await plan(**given))
            answer = respond(result, **options)
            return await answer if inspect.isawaitable(answer) else answer

        async def start(**given: Any) -> JSONResponse:
            jobs = given.pop("_jobs_")
            return start_job(jobs, await plan(**given))

        # FastAPI reads an endpoint's parameters from its signature
        wait.__dict__["__signature__"] = inspect.Signature(
            [*own, *planning, *(_keyword(p) for p in answering)]
        )
        start.__dict__["__signature__"] = inspect.Signature([own[1], *planning])
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
