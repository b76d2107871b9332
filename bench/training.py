"""The training lab (``/training``): its instrumented loop against the loop a student
writes, one LeNet-5 epoch on 4,000 digits, and the memory of several runs at once.

- **Instrumented against plain.** ``app.nets.lab.loop.train`` (every step's gradient norm
  and update ratio per layer, 40 snapshots of the first layer's filters and the watched
  digits' answers, the held-out accuracy at the epoch's end) against :func:`plain_epoch`,
  the loop of a lecture's notebook with the same seeding and the same held-out accuracy at
  the epoch's end, timed in turns (``bench.common.turns``: a busy machine slows both alike);
  the ratio is the median of the rounds' ratios (goal ≤ 1.1×). The two compute the same
  losses, checked here too. Cases: LeNet-5 with the page's defaults for one epoch on the
  4,000 training digits (125 steps: the lab's own number for "one epoch"), and the plain
  20-layer CNN (20 layers recorded per step) on 1,000 digits.
- **Several students at once.** A :class:`~app.services.training.lab.TrainingLab` with the
  default ``training_max_active`` (N) trains N runs of the largest network the limits allow
  (32 layers, batches of 256) at once; the process's resident memory is sampled before and
  during, and one more run is refused (503) while they train.

``OMP_NUM_THREADS`` sets the torch threads of the loops timed here (the lab's own runs use
``CONVSCOPE_TORCH_THREADS``, one by default).
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F

from app.nets.lab.config import DEFAULTS, TrainingConfig, parse_config
from app.nets.lab.data import LabData, lab_data
from app.nets.lab.loop import make_optimizer, train
from app.runtime.workers import PoolBusy
from app.services.training.lab import TrainingLab
from app.settings import Settings
from bench.common import median_ratio, size, table, turns

CASES: list[tuple[str, dict[str, Any]]] = [
    ("LeNet-5, page defaults, 4,000 digits", {"epochs": 1}),
    ("Plain CNN, 20 layers, 1,000 digits", {"network": "deep", "depth": 20, "digits": 1000,
                                            "epochs": 1}),
]  # fmt: skip
#: Rounds of each pair (``BENCH_TRAINING_ROUNDS``): on a busy machine one round's ratio of
#: wall times ranged from 0.87 to 1.58, so the CPU time each loop used is measured too.
ROUNDS = int(os.environ.get("BENCH_TRAINING_ROUNDS", "9"))


def plain_epoch(config: TrainingConfig, data: LabData) -> tuple[list[float], float]:
    """One epoch of the loop a student writes (Adam or SGD with momentum, the cosine
    schedule, the lab's seeding), then the held-out accuracy: (losses, accuracy)."""
    torch.manual_seed(config.seed)
    model = config.architecture.builder()
    optimizer = make_optimizer(model, config)  # torch's Adam, or SGD with momentum
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.total_steps)
    generator = torch.Generator().manual_seed(config.seed)
    chosen = data.subset(config.digits)
    losses = []
    model.train()
    for batch in chosen[torch.randperm(len(chosen), generator=generator)].split(config.batch_size):
        loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(x).argmax(1) for x in data.test_x.split(500)])
    return losses, float((predicted == data.test_y).float().mean())


def loop_rows() -> list[list[str]]:
    rows = []
    for name, fields in CASES:
        config = parse_config({**fields, "schedule": "cosine"})
        data = lab_data(config.architecture.preprocess)
        warm = replace(config, digits=100)
        train(warm, data)  # first calls: allocations, kernels
        plain_epoch(warm, data)
        cpu: dict[str, list[float]] = {"lab": [], "plain": []}
        times = turns(
            {"lab": cpu_timed(cpu["lab"], partial(train, config, data)),
             "plain": cpu_timed(cpu["plain"], partial(plain_epoch, config, data))},
            repeat=ROUNDS, warmup=0, budget_s=0.0,
        )  # fmt: skip
        outcome = train(config, data)
        losses, accuracy = plain_epoch(config, data)
        same = len(losses) == config.total_steps and all(
            math.isclose(e["loss"], loss, rel_tol=1e-5)
            for e, loss in zip(outcome.history, losses, strict=True)
        )
        lab_cpu = statistics.median(cpu["lab"])
        rows.append([
            name, str(config.total_steps), f"{statistics.median(times['plain']) / 1000:.2f}",
            f"{statistics.median(times['lab']) / 1000:.2f}",
            f"{median_ratio(times['lab'], times['plain']):.3f}×",
            f"{statistics.median(cpu['plain']):.2f}", f"{lab_cpu:.2f}",
            f"{median_ratio(cpu['lab'], cpu['plain']):.3f}×",
            f"{config.total_steps / lab_cpu:.0f}", f"{100 * accuracy:.1f}%",
            "yes" if same else "NO",
        ])  # fmt: skip
    return rows


def cpu_timed(seconds: list[float], fn: Callable[[], object]) -> Callable[[], object]:
    """``fn``, appending the CPU time it used (this process, every thread) to ``seconds``."""

    def run() -> object:
        started = time.process_time()
        value = fn()
        seconds.append(time.process_time() - started)
        return value

    return run


def resident_bytes() -> int:
    """This process's resident memory (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * 4096


def memory_row() -> list[str]:
    """N runs of the largest network at once in a lab; memory sampled every 20 ms."""
    settings = Settings(device="cpu", preload_models=False)
    lab = TrainingLab(settings)
    n = settings.training_max_active
    fields = {"network": "deep", "depth": settings.training_max_depth, "residual": True,
              "batch_size": 256, "digits": 520, "epochs": 1}  # fmt: skip
    lab_data(parse_config(fields).architecture.preprocess)
    before = peak = resident_bytes()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.02):
            peak = max(peak, resident_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    tickets = [lab.start(parse_config({**fields, "seed": seed})) for seed in range(n)]
    try:
        lab.start(parse_config({**fields, "seed": n}))
        refused = "no"
    except PoolBusy:
        refused = "503"
    while not all([lab.ticket(t.id).finished for t in tickets]):  # each looked at: followed
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    statuses = {t.status for t in tickets}
    lab.close()
    return [
        f"{n} × residual CNN, {fields['depth']} layers, batches of 256", f"{n + 1}th: {refused}",
        size(before), size(peak), size((peak - before) // n), f"{seconds:.0f}",
        ", ".join(sorted(statuses)),
    ]  # fmt: skip


def run() -> None:
    print(f"\nTraining lab: DEFAULTS {DEFAULTS.optimizer}, lr {DEFAULTS.lr}, batch "
          f"{DEFAULTS.batch_size}; {torch.get_num_threads()} torch threads")  # fmt: skip
    table(
        "The lab's loop against a plain PyTorch loop (one epoch each, timed in turns: wall "
        "and CPU s, medians; × = median ratio; goal ≤ 1.1×)",
        ["case", "steps", "plain", "lab", "lab/plain", "plain CPU", "lab CPU", "lab/plain CPU",
         "steps/CPU s", "held out", "same losses"],
        loop_rows(),
    )  # fmt: skip
    table(
        "Several runs at once (the lab's limit; one more is refused)",
        ["runs", "one more", "memory before", "peak", "per run", "s", "status"],
        [memory_row()],
    )
