"""Run-time settings, read from ``CONVSCOPE_*`` environment variables (pydantic-settings).

Handlers get them through the cached :func:`get_settings` dependency, which tests override.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def memory_share(fraction: int, low: int = 512 * 2**20, high: int = 4 * 2**30) -> int:
    """``1/fraction`` of the machine's memory in bytes, kept between ``low`` and ``high``
    (``low`` where the machine does not say)."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return low
    return min(high, max(low, physical // fraction))


#: The repository root: ``templates/``, ``static/`` and ``models/`` live beside ``app/``.
ROOT = Path(__file__).resolve().parent.parent

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


class Settings(BaseSettings):
    """Everything an operator can change without touching code."""

    model_config = SettingsConfigDict(env_prefix="CONVSCOPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    device: DeviceName = "auto"

    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"
    model_dir: Path = ROOT / "models"

    #: Largest JSON request body, in bytes; bigger bodies get 413 before they are read.
    max_json_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    #: Largest upload (multipart) body, in bytes.
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    #: Path prefixes whose requests carry uploads (multipart images) rather than JSON.
    upload_prefixes: tuple[str, ...] = ("/api/images", "/api/models")
    #: Most parts a multipart upload may have (the image and a few small fields).
    max_upload_parts: int = Field(8, ge=1, le=1000)
    #: Largest image, in pixels (width × height), read from the file's header before any
    #: pixel is decoded; larger images get 413.
    max_image_pixels: int = Field(25_000_000, ge=1)

    #: Decoded uploads kept in memory, keyed by content hash; the least recently used go
    #: first when either bound is reached (an evicted id is a 404: the page uploads again).
    #: Sized by memory (an eighth of the machine's, from 512 MB to 4 GB), not by a count: a
    #: lecture of 300 students, each with a photo of their own, never evicts one.
    image_cache_items: int = Field(100_000, ge=1)
    image_cache_bytes: int = Field(default_factory=lambda: memory_share(8), ge=1024 * 1024)
    #: Kernels are applied at full size up to this many pixels; larger images are first
    #: downscaled (area average) to fit, and the page says so.
    kernel_max_pixels: int = Field(4_194_304, ge=1024)
    #: Kernel outputs kept for the hover detail, in bytes (recomputed when evicted).
    kernel_cache_bytes: int = Field(256 * 1024 * 1024, ge=1024 * 1024)
    #: Longest side of the images sent to the browser; larger ones are downscaled for display.
    display_max_side: int = Field(1024, ge=64, le=8192)

    #: Images preprocessed for a model (the network explorer asks for the prediction, the
    #: picture and each layer's maps of the same image), kept by (model, image id).
    model_input_cache_items: int = Field(256, ge=1)
    model_input_cache_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    #: Answers that depend only on their question (a prediction, a layer's maps, a unit's
    #: computation, the picture a network sees), kept as the bytes sent: a lecture hall
    #: asking about the same sample is answered from memory after the first request.
    answer_cache_items: int = Field(4096, ge=1)
    answer_cache_bytes: int = Field(256 * 1024 * 1024, ge=1024 * 1024)
    #: Load every model of the zoo when the app starts (in a background thread), so that the
    #: first request for a model does not wait for its weights.
    preload_models: bool = True

    #: Threads that answer requests' computations (traces, pictures, predictions, a layer's
    #: maps), and how many requests may wait for one.
    compute_workers: int = Field(2, ge=1, le=64)
    compute_queue: int = Field(32, ge=0, le=10_000)
    #: Threads that run jobs (SmoothGrad, Integrated Gradients, occlusion, maximisation, top
    #: digits): a lane of their own, so that a request never waits behind a long job.
    job_workers: int = Field(2, ge=1, le=64)
    #: Seconds a client is told to wait (Retry-After) when the queue is full.
    retry_after_s: int = Field(2, ge=1)
    #: Intra-op threads torch may use per computation in a worker while others run too (0:
    #: torch's default, every core). One each by default: the workers of the two lanes are
    #: the parallelism, and a lecture hall's requests then do not fight over the cores
    #: (``python -m bench load``).
    torch_threads: int = Field(1, ge=0, le=256)
    #: ... and for a computation that is the server's only work, on the one thread that
    #: may use more than one (0: every core); see :class:`app.runtime.workers.Cores` for
    #: what was measured.
    torch_threads_alone: int = Field(0, ge=0, le=256)

    #: Long computations (jobs: saliency maps, activation maximisation) queued or running at
    #: once, beyond which a new one is 503 (64: a lecture hall's burst of Grad-CAMs on new
    #: uploads waits here, computed eight at a time, instead of being refused); finished
    #: results kept (count and bytes) so that a repeated request is answered at once; and
    #: seconds after which a job nobody asks about any more (a closed tab) stops.
    jobs_max_active: int = Field(64, ge=1, le=10_000)
    job_results: int = Field(1024, ge=1)
    job_result_bytes: int = Field(256 * 1024 * 1024, ge=1024 * 1024)
    job_abandon_after_s: float = Field(15.0, gt=0)
    #: The training lab (``/training``): trainings at once, each on a thread of a lane of its
    #: own (beyond: 503 with Retry-After; the same settings share one run); the most epochs
    #: and the deepest network a run may ask for; the trained networks kept for the explorer
    #: until the server stops (the least recently used forgotten first).
    training_max_active: int = Field(4, ge=1, le=64)
    training_max_epochs: int = Field(20, ge=1, le=1000)
    training_max_depth: int = Field(32, ge=4, le=200)
    training_networks: int = Field(16, ge=1, le=10_000)

    #: The HTTP server's bounds (:mod:`app.web.server`). Open connections at most (kept
    #: under half the process's open-file limit); at the cap a newcomer closes the oldest
    #: connection still waiting for request headers, or, when every one is busy, gets 503.
    max_connections: int = Field(1024, ge=1)
    #: Seconds a connection may take to send a request's complete headers (the first
    #: request's, and each next one's on a kept-alive connection); then it is closed.
    header_timeout_s: float = Field(10.0, gt=0)
    #: Seconds an idle kept-alive connection stays open with nothing received.
    keep_alive_timeout_s: int = Field(5, ge=1)
    #: Connections the kernel queues before the server accepts them (listen backlog).
    listen_backlog: int = Field(1024, ge=1, le=65535)
    #: Repeated log lines (connection errors, refusals, accept errors) are written once per
    #: this many seconds, followed by one line with the count of those left out.
    log_summary_s: float = Field(10.0, gt=0)

    #: Replicas behind a load balancer share uploads, jobs, results and answers through Redis
    #: (:mod:`app.runtime.state`) at this URL, e.g. ``redis://127.0.0.1:6379/0``. Unset (the
    #: default): everything stays in this process, as one server needs.
    redis_url: str | None = None
    #: Seconds an upload's bytes, and a finished result or answer, stay in Redis after their
    #: last use; Redis's own ``maxmemory`` (least recently used first) bounds their total.
    redis_image_ttl_s: int = Field(6 * 3600, ge=10)
    redis_result_ttl_s: int = Field(3600, ge=10)
    #: A replica that has not renewed its heartbeat for this long is taken for dead, and the
    #: jobs it was computing are picked up by a replica whose clients follow them.
    redis_lease_s: float = Field(5.0, ge=0.5, le=600)
    #: Seconds one call to Redis may take; past it Redis counts as unreachable (the replica
    #: serves from its own memory, and tries again every second).
    redis_timeout_s: float = Field(1.0, gt=0, le=60)

    def upload_paths(self) -> dict[str, int]:
        """Body limits by path prefix: uploads may be larger than JSON requests."""
        return dict.fromkeys(self.upload_prefixes, self.max_upload_bytes)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (a FastAPI dependency; tests override it)."""
    return Settings()
