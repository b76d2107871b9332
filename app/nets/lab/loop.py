"""The training lab's loop: a plain PyTorch training loop that also records what a lecture
shows while a network learns.

Each step is exactly the loop a student would write (seeded from ``config.seed``: the
weights' initialisation from torch's global generator, then the digits' order and the
augmentation from a generator of their own)::

    torch.manual_seed(seed); model = build(); optimizer = Adam(...) or SGD(..., momentum=0.9)
    for epoch: for batch in positions[randperm(n)].split(batch_size):
        loss = cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(); loss.backward(); optimizer.step(); schedule.step()

so a run's losses are a plain loop's losses. On top of it, without changing any tensor the
step uses, it records:

- a **history entry** per logged step (every step, or every k-th so that a run keeps at
  most :data:`MAX_ENTRIES`; always the last step of an epoch): ``step``, ``epoch``, the mean
  training ``loss`` since the previous entry, the learning rate ``lr`` the step used, each
  layer's ``grad_norms`` and ``update_ratios`` (:mod:`.probes`); at an epoch's end also
  ``heldout_accuracy`` and ``heldout_loss`` on the 1,000 held-out digits;
- a **snapshot** at the start and then up to :data:`MAX_SNAPSHOTS` times in a run (and
  at its last step): the first layer's filters and the predictions for a few held-out
  digits (:data:`WATCHED`). A snapshot passes those 10 digits forward, so a run takes one
  at most every :data:`DIGITS_PER_SNAPSHOT` training digits: a few per cent of the
  training's time, even for a short run of a deep network.

A loss that is not finite (a learning rate too large: the weights overflowed) ends the run
there as **diverged**, with the step it happened at; it is a result, not an error. Progress
goes to ``progress`` before every step (a job cancels the run there).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from app.explain.progress import Progress, report
from app.nets.lab.config import MOMENTUM, TrainingConfig
from app.nets.lab.data import LabData
from app.nets.lab.probes import LayerProbe
from app.nets.training import Recipe, augment

MAX_ENTRIES = 1000
MAX_SNAPSHOTS = 40
DIGITS_PER_SNAPSHOT = 160
#: Held-out digits whose predictions the page shows as the network learns: the first of
#: each digit (positions in the 1,000 held-out digits; they are ``static/samples/mnist-*``).
WATCHED = tuple(range(0, 1000, 100))
#: The augmentation's amounts: the zoo's recipe (rotation ±10°, scale 0.9–1.1, shift ±2 px).
AUGMENTATION = Recipe()
EVAL_BATCH = 500


class Recorder(Protocol):
    """Where the loop sends what it records, as it records it."""

    def entry(self, entry: dict[str, Any]) -> None: ...

    def snapshot(self, snapshot: dict[str, Any]) -> None: ...


class Ignore:
    """A recorder that keeps nothing (the outcome still has everything)."""

    def entry(self, entry: dict[str, Any]) -> None:
        pass

    def snapshot(self, snapshot: dict[str, Any]) -> None:
        pass


@dataclass
class Outcome:
    """A finished (or diverged) run: the trained model and everything recorded."""

    model: nn.Module = field(repr=False)
    layers: list[str]
    history: list[dict[str, Any]]
    snapshots: list[dict[str, Any]]
    diverged: dict[str, Any] | None
    seconds: float
    #: (1000, 10) the held-out digits' probabilities after the last step (``None`` if the
    #: run diverged): what the held-out report is made of, without another pass
    probabilities: torch.Tensor | None = field(default=None, repr=False)


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    """Adam (Kingma and Ba 2015) or SGD with momentum 0.9, at ``config.lr``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=MOMENTUM)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def make_schedule(
    optimizer: torch.optim.Optimizer, config: TrainingConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A cosine decay to 0 over every step of the run (Loshchilov and Hutter 2017), or none."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.total_steps)
    return None


@torch.no_grad()
def held_out(
    model: nn.Module, data: LabData, device: torch.device
) -> tuple[float, float, torch.Tensor]:
    """(accuracy, mean cross-entropy, the (1000, 10) probabilities on the CPU) on the 1,000
    held-out digits, in eval mode."""
    model.eval()
    logits = torch.cat([model(x.to(device)).cpu() for x in data.test_x.split(EVAL_BATCH)])
    model.train()
    accuracy = float((logits.argmax(1) == data.test_y).double().mean())
    loss = float(F.cross_entropy(logits, data.test_y))
    return accuracy, loss, logits.softmax(1)


@torch.no_grad()
def snapshot(model: nn.Module, watched: torch.Tensor, step: int, epoch: float) -> dict[str, Any]:
    """The first layer's filters and the watched digits' predictions now."""
    first = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    model.eval()
    probabilities = model(watched).softmax(1)  # (len(WATCHED), 10)
    model.train()
    confidence, predicted = probabilities.max(1)
    return {
        "step": step,
        "epoch": epoch,
        "filters": first.weight[:, 0].tolist(),  # (C_out, kh, kw): one input channel
        "predictions": [
            {"predicted": int(p), "probability": float(c)}
            for p, c in zip(predicted.tolist(), confidence.tolist(), strict=True)
        ],
    }


#: One seeded initialisation at a time: torch's global generator is the process's, and two
#: runs starting together (a comparison's A and B) would draw from each other's seeds.
_INIT = threading.Lock()


def initial_model(config: TrainingConfig) -> nn.Module:
    """``config``'s network with the initial weights its seed gives, whatever else runs: the
    seeded draws hold the lock, on a copy of the global generator's state that is put back
    afterwards."""
    with _INIT, torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return config.architecture.builder()


def train(
    config: TrainingConfig,
    data: LabData,
    *,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
    recorder: Recorder | None = None,
) -> Outcome:
    """Train ``config``'s network from scratch on ``data`` (see the module docstring)."""
    started = time.perf_counter()
    device = torch.device(device)
    recorder = recorder or Ignore()
    model = initial_model(config).to(device)
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(optimizer, config)
    generator = torch.Generator().manual_seed(config.seed)
    chosen = data.subset(config.digits)
    probe = LayerProbe(model)
    total, per_epoch = config.total_steps, config.steps_per_epoch
    log_every = math.ceil(total / MAX_ENTRIES)
    snap_every = max(
        math.ceil(total / MAX_SNAPSHOTS), math.ceil(DIGITS_PER_SNAPSHOT / config.batch_size)
    )
    watched = data.test_x[list(WATCHED)].to(device)  # (10, 1, H, W)
    history: list[dict[str, Any]] = []
    snapshots = [snapshot(model, watched, 0, 0.0)]
    recorder.snapshot(snapshots[0])
    diverged: dict[str, Any] | None = None
    probabilities: torch.Tensor | None = None  # the held-out digits' at the last epoch's end
    step, losses = 0, 0.0  # losses: summed since the last entry
    model.train()
    for epoch in range(1, config.epochs + 1):
        order = chosen[torch.randperm(len(chosen), generator=generator)]
        for batch in order.split(config.batch_size):
            report(progress, step / total)
            x = (
                data.preprocess.scale(augment(data.train_unit[batch], AUGMENTATION, generator))
                if config.augment
                else data.train_x[batch]
            )  # (B, 1, H, W)
            loss = F.cross_entropy(model(x.to(device)), data.train_y[batch].to(device))
            optimizer.zero_grad()
            loss.backward()
            step += 1
            value = loss.item()
            losses += value
            logged = step % log_every == 0 or step % per_epoch == 0
            if not math.isfinite(value):
                diverged = {"step": step, "epoch": epoch, "loss": str(value)}
            entry: dict[str, Any] = {"step": step, "epoch": epoch}
            if logged or diverged:
                entry["grad_norms"] = probe.gradient_norms()
            if logged and not diverged:
                probe.remember()
            entry["lr"] = optimizer.param_groups[0]["lr"]
            if diverged:
                history.append({**entry, "loss": None, "update_ratios": None})
                recorder.entry(history[-1])
                break
            optimizer.step()
            if schedule is not None:
                schedule.step()
            if logged:
                entry["loss"] = losses / (step - (history[-1]["step"] if history else 0))
                entry["update_ratios"] = probe.update_ratios()
                losses = 0.0
                if step % per_epoch == 0:
                    accuracy, heldout_loss, probabilities = held_out(model, data, device)
                    entry["heldout_accuracy"], entry["heldout_loss"] = accuracy, heldout_loss
                history.append(entry)
                recorder.entry(entry)
            if step % snap_every == 0 or step == total:
                snapshots.append(snapshot(model, watched, step, step / per_epoch))
                recorder.snapshot(snapshots[-1])
        if diverged:
            break
    report(progress, 1.0)
    seconds = time.perf_counter() - started
    if diverged:
        probabilities = None
    return Outcome(model, probe.names, history, snapshots, diverged, seconds, probabilities)
