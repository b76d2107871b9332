"""Convolution traces at lecture sizes: trace vs plain F.conv1d / F.conv2d / F.conv3d, HTTP
round trip, response size; 2-D with each padding mode too."""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from app.ops.conv import conv2d_trace, conv_trace
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


# (name, input C×L, kernel O×C×k, padding): a sentence's embedding, a sound
CASES_1D = [
    ("6 words × 4 features, 3 wide, 2 out", (4, 6), (2, 4, 3), 1),
    ("40 samples, 5 wide", (1, 40), (1, 1, 5), 2),
    ("256 samples, 15 wide", (1, 256), (1, 1, 15), 7),
    ("32 words × 16 features, 3 wide, 16 out", (16, 32), (16, 16, 3), 1),
]
# (name, input C×D×H×W, kernel O×C×kd×kh×kw, padding): a clip, a scan
CASES_3D = [
    ("4 frames 6×6, 2×2×2", (1, 4, 6, 6), (1, 1, 2, 2, 2), 0),
    ("5 slices 6×6, 3×3×3", (1, 5, 6, 6), (1, 1, 3, 3, 3), 1),
    ("8 frames 12×12 RGB, 3×3×3, 2 out", (3, 8, 12, 12), (2, 3, 3, 3, 3), 1),
    ("16×16×16, 3×3×3", (1, 16, 16, 16), (1, 1, 3, 3, 3), 1),
]
OPS = {1: F.conv1d, 3: F.conv3d}


def nd_cases(dims: int) -> Iterator[TraceCase]:
    gen = torch.Generator().manual_seed(dims)
    for name, in_shape, k_shape, padding in CASES_1D if dims == 1 else CASES_3D:
        x = torch.randint(0, 10, in_shape, generator=gen).double()
        w = torch.randint(-2, 3, k_shape, generator=gen).double()
        op = OPS[dims]
        yield TraceCase(
            name,
            {"dims": dims, "input": x.tolist(), "kernel": w.tolist(), "padding": padding},
            op=lambda x=x, w=w, p=padding, op=op: op(x[None], w, padding=p),
            trace=lambda x=x, w=w, p=padding, d=dims: conv_trace(x, w, dims=d, padding=p),
        )


def mode_cases() -> Iterator[TraceCase]:
    """32×32×3, 3×3, padding 1 in each padding mode: F.pad + F.conv2d against the trace."""
    gen = torch.Generator().manual_seed(4)
    x = torch.randint(0, 10, (3, 32, 32), generator=gen).double()
    w = torch.randint(-2, 3, (1, 3, 3, 3), generator=gen).double()
    for mode in ("zeros", "reflect", "replicate", "circular"):
        torch_mode = "constant" if mode == "zeros" else mode
        yield TraceCase(
            f"32×32×3, 3×3, {mode}",
            {"input": x.tolist(), "kernel": w.tolist(), "padding": 1, "padding_mode": mode},
            op=lambda m=torch_mode: F.conv2d(F.pad(x[None], (1, 1, 1, 1), mode=m), w),
            trace=lambda m=mode: conv2d_trace(x, w, padding=1, padding_mode=m),
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
        for dims, op_column in ((1, "F.conv1d"), (3, "F.conv3d")):
            trace_table(
                client,
                "convolution",
                "/api/convolution",
                nd_cases(dims),
                title=f"{dims}-D convolution trace (ms, median; 'trace' = conv_trace(dims={dims}))",
                op_column=op_column,
            )
        trace_table(
            client,
            "convolution",
            "/api/convolution",
            mode_cases(),
            title="Padding modes (ms, median; op = F.pad + F.conv2d)",
            op_column="F.pad+conv2d",
        )
