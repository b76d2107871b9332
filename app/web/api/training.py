"""``/api/training``: the training lab over HTTP (``app.services.training``).

``POST /api/training/jobs`` checks a run's settings (422 with a sentence for a bad one)
and starts it as a job in the lab's own lane (202; 503 with Retry-After when
``training_max_active`` runs are training). The ticket it answers is followed like every
job of the app (its ``url``, ``events`` and ``result``, and ``DELETE`` to cancel), under
``/api/training/jobs/{id}``; the event stream also carries what the run recorded since the
last event. A finished run's network is served as a network of the app (``network``: its
name for ``/api/models/{name}`` and ``/networks/{name}``), and its weights are downloaded
as safetensors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.responses import Response

from app.runtime.jobs import Ticket
from app.services.training import page
from app.services.training.lab import TrainingLab, layer_names, parameter_count
from app.web.deps import Pool, SettingsDep
from app.web.errors import ERROR_RESPONSES
from app.web.responses import JSONBytes, dumps
from app.web.schemas import Body

router = APIRouter(prefix="/api/training", tags=["training"])

NO_JOB = {"description": "No such training: never started on this server, or long forgotten"}
NOT_FINISHED = {"description": "The training has not finished, or was cancelled"}
NO_NETWORK = {"description": "No trained network of that name is kept (train it again)"}
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
#: The longest name a text setting may have (a longer one is refused before it is read out).
NAME_LENGTH = 32
NetworkName = Annotated[
    str, Path(max_length=64, description="A trained network's name (`network` of a result)")
]


def get_lab(request: Request) -> TrainingLab:
    """The app's training lab, created in ``lifespan``."""
    return request.app.state.training


LabDep = Annotated[TrainingLab, Depends(get_lab)]


class TrainingSettings(Body):
    """A run's settings; each left out takes the page's default (`GET /api/training`)."""

    network: str | None = Field(
        None, max_length=NAME_LENGTH, description="`lenet5`, `simple-cnn` or `deep`"
    )
    depth: int | None = Field(
        None, description="The deep network's layers with weights: even, 4 to 32 (default 20)"
    )
    residual: bool | None = Field(None, description="The deep network with skip connections")
    batchnorm: bool | None = Field(None, description="A BatchNorm after every convolution")
    optimizer: str | None = Field(
        None, max_length=NAME_LENGTH, description="`adam`, or `sgd` (momentum 0.9)"
    )
    lr: float | None = Field(None, description="The learning rate, more than 0 and at most 10")
    schedule: str | None = Field(
        None,
        max_length=NAME_LENGTH,
        description="`cosine`: decayed to 0 over the run (default); `constant`",
    )
    batch_size: int | None = Field(None, description="Digits per step, 8 to 256")
    epochs: int | None = Field(None, description="Passes over the digits, 1 to 20")
    augment: bool | None = Field(
        None, description="Rotate, scale and shift each digit a little, afresh every time"
    )
    seed: int | None = Field(None, description="Seed of the weights, the order and the noise")
    digits: int | None = Field(
        None, description="How many of the 4,000 training digits: 100 to 4,000, a multiple of 10"
    )


def ticket_urls(ticket: Ticket) -> dict[str, Any]:
    """A ticket's snapshot of its run with where to follow it, fetch its result and cancel."""
    url = f"/api/training/jobs/{ticket.id}"
    return {**ticket.snapshot(), "url": url, "events": f"{url}/events", "result": f"{url}/result"}


@router.get("", summary="What the lab trains, its defaults and limits")
def training_config(settings: SettingsDep) -> Response:
    """The networks, optimisers and schedules, every setting's default and limits, the
    lecture's comparisons and the held-out digits whose predictions a run records."""
    return JSONBytes(page.config(settings))


@router.post(
    "/jobs",
    status_code=202,
    summary="Train a network from scratch (a job)",
    responses={202: {"description": "The run: follow `events`, fetch `result`"}, **ERROR_RESPONSES},
)
def start_training(settings: TrainingSettings, lab: LabDep) -> Response:
    """Check the settings and start the run (or join the same run, or find it finished):
    202 with the ticket (`id`, `status`, `progress`, `url`, `events`, `result`), the
    settings with the defaults filled in (`config`), the network's `title`, the `layers`
    whose gradients it records, `parameters`, `steps_per_epoch` and `total_steps`."""
    config = lab.plan(settings.fields())
    ticket = lab.start(config)
    architecture = config.architecture
    body = {
        **ticket_urls(ticket),
        "config": config.to_dict(),
        "title": architecture.title,
        "layers": layer_names(architecture),
        "parameters": parameter_count(architecture),
        "steps_per_epoch": config.steps_per_epoch,
        "total_steps": config.total_steps,
    }
    return JSONBytes(body, status_code=202)


@router.get("/jobs/{job_id}", summary="A run's status and progress", responses={404: NO_JOB})
def training_status(job_id: JobId, lab: LabDep) -> Response:
    """`status` (queued, running, done, failed, cancelled), `progress` from 0 to 1."""
    return JSONBytes(ticket_urls(lab.ticket(job_id)))


def resume_point(last_event_id: str | None) -> tuple[int, int]:
    """Where a reconnecting stream resumes: ``entries.snapshots`` of its last event's id."""
    try:
        entries, snapshots = (int(part) for part in (last_event_id or "").split("."))
    except ValueError:
        return 0, 0
    return max(entries, 0), max(snapshots, 0)


@router.get(
    "/jobs/{job_id}/events",
    summary="A run as it learns (server-sent events)",
    responses={200: {"content": {"text/event-stream": {}}}, 404: NO_JOB},
)
async def training_events(
    job_id: JobId,
    lab: LabDep,
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
) -> StreamingResponse:
    """One event per change of the run's state: the job's snapshot (`status`, `progress`)
    with the `history` entries and `snapshots` recorded since the previous event (`from`:
    the index of the first entry sent). The event's id is `entries.snapshots` sent so far:
    a reconnecting browser sends it back (`Last-Event-ID`) and the stream resumes there.
    It ends with the finished run's state."""
    ticket = lab.ticket(job_id)
    entries, snapshots = resume_point(last_event_id)

    async def events() -> AsyncIterator[bytes]:
        async for event in lab.events(ticket, entries, snapshots):
            sent = ".".join(map(str, event["next"]))
            yield f"id: {sent}\n".encode() + b"data: " + dumps(event) + b"\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.delete("/jobs/{job_id}", summary="Cancel a run", responses={404: NO_JOB})
def cancel_training(job_id: JobId, lab: LabDep) -> Response:
    """Withdraw this ticket's claim: the run stops at its next step unless another page
    still follows the same run."""
    return JSONBytes(ticket_urls(lab.cancel(job_id)))


@router.get(
    "/jobs/{job_id}/result",
    summary="A finished run",
    responses={404: NO_JOB, 409: NOT_FINISHED},
)
async def training_result(job_id: JobId, lab: LabDep, pool: Pool) -> Response:
    """`network` (the trained network's name, served at `/networks/{network}` while the
    server keeps it; null if the run diverged), `title`, `config`, `layers`, `parameters`,
    `seconds`, `diverged` (`step`, `epoch`, `loss`: where the loss stopped being a number),
    `heldout_accuracy`, the whole `history` and `snapshots`, and `report`: `accuracy`,
    `per_digit`, `confusion` (rows: the true digit, columns: the prediction) and the worst
    `mistakes` (the wrong answers it was surest of, each with its `png`); `explore` and
    `weights` are the trained network's page and weights."""
    ticket = lab.ticket(job_id)
    if not ticket.finished:
        raise HTTPException(409, detail=f"The run is {ticket.status} ({ticket.progress:.0%}); wait")
    if ticket.status == "cancelled":
        raise HTTPException(409, detail="The run was cancelled; start it again")
    content = await pool.run(lambda: dumps(lab.result(ticket).to_dict()))
    return Response(content, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get(
    "/networks/{name}/weights",
    summary="A trained network's weights (safetensors)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 404: NO_NETWORK},
)
async def trained_weights(name: NetworkName, lab: LabDep, pool: Pool) -> Response:
    """The state dict as a safetensors file (`safetensors.torch.load_file` reads it; its
    header's `convscope` metadata holds the run's settings and held-out accuracy)."""
    content = await pool.run(lab.weights, name)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}.safetensors"'},
    )
