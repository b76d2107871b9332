"""A lecture hall on one server (issue 12): simulated students against a real ``convscope
serve`` (default settings, a process of its own, on 127.0.0.1), for a bounded time.

``python -m bench load [--students 150,300,500] [--seconds 90] [--ramp 10] [--seed 0]``
(``--url http://127.0.0.1:PORT``: a server that is already running, on this machine only;
``--replicas N``: N replicas sharing their state through Redis behind nginx, all on this
machine, as :mod:`bench.cluster` starts them; the students go through nginx).

Each student joins during the first ``--ramp`` seconds (evenly spread), opens a page, then
loops until the time is up: think 1–3 s (seeded per student), do one thing (weights:
page 35, trace 35, predict 10, saliency 10, Grad-CAM 10):

- ``page``: GET a lesson page or ``/networks/efficientnet-lite0`` (the HTML only);
- ``trace``: ``POST /api/convolution``, the lecture's sharpen example (5×5 ⋆ 3×3), or one
  time in ten a 3×32×32 input with a 3×3×3 kernel;
- ``predict``: ``POST /api/models/efficientnet-lite0/predict`` on ``sample-chelsea``;
- ``saliency``: the gradient map of ``sample-chelsea`` (everyone asks for the same one);
- once, early on, ``upload``: a small PNG of its own (64×64 noise, unique per student),
  then ``grad-cam`` on it; later ``grad-cam`` again on the same id, never uploading again,
  so that an upload evicted by other students' uploads shows as a 404.

A 503 is waited out as the pages do (``Retry-After`` seconds, at most 10 s, at most 5
attempts) and counted as *shed*, not as an error; every other status ≥ 400, every
transport error or timeout and a request still refused after 5 attempts is an *error*, by
kind. Latencies are those of answered attempts (503s left out: they are quick and would
flatter the figures); ``e2e p95`` is from a request's first attempt to its answer,
waits included.

The client is one asyncio event loop (httpx, one connection pool as large as the class)
on the same machine as the server, as in the issue; its multipart bodies are built once
and answers are read without being decoded, which keeps it near 1–2 ms of CPU a request.
Its own cost is printed with every level: its CPU time and how late its event loop runs
(a 50 ms ticker): when the ticker runs late, the latencies include the client's own delay
(or the machine's: the load average is printed too).

Goals: up to 300 students no errors, under 2 % shed, page and trace p95 ≤ 300 ms, model
work (predict, saliency, upload, Grad-CAM) p95 ≤ 2 s; above 300, no errors: the server
degrades only by 503 with ``Retry-After``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import io
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx2 as httpx
import orjson
from PIL import Image

from app.ops.presets.convolution import CONVOLUTION
from app.web.lessons import LESSONS
from bench.common import server_process, table

MODEL = "efficientnet-lite0"
SAMPLE = "sample-chelsea"
PAGES = [*sorted({lesson.href for lesson in LESSONS}), f"/networks/{MODEL}"]
CATEGORIES = ("page", "trace", "predict", "saliency", "upload", "grad-cam")
#: What a student does between its upload and the end, by weight.
MIX = {"page": 35, "trace": 35, "predict": 10, "saliency": 10, "grad-cam": 10}
MODEL_WORK = ("predict", "saliency", "upload", "grad-cam")

THINK_S = (1.0, 3.0)
ATTEMPTS = 5  # as static/js/lib/api.js
WAIT_CAP_S = 10.0
TIMEOUT_S = 60.0
DRAIN_S = 30.0  # after the time is up, how long answers still in flight are awaited

GOAL_STUDENTS = 300
GOAL_SHED = 2.0
GOAL_LIGHT_MS = 300.0
GOAL_MODEL_MS = 2000.0

DEFAULT_SERIES = (150, 300, 500)
JSON = {"content-type": "application/json", "accept-encoding": "gzip"}
BOUNDARY = "convscope-load-8d1f"
FORM = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def form(name: str, value: bytes, filename: str = "", media: str = "") -> bytes:
    """A multipart body of one field (a file when ``filename`` is given), built once: the
    client's cost per request stays small."""
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\ncontent-disposition: {disposition}\r\n"
    if media:
        head += f"content-type: {media}\r\n"
    return head.encode() + b"\r\n" + value + f"\r\n--{BOUNDARY}--\r\n".encode()


SAMPLE_FORM = form("image_id", SAMPLE.encode())


def _sharpen() -> bytes:
    preset = CONVOLUTION["sharpen"]
    return orjson.dumps({"input": preset.input, **preset.settings})


def _large(rng: random.Random) -> bytes:
    """A 3×32×32 input and a 3×3×3 kernel: 900 outputs of 27 products each."""
    x = [[[round(rng.random(), 2) for _ in range(32)] for _ in range(32)] for _ in range(3)]
    k = [[[round(rng.uniform(-1, 1), 2) for _ in range(3)] for _ in range(3)] for _ in range(3)]
    return orjson.dumps({"input": x, "kernel": k, "padding": 0})


def student_png(index: int, seed: int) -> bytes:
    """A 64×64 PNG of noise, different for every student (uploads are keyed by content)."""
    rng = random.Random(f"png-{seed}-{index}")
    image = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Stats:
    """What one level measured."""

    latency: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    e2e: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    attempts: Counter[str] = field(default_factory=Counter)
    shed: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    evicted: set[int] = field(default_factory=set)  # students whose upload went missing
    lag_ms: list[float] = field(default_factory=list)
    answered_in_time: int = 0  # attempts answered before the time was up


@dataclass
class Level:
    students: int
    seconds: float
    ramp: float
    seed: int


class Hall:
    """The students of one level, sharing one connection pool."""

    def __init__(self, client: httpx.AsyncClient, level: Level) -> None:
        self.client = client
        self.level = level
        self.stats = Stats()
        self.start = 0.0
        self.end = 0.0
        rng = random.Random(level.seed)
        self.sharpen = _sharpen()
        self.large = [_large(rng) for _ in range(8)]
        self.pngs = [student_png(i, level.seed) for i in range(level.students)]

    async def call(
        self,
        category: str,
        method: str,
        url: str,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes] | None:
        """One request as a page makes it, 503s waited out: the status and the body (raw:
        as it came, gzipped or not), or None when there is no answer to use."""
        stats = self.stats
        first = time.perf_counter()
        for attempt in range(1, ATTEMPTS + 1):
            stats.attempts[category] += 1
            t0 = time.perf_counter()
            try:
                # streamed, the body read and not decoded: the client's work stays small
                async with self.client.stream(method, url, content=content, headers=headers) as r:
                    body = b"".join([chunk async for chunk in r.aiter_raw()])
                    response = r
            except httpx.TimeoutException:
                stats.errors[f"timeout ({category})"] += 1
                return None
            except httpx.TransportError as exc:
                stats.errors[f"{type(exc).__name__} ({category})"] += 1
                return None
            except asyncio.CancelledError:  # still unanswered when the drain ran out
                stats.errors[f"unanswered at the end ({category})"] += 1
                raise
            done = time.perf_counter()
            if done <= self.end:
                stats.answered_in_time += 1
            if response.status_code == 503:
                stats.shed[category] += 1
                retry_after = response.headers.get("retry-after", "")
                if not retry_after.isdigit():
                    stats.errors[f"503 without Retry-After ({category})"] += 1
                    return None
                if attempt == ATTEMPTS:
                    stats.errors[f"503 ×{ATTEMPTS}, gave up ({category})"] += 1
                    return None
                wait = min(float(retry_after), WAIT_CAP_S)
                if time.perf_counter() + wait > self.end:
                    return None  # the lecture is over
                await asyncio.sleep(wait)
                continue
            stats.latency[category].append((done - t0) * 1000)
            if response.status_code >= 400:
                stats.errors[f"{response.status_code} ({category})"] += 1
            else:
                stats.e2e[category].append((done - first) * 1000)
            return response.status_code, body
        return None  # unreachable

    async def student(self, index: int) -> None:
        rng = random.Random(f"student-{self.level.seed}-{index}")
        await asyncio.sleep(
            max(
                0.0,
                self.start + self.level.ramp * index / self.level.students - time.perf_counter(),
            )
        )
        upload_at = rng.randint(1, 4)
        own: str | None = None
        step = 0
        while time.perf_counter() < self.end:
            if step == 0:
                await self.page(rng)
            elif step == upload_at:
                own = await self.upload(index)
                if own is not None:
                    await self.grad_cam(index, own)
            else:
                mix = {k: w for k, w in MIX.items() if k != "grad-cam" or own is not None}
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                if kind == "page":
                    await self.page(rng)
                elif kind == "trace":
                    body = self.sharpen if rng.random() >= 0.1 else rng.choice(self.large)
                    await self.call("trace", "POST", "/api/convolution", content=body, headers=JSON)
                elif kind == "predict":
                    await self.call(
                        "predict", "POST", f"/api/models/{MODEL}/predict", SAMPLE_FORM, FORM
                    )
                elif kind == "saliency":
                    await self.call(
                        "saliency",
                        "POST",
                        f"/api/models/{MODEL}/saliency?method=gradient",
                        SAMPLE_FORM,
                        FORM,
                    )
                elif own is not None:
                    await self.grad_cam(index, own)
            step += 1
            think = rng.uniform(*THINK_S)
            await asyncio.sleep(min(think, max(0.0, self.end - time.perf_counter())))

    async def page(self, rng: random.Random) -> None:
        await self.call("page", "GET", rng.choice(PAGES))

    async def upload(self, index: int) -> str | None:
        body = form("image", self.pngs[index], f"student-{index}.png", "image/png")
        answer = await self.call("upload", "POST", "/api/images", body, FORM)
        if answer is None or answer[0] >= 400:
            return None
        body = answer[1]
        return str(orjson.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)["id"])

    async def grad_cam(self, index: int, image_id: str) -> None:
        answer = await self.call(
            "grad-cam",
            "POST",
            f"/api/models/{MODEL}/saliency?method=grad-cam",
            form("image_id", image_id.encode()),
            FORM,
        )
        if answer is not None and answer[0] == 404:
            self.stats.evicted.add(index)

    async def ticker(self) -> None:
        """How late the event loop wakes a 50 ms sleeper: the client's own delay."""
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.05)
            self.stats.lag_ms.append((time.perf_counter() - t0 - 0.05) * 1000)

    async def run(self) -> float:
        """Run the level; the seconds the students ran."""
        self.start = time.perf_counter() + 0.5
        self.end = self.start + self.level.seconds
        ticker = asyncio.create_task(self.ticker())
        students = [asyncio.create_task(self.student(i)) for i in range(self.level.students)]
        _, pending = await asyncio.wait(students, timeout=self.level.seconds + 0.5 + DRAIN_S)
        for task in pending:
            task.cancel()
        ticker.cancel()
        await asyncio.gather(*pending, ticker, return_exceptions=True)
        return self.level.seconds


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(value: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


class ProcessCPU:
    """CPU seconds and peak memory of a process, from /proc (Linux; None elsewhere)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def seconds(self) -> float | None:
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime

    def peak_mb(self) -> float | None:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


def machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine spent busy since boot (Linux; None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(n) for n in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


@dataclass
class Result:
    level: Level
    stats: Stats
    seconds: float
    client_cpu: float
    server_cpu: float | None
    server_peak_mb: float | None
    server_log: list[str]
    machine_cpu: float | None  # the whole machine's busy cores, everyone's work

    @property
    def requests(self) -> int:
        return sum(self.stats.attempts.values())

    @property
    def shed_percent(self) -> float:
        return 100 * sum(self.stats.shed.values()) / max(1, self.requests)

    def p95(self, category: str) -> float:
        return percentile(self.stats.latency[category], 95)

    def failures(self) -> list[str]:
        """Where the goal does not hold (empty: it holds)."""
        errors = sum(self.stats.errors.values())
        out = [f"{errors} errors"] if errors else []
        if self.level.students > GOAL_STUDENTS:
            return out
        if self.shed_percent >= GOAL_SHED:
            out.append(f"shed {self.shed_percent:.1f} %")
        for category in CATEGORIES:
            limit = GOAL_MODEL_MS if category in MODEL_WORK else GOAL_LIGHT_MS
            if self.p95(category) > limit:
                out.append(f"{category} p95 {ms(self.p95(category))} ms")
        return out


async def _level(
    url: str, level: Level, server_pid: int | None
) -> tuple[Stats, float, float, float | None, float | None]:
    limits = httpx.Limits(
        max_connections=level.students + 8,
        max_keepalive_connections=level.students + 8,
        keepalive_expiry=3.0,  # under the server's 5 s: never send on a connection it closes
    )
    timeout = httpx.Timeout(TIMEOUT_S, connect=10.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        hall = Hall(client, level)
        server = ProcessCPU(server_pid) if server_pid else None
        cpu0, server0 = time.process_time(), server.seconds() if server else None
        machine0 = machine_busy_seconds()
        seconds = await hall.run()
        client_cpu = (time.process_time() - cpu0) / seconds
        server1 = server.seconds() if server else None
        server_cpu = (server1 - server0) / seconds if server0 is not None and server1 else None
        machine1 = machine_busy_seconds()
        machine = (machine1 - machine0) / seconds if machine0 is not None and machine1 else None
    return hall.stats, seconds, client_cpu, server_cpu, machine


def _warm(url: str) -> None:
    """The model loaded before the clock starts (the teacher opened the page first)."""
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(60):
            response = client.post(
                f"/api/models/{MODEL}/predict", files={"image_id": (None, SAMPLE)}
            )
            if response.status_code != 503:
                response.raise_for_status()
                return
            time.sleep(1)


@contextlib.contextmanager
def _server(
    url: str | None, replicas: int = 0
) -> Iterator[tuple[str, int | None, IO[bytes] | None]]:
    if url is not None:
        yield url, None, None
        return
    if replicas:
        from bench.cluster import Cluster

        with (
            tempfile.TemporaryDirectory() as folder,
            Cluster(Path(folder), replicas, one_address=True) as cluster,
        ):
            yield cluster.url, None, None
        return
    with tempfile.TemporaryFile() as log, contextlib.ExitStack() as stack:
        try:
            started, process = stack.enter_context(server_process(stderr=log))
        except RuntimeError as exc:
            log.seek(0)
            said = log.read().decode("utf-8", "replace").strip().splitlines()[-5:]
            raise RuntimeError(f"{exc}; it said: {' | '.join(said) or 'nothing'}") from None
        yield started, process.pid, log


def run_level(level: Level, url: str | None = None, replicas: int = 0) -> Result:
    with _server(url, replicas) as (base, pid, log):
        _warm(base)
        stats, seconds, client_cpu, server_cpu, machine = asyncio.run(_level(base, level, pid))
        peak = ProcessCPU(pid).peak_mb() if pid else None
        lines: list[str] = []
        if log is not None:
            log.seek(0)
            lines = log.read().decode("utf-8", "replace").splitlines()
    return Result(level, stats, seconds, client_cpu, server_cpu, peak, lines, machine)


def report(result: Result) -> None:
    s, level = result.stats, result.level
    rows = []
    for category in CATEGORIES:
        latency = s.latency[category]
        rows.append(
            [
                category,
                str(s.attempts[category]),
                str(sum(n for k, n in s.errors.items() if k.endswith(f"({category})"))),
                str(s.shed[category]),
                ms(percentile(latency, 50)),
                ms(percentile(latency, 95)),
                ms(max(latency, default=float("nan"))),
                ms(percentile(s.e2e[category], 95)),
            ]
        )
    table(
        f"Lecture load: {level.students} students, {level.seconds:.0f} s (joining over "
        f"{level.ramp:.0f} s), think {THINK_S[0]:.0f}–{THINK_S[1]:.0f} s, seed {level.seed}",
        ["category", "requests", "errors", "503", "p50 ms", "p95 ms", "max ms", "e2e p95"],
        rows,
    )
    print(
        f"  {result.requests} requests, {s.answered_in_time / result.seconds:.0f}/s answered "
        f"while the students ran; shed (503) {result.shed_percent:.1f} %"
    )
    if s.errors:
        kinds = ", ".join(f"{kind} ×{n}" for kind, n in s.errors.most_common())
        print(f"  errors: {kinds}")
        if s.evicted:
            print(f"  students whose upload was gone (404) later: {len(s.evicted)}")
    cores = [f"server {result.server_cpu:.2f}"] if result.server_cpu is not None else []
    cores.append(f"client {result.client_cpu:.2f}")
    if result.machine_cpu is not None:
        others = result.machine_cpu - result.client_cpu - (result.server_cpu or 0)
        cores.append(f"other processes {max(0.0, others):.2f}")
    cores_text = ", ".join(cores)
    peak = f"; server peak RSS {result.server_peak_mb:.0f} MB" if result.server_peak_mb else ""
    print(
        f"  busy cores (of {os.cpu_count()}): {cores_text}{peak}; the client's event loop "
        f"late by p99 {ms(percentile(s.lag_ms, 99))} ms, max {ms(max(s.lag_ms, default=0))} ms"
    )
    if result.server_log:
        distinct = list(dict.fromkeys(line[:140] for line in result.server_log))
        print(f"  server log: {len(result.server_log)} lines, e.g. " + " | ".join(distinct[:3]))
    failures = result.failures()
    scope = (
        f"≤ {GOAL_STUDENTS}: no errors, shed < {GOAL_SHED:.0f} %, page/trace p95 ≤ "
        f"{GOAL_LIGHT_MS:.0f} ms, model p95 ≤ {GOAL_MODEL_MS / 1000:.0f} s"
        if level.students <= GOAL_STUDENTS
        else f"> {GOAL_STUDENTS}: no errors, only 503 + Retry-After"
    )
    print(f"  goal ({scope}): {'holds' if not failures else 'FAILS: ' + ', '.join(failures)}")


def summary(results: list[Result]) -> None:
    rows = [
        [
            str(r.level.students),
            str(r.requests),
            f"{r.stats.answered_in_time / r.seconds:.0f}",
            str(sum(r.stats.errors.values())),
            f"{r.shed_percent:.1f}",
            *(ms(r.p95(c)) for c in CATEGORIES),
            f"{r.client_cpu:.2f}",
            "holds" if not r.failures() else "fails",
        ]
        for r in results
    ]
    table(
        "Lecture load, all levels (p95 ms of answered attempts)",
        ["students", "requests", "req/s", "errors", "shed %", *CATEGORIES, "client cores", "goal"],
        rows,
    )


def _students(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise argparse.ArgumentTypeError("only a server on this machine (127.0.0.1)")
    return url.rstrip("/")


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench load", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--students",
        type=_students,
        default=list(DEFAULT_SERIES),
        help="students per level, comma-separated (default 150,300,500)",
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="per level (default 90)")
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="seconds over which the students join (default 10)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--url",
        type=_loopback,
        default=None,
        help="a running server on this machine, instead of starting one per level",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="N replicas behind nginx, sharing their state through Redis (bench/cluster.py)",
    )
    args = parser.parse_args(list(argv))
    results = []
    for students in args.students:
        result = run_level(
            Level(students, args.seconds, min(args.ramp, args.seconds), args.seed),
            args.url,
            args.replicas,
        )
        report(result)
        results.append(result)
    if len(results) > 1:
        summary(results)
    return 0


def run() -> None:
    main([])
