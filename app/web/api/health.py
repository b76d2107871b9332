"""``/healthz`` and ``/readyz``: for the load balancer, ``docker compose`` and Kubernetes probes.

- ``GET /healthz``: the process is up and its event loop answers (a liveness probe: restart
  the replica when it fails). Always 200 while it can answer at all.
- ``GET /readyz``: whether this replica should get requests (a readiness probe). 503 until
  the zoo's models are loaded (``CONVSCOPE_PRELOAD_MODELS``); then 200, with the state of
  the shared store when Redis is configured: ``"status": "ready"``, or ``"degraded"`` while
  Redis is out of reach (the replica serves from its own memory, and says so in its log).
  A degraded replica stays ready on purpose: Redis is shared, so a probe that failed on it
  would take every replica out of the balancer at once, for an outage where there was a
  slowdown. ``?require=redis`` makes it 503 too (for a check that wants Redis itself).
  ``training_lab`` says whether the lab's digits are prepared (``warm``), being prepared in
  the background while the server is idle (``warming``), or will be at the first training
  (``cold``); it does not change readiness.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from app.web.responses import JSONBytes

router = APIRouter(tags=["health"])

NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz", summary="The process is up")
def healthz() -> Response:
    """`{"status": "ok"}` while the process answers."""
    return JSONBytes({"status": "ok"}, headers=NO_STORE)


def _lab(state: Any) -> str:
    lab = getattr(state, "training", None)
    if lab is not None and lab.warmed.is_set():
        return "warm"
    return "warming" if lab is not None and lab.warming else "cold"


@router.get(
    "/readyz",
    summary="Ready for requests: models loaded, the shared state reachable",
    responses={503: {"description": "Not ready: the models are loading (or Redis is out of "
                     "reach, with `require=redis`)"}},
)  # fmt: skip
def readyz(
    request: Request,
    require: Annotated[
        Literal["redis"] | None,
        Query(description="`redis`: not ready either while Redis is out of reach"),
    ] = None,
) -> Response:
    """`status` (`ready`, `degraded`: serving without the shared state, or `loading`),
    `models` (`loaded`, `loading`), `training_lab` (`warm`, `warming`, `cold`: whether the
    lab's digits are prepared yet) and `redis` (null when not configured; else its URL
    without a password, `reachable`, `since` (Unix time), `error`, this `replica`'s id)."""
    state = request.app.state
    ready = getattr(state, "models_ready", None)
    models = "loaded" if ready is not None and ready.is_set() else "loading"
    shared = getattr(state, "shared", None)
    redis: dict[str, Any] | None = shared.status() if shared is not None else None
    reachable = redis is None or redis["reachable"]
    status = "loading" if models != "loaded" else "ready" if reachable else "degraded"
    ok = status == "ready" or (status == "degraded" and require != "redis")
    body = {"status": status, "models": models, "training_lab": _lab(state), "redis": redis}
    return JSONBytes(body, status_code=200 if ok else 503, headers=NO_STORE)
