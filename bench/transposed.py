"""Transposed-convolution traces: the trace vs F.conv_transpose2d, the endpoint, the HTTP round
trip and the response size."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from app.ops.transposed import conv_transpose2d_trace
from bench.common import TraceCase, http_client, trace_table

# (name, input C×H×W, kernel C×O×k×k, stride, padding, output_padding)
CASES = [
    ("2×2, 2×2 s2 (slides)", (1, 2, 2), (1, 1, 2, 2), 2, 0, 0),
    ("8×8, 3×3 s2 p1 op1", (1, 8, 8), (1, 1, 3, 3), 2, 1, 1),
    ("16×16, 4×4 s2 p1", (1, 16, 16), (1, 1, 4, 4), 2, 1, 0),
    ("16×16×4 → 4, 4×4 s2 p1", (4, 16, 16), (4, 4, 4, 4), 2, 1, 0),
    ("16×16×8 → 8, 3×3 s2 p1 op1", (8, 16, 16), (8, 8, 3, 3), 2, 1, 1),
]


def cases() -> Iterator[TraceCase]:
    gen = torch.Generator().manual_seed(0)
    for name, in_shape, k_shape, s, p, op in CASES:
        x = torch.randint(0, 5, in_shape, generator=gen).double()
        w = torch.randint(-2, 3, k_shape, generator=gen).double()
        settings = {"stride": s, "padding": p, "output_padding": op}
        yield TraceCase(
            name,
            {"input": x.tolist(), "kernel": w.tolist(), **settings},
            op=lambda x=x, w=w, kw=settings: F.conv_transpose2d(x[None], w, **kw),
            trace=lambda x=x, w=w, kw=settings: conv_transpose2d_trace(x, w, **kw).stamps(),
        )


def run() -> None:
    with http_client() as client:
        trace_table(
            client,
            "transposed",
            "/api/transposed-convolution",
            cases(),
            title="Transposed-convolution trace (ms, median; 'trace' = conv_transpose2d_trace "
            "with every stamp and running total, 'full' = validate + trace + steps + equivalent "
            "view + JSON, 'HTTP' = POST round trip with gzip)",
            op_column="F.conv_transpose2d",
        )
