"""Convolution traces at lecture sizes: trace vs plain F.conv2d, HTTP round trip, response size."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from app.ops.conv import conv2d_trace
from bench.common import TraceCase, http_client, trace_table

# (name, input C×H×W, kernel O×C×k×k, padding)
CASES = [
    ("5×5, 3×3", (1, 5, 5), (1, 1, 3, 3), 0),
    ("28×28×1, 3×3", (1, 28, 28), (1, 1, 3, 3), 1),
    ("28×28×1, 5×5", (1, 28, 28), (1, 1, 5, 5), 2),
    ("32×32×3, 3×3", (3, 32, 32), (1, 3, 3, 3), 1),
    ("32×32×3, 5×5", (3, 32, 32), (1, 3, 5, 5), 2),
    ("32×32×3, 3×3, 3 out", (3, 32, 32), (3, 3, 3, 3), 1),
    ("32×32×3, 5×5, 3 out", (3, 32, 32), (3, 3, 5, 5), 2),
]


def cases() -> Iterator[TraceCase]:
    gen = torch.Generator().manual_seed(0)
    for name, in_shape, k_shape, padding in CASES:
        x = torch.randint(0, 10, in_shape, generator=gen).double()
        w = torch.randint(-2, 3, k_shape, generator=gen).double()
        yield TraceCase(
            name,
            {"input": x.tolist(), "kernel": w.tolist(), "padding": padding},
            op=lambda x=x, w=w, p=padding: F.conv2d(x[None], w, padding=p),
            trace=lambda x=x, w=w, p=padding: conv2d_trace(x, w, padding=p),
        )


def run() -> None:
    with http_client() as client:
        trace_table(
            client,
            "convolution",
            "/api/convolution",
            cases(),
            title="Convolution trace (ms, median; 'trace' = conv2d_trace, 'full' = validate + "
            "trace + steps + JSON, 'HTTP' = POST round trip with gzip)",
            op_column="F.conv2d",
        )
