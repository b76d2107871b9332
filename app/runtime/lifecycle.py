"""What the app computes with, started and stopped with it: the device, the bounded compute
pool, the jobs (shared with the other replicas when the app has a shared state), the shared
state's heartbeat, and the zoo's models loaded in the background so that no request waits
for weights (``state.models_ready`` says when they are: ``/readyz``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

import torch

from app.explain.saliency.gradcam import GradCam
from app.nets.registry import get_model_spec, get_network, list_models
from app.runtime.device import resolve_device
from app.runtime.jobs import Jobs
from app.runtime.shared_jobs import SharedJobs
from app.runtime.state import SharedState
from app.runtime.workers import ComputePool, Cores
from app.settings import Settings

log = logging.getLogger("uvicorn.error.lifecycle")


def preload_models(device: torch.device, stop: threading.Event | None = None) -> None:
    """Build every trained model of the zoo on ``device``, its architecture table, its copy
    with BatchNorm folded and that copy's traced passes, once; between two models, give up
    if ``stop`` is set (the app is shutting down). Untrained networks (the classic
    architectures, random weights) are built when first used: their pages need only their
    architecture, traced here without weights."""
    for name in list_models():
        if stop is not None and stop.is_set():
            return
        spec = get_model_spec(name)
        if spec.trained:
            network = get_network(name, device)
            network.summary  # noqa: B018 (computed once, then kept)
            network.folded  # noqa: B018 (the copy saliency runs on, app.nets.fold)
            network.for_passes  # noqa: B018 (its traced pass, app.nets.traced)
            with suppress(ValueError):  # and Grad-CAM's, at its default layer
                GradCam.build(network, torch.empty(0), GradCam.resolve(network, {}))
        else:
            spec.summary  # noqa: B018


@contextmanager
def running(state: Any, settings: Settings) -> Iterator[None]:
    """Set ``state.device``, ``state.pool``, ``state.jobs`` and ``state.models_ready`` for
    the app's lifetime.

    Two lanes: requests compute in ``state.pool``; jobs run in a pool of their own
    (``job_workers`` threads, as many waiting as ``jobs_max_active``), so a request for a
    trace or a prediction never queues behind a lecture hall's SmoothGrads. With a shared
    state (``state.shared``, :mod:`app.runtime.state`) the jobs are
    :class:`~app.runtime.shared_jobs.SharedJobs` and the replica keeps its heartbeat."""
    state.device = resolve_device(settings.device)
    cores = getattr(state, "cores", None) or Cores(settings.torch_threads,
                                                   settings.torch_threads_alone)  # fmt: skip
    state.cores = cores  # both lanes share it
    state.pool = ComputePool(
        settings.compute_workers, settings.compute_queue, settings.retry_after_s,
        cores=cores,
    )  # fmt: skip
    state.job_pool = ComputePool(
        settings.job_workers, settings.jobs_max_active, settings.retry_after_s,
        cores=cores,
    )  # fmt: skip
    shared: SharedState | None = getattr(state, "shared", None)
    jobs = Jobs if shared is None else partial(SharedJobs, state=shared)
    state.jobs = jobs(
        state.job_pool,
        max_active=settings.jobs_max_active,
        result_items=settings.job_results,
        result_bytes=settings.job_result_bytes,
        abandon_after_s=settings.job_abandon_after_s,
    )
    if shared is not None:
        shared.start()
        with suppress(RuntimeError):  # the app's loop, when run by its lifespan
            state.jobs.loop = asyncio.get_running_loop()
    stop = threading.Event()
    state.models_ready = ready = threading.Event()

    def preload_all() -> None:
        try:
            preload_models(state.device, stop)
        except Exception:
            log.exception("loading the models failed: /readyz says not ready")
            return
        if not stop.is_set():
            ready.set()

    preload = threading.Thread(target=preload_all, name="convscope-preload", daemon=True)
    if settings.preload_models:
        preload.start()
    else:
        ready.set()  # each model loads when first asked for
    try:
        yield
    finally:
        # A process that exits while torch builds a model in another thread aborts
        # ("terminate called without an active exception"): let that model finish.
        stop.set()
        if preload.is_alive():
            preload.join(timeout=60)
        state.pool.shutdown()
        state.job_pool.shutdown()
        cores.shutdown()
        if shared is not None:
            shared.stop()
