"""Timing helpers shared by the benchmark sections: medians, tables, the trace tables, a live
server."""

from __future__ import annotations

import gzip
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import httpx2 as httpx
import orjson

from app.services import operations
from tests.utils.server import free_port


def median_ms(
    fn: Callable[[], object], *, repeat: int = 15, warmup: int = 2, budget_s: float = 3.0
) -> float:
    """Median wall time of ``fn()`` in milliseconds (fewer repeats if it is slow)."""
    for _ in range(warmup):
        fn()
    times = []
    started = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - started > budget_s and len(times) >= 3:
            break
    return statistics.median(times)


def turns(
    fns: dict[str, Callable[[], object]],
    *,
    repeat: int = 15,
    warmup: int = 2,
    budget_s: float = 10.0,
) -> dict[str, list[float]]:
    """Wall times (ms) of each function, timed in turns (a, b, c, a, b, c, ...) so that a
    busy machine slows them alike: the i-th times of all functions come from one round."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    started = time.perf_counter()
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - started > budget_s and len(times[name]) >= 3:
            break
    return times


def side_by_side(
    fns: dict[str, Callable[[], object]],
    *,
    repeat: int = 15,
    warmup: int = 2,
    budget_s: float = 10.0,
) -> dict[str, float]:
    """Median wall time (ms) of each function, timed in turns (:func:`turns`) so that
    their ratios hold on a busy machine."""
    times = turns(fns, repeat=repeat, warmup=warmup, budget_s=budget_s)
    return {name: statistics.median(values) for name, values in times.items()}


def median_ratio(first: list[float], second: list[float]) -> float:
    """The median over rounds of first / second (times from :func:`turns`)."""
    return statistics.median(a / b for a, b in zip(first, second, strict=True))


def size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.0f} kB"
    return f"{n} B"


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=5))


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print an aligned table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))


@contextmanager
def server_process(
    *, stderr: IO[bytes] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``convscope serve`` with its default settings, in a process of its own on a
    free localhost port (its ``stderr`` to the file given): its base URL and process, once
    it is ready and has prepared the training lab's digits (``/readyz``)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            deadline = time.monotonic() + 90
            while True:  # as a lecturer starts it before the class: models and lab ready
                try:
                    ready = client.get("/readyz").json()
                    if ready["status"] == "ready" and ready["training_lab"] != "warming":
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.2)
        yield url, server
    finally:
        server.terminate()
        server.wait(10)


@contextmanager
def http_client() -> Iterator[httpx.Client]:
    """A client talking to a real ``convscope serve`` in a process of its own, on localhost."""
    with server_process() as (url, _), httpx.Client(base_url=url, timeout=120) as client:
        yield client


def paired_ms(
    base: Callable[[], object], other: Callable[[], object], *, rounds: int = 30, warmup: int = 3
) -> tuple[float, float, float]:
    """Medians of ``base()`` and ``other()`` run alternately, and the median of their ratios.

    Alternating keeps the two side by side when the machine is shared: a burst of someone
    else's work slows both sides of a pair, not one series.
    """
    for _ in range(warmup):
        base()
        other()
    first, second, ratios = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        base()
        t1 = time.perf_counter()
        other()
        t2 = time.perf_counter()
        first.append((t1 - t0) * 1000)
        second.append((t2 - t1) * 1000)
        ratios.append((t2 - t1) / (t1 - t0))
    return statistics.median(first), statistics.median(second), statistics.median(ratios)


HEADERS = {"content-type": "application/json", "accept-encoding": "gzip"}

#: The columns of a trace table: the torch op alone, the trace, the whole endpoint computation
#: (validate + trace + steps + JSON) and the HTTP round trip, then the response's size.
TRACE_COLUMNS = ["trace/op", "full", "full/op", "HTTP", "HTTP/full", "JSON", "gzipped"]


@dataclass(frozen=True)
class TraceCase:
    """One row of a trace table: the request's fields (the JSON body), the bare torch op and
    the trace it is compared with."""

    name: str
    body: dict[str, Any]
    op: Callable[[], object]
    trace: Callable[[], object]


def trace_row(client: httpx.Client, operation: str, url: str, case: TraceCase) -> list[str]:
    """One row of a trace table: medians of the op, the trace, the whole computation behind
    the endpoint (``operations.trace``: validate, trace, JSON) and HTTP; the answer's sizes."""

    def full() -> bytes:
        return operations.trace(operation, **case.body)

    raw = median_ms(case.op)
    traced = median_ms(case.trace)
    whole = median_ms(full)
    payload = orjson.dumps(case.body)
    http = median_ms(lambda: client.post(url, content=payload, headers=HEADERS).raise_for_status())
    content = full()
    return [
        case.name,
        f"{raw:.3f}",
        f"{traced:.3f}",
        f"{traced / raw:.1f}×",
        f"{whole:.2f}",
        f"{whole / raw:.0f}×",
        f"{http:.2f}",
        f"{http / whole:.2f}×",
        size(len(content)),
        size(gz(content)),
    ]


def trace_table(
    client: httpx.Client,
    operation: str,
    url: str,
    cases: Iterable[TraceCase],
    *,
    title: str,
    op_column: str,
) -> None:
    """Time every case of one operation (:func:`trace_row`) and print the table."""
    rows = [trace_row(client, operation, url, case) for case in cases]
    table(title, ["case", op_column, "trace", *TRACE_COLUMNS], rows)
