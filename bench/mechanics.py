"""The lecture's remaining mechanics at their largest sizes: from a dense layer to a
convolution, the four normalisations and adaptive pooling. Each row times, side by side,
the bare torch call, the endpoint's whole computation (validate, compute every stage or
statistic or window, JSON) and the HTTP round trip, and prints their ratios and the answer's
size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import torch
import torch.nn.functional as F

from app.services import mechanics
from bench.common import HEADERS, gz, http_client, side_by_side, size, table


def cases(
    gen: torch.Generator,
) -> list[tuple[str, str, Callable[..., bytes], dict[str, Any], Callable[[], object]]]:
    """(name, url, service, body, the torch call it is compared with)."""
    image = torch.randint(0, 10, (8, 8), generator=gen).double()
    kernel = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    batch = torch.randint(0, 10, (4, 8, 8, 8), generator=gen).double()
    maps = torch.randint(0, 10, (8, 32, 32), generator=gen).double()
    rows = [
        ("dense → conv, 8×8, Δ = 1", "/api/dense-to-convolution", mechanics.dense,
         {"input": image.tolist(), "delta": 1},
         lambda: F.conv2d(image[None, None], kernel[None, None], padding=1)),
        ("dense → conv, 6×6, Δ = 2", "/api/dense-to-convolution", mechanics.dense,
         {"input": image[:6, :6].tolist(), "delta": 2, "init": "blur"},
         lambda: F.conv2d(image[None, None, :6, :6], kernel[None, None], padding=1)),
    ]  # fmt: skip
    for kind, op in (
        ("batch", lambda: F.batch_norm(batch, None, None, training=True)),
        ("layer", lambda: F.layer_norm(batch, (8, 8, 8))),
        ("group", lambda: F.group_norm(batch, 4)),
        ("instance", lambda: F.instance_norm(batch)),
    ):
        body = {"input": batch.tolist(), "kind": kind, "groups": 4}
        rows.append(
            (f"{kind} norm, 4×8×8×8", "/api/normalization", mechanics.normalization, body, op)
        )
    for kind, op in (
        ("avg", lambda: F.adaptive_avg_pool2d(maps, 16)),
        ("max", lambda: F.adaptive_max_pool2d(maps, 16)),
    ):
        body = {"input": maps.tolist(), "kind": kind, "output_size": 16}
        rows.append(
            (
                f"adaptive {kind}, 8×32×32 → 16×16",
                "/api/pooling/adaptive",
                mechanics.adaptive,
                body,
                op,
            )
        )
    return rows


def run() -> None:
    gen = torch.Generator().manual_seed(0)
    rows = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the server computes (CONVSCOPE_TORCH_THREADS=1)
    with http_client() as client:
        for name, url, service, body, op in cases(gen):
            payload = orjson.dumps(body)
            times = side_by_side(
                {
                    "op": op,
                    "full": lambda service=service, body=body: service(**body),
                    "http": lambda url=url, payload=payload: client.post(
                        url, content=payload, headers=HEADERS
                    ).raise_for_status(),
                }
            )
            content = service(**body)
            rows.append([
                name, f"{times['op']:.3f}", f"{times['full']:.2f}",
                f"{times['full'] / times['op']:.0f}×", f"{times['http']:.2f}",
                f"{times['http'] / times['full']:.1f}×", size(len(content)), size(gz(content)),
            ])  # fmt: skip
    torch.set_num_threads(threads)
    table(
        "Mechanics (ms, median, timed in turns, one torch thread; 'op' = the torch call "
        "alone; 'full' = the "
        "endpoint's computation: validate + every stage, statistic or window + JSON; "
        "'HTTP' = POST round trip with gzip)",
        ["case", "op", "full", "full/op", "HTTP", "HTTP/full", "JSON", "gzipped"],
        rows,
    )
