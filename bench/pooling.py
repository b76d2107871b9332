"""Pooling traces at lecture sizes: the trace vs F.max_pool2d / F.avg_pool2d, the endpoint,
the HTTP round trip and the response size; and the shift demonstration."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from app.ops.pool import pool2d_trace
from app.services import operations
from bench.common import TraceCase, http_client, median_ms, size, table, trace_table

# (name, input C×H×W, kind, window, stride, padding)
CASES = [
    ("4×4, 2×2 max", (1, 4, 4), "max", 2, 2, 0),
    ("28×28×1, 2×2 max", (1, 28, 28), "max", 2, 2, 0),
    ("28×28×6, 2×2 avg", (6, 28, 28), "avg", 2, 2, 0),
    ("32×32×3, 3×3 s2 p1 max", (3, 32, 32), "max", 3, 2, 1),
    ("32×32×3, 3×3 s1 p1 sum", (3, 32, 32), "sum", 3, 1, 1),
    ("64×64×16, 2×2 max", (16, 64, 64), "max", 2, 2, 0),
]


def torch_op(x: torch.Tensor, kind: str, k: int, s: int, p: int) -> torch.Tensor:
    if kind == "max":
        return F.max_pool2d(x[None], k, s, p)
    out = F.avg_pool2d(x[None], k, s, p)
    return out if kind == "avg" else out * (k * k)


def cases(gen: torch.Generator) -> Iterator[TraceCase]:
    for name, shape, kind, k, s, p in CASES:
        x = torch.randint(0, 10, shape, generator=gen).double()
        yield TraceCase(
            name,
            {"input": x.tolist(), "kind": kind, "size": k, "stride": s, "padding": p},
            op=lambda x=x, kind=kind, k=k, s=s, p=p: torch_op(x, kind, k, s, p),
            trace=lambda x=x, kind=kind, k=k, s=s, p=p: pool2d_trace(x, kind, k, s, p),
        )


def run() -> None:
    gen = torch.Generator().manual_seed(0)
    with http_client() as client:
        trace_table(
            client,
            "pooling",
            "/api/pooling",
            cases(gen),
            title="Pooling trace (ms, median; 'op' = F.max_pool2d, or F.avg_pool2d (× area for "
            "sum); 'full' = validate + trace + steps + JSON; 'HTTP' = POST round trip with gzip)",
            op_column="op",
        )

        digit = torch.randint(0, 256, (28, 28), generator=gen).double().tolist()
        sobel = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
        shift = {"input": digit, "kernel": sobel, "shift": "right", "size": 3}
        full = median_ms(lambda: operations.shift(**shift))
        http = median_ms(lambda: client.post("/api/pooling/shift", json=shift).raise_for_status())
        table(
            "Shift demonstration (28×28 digit, 3×3 Sobel, 3×3 max pool; ms, median)",
            ["full", "HTTP", "JSON"],
            [[f"{full:.2f}", f"{http:.2f}", size(len(operations.shift(**shift)))]],
        )
