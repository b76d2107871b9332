"""Images: a kernel on a 512×512 RGB photo (3×3 and 9×9) through HTTP against the bare
``F.conv2d``, and the intake's decode of a 12-megapixel JPEG against bare Pillow."""

from __future__ import annotations

import io
import itertools

import numpy as np
import orjson
import torch
import torch.nn.functional as F
from PIL import Image

from app.images import intake
from app.images.store import ImageStore
from app.ops import filtering
from app.runtime.cache import LRUCache
from app.services.kernels import Context, KernelRequest, apply
from app.settings import ROOT, Settings
from bench.common import HEADERS, http_client, side_by_side, size, table

SAMPLE = "sample-astronaut"  # 512×512 RGB
CPU = torch.device("cpu")


def _kernel(k: int, gen: torch.Generator) -> list[list[float]]:
    return (torch.randint(-3, 4, (k, k), generator=gen).double() / 4).tolist()


def kernels(client) -> list[list[str]]:  # type: ignore[no-untyped-def]
    settings = Settings(device="cpu")
    store = ImageStore(
        max_items=4, max_bytes=1 << 24, max_pixels=10**8, sample_dir=ROOT / "static" / "samples"
    )
    pixels = store.get(SAMPLE).pixels  # (3, 512, 512) uint8
    x = pixels.float()[None]  # (1, 3, 512, 512)
    no_cache: LRUCache = LRUCache(1, 1)  # every call computes
    context = Context(store, no_cache, settings, CPU)
    gen = torch.Generator().manual_seed(0)
    rows = []
    for k in (3, 9):
        weights = _kernel(k, gen)
        w = torch.tensor(weights, dtype=torch.float32).expand(3, 1, k, k).contiguous()
        ks = filtering.kernel_settings(weights, padding=k // 2)
        body = KernelRequest(image=SAMPLE, kernel=weights, padding=k // 2)
        counter = itertools.count(1)

        def post(weights=weights, k=k, counter=counter) -> None:
            changed = [row[:] for row in weights]
            changed[0][0] += next(counter) * 1e-6  # a new kernel each time: no cached output
            payload = {"image": SAMPLE, "kernel": changed, "padding": k // 2}
            client.post("/api/kernels", content=orjson.dumps(payload), headers=HEADERS)

        settings_json = {"image": SAMPLE, "kernel": weights, "padding": k // 2}
        client.post("/api/kernels", json=settings_json)  # the output the hover reads
        hover = {**settings_json, "row": 200, "col": 300}
        # in-process contenders in turns; then the HTTP ones in turns (a call right after the
        # server worked would be slowed by it, so the two groups are not mixed)
        local = side_by_side(
            {
                "raw": lambda w=w, k=k: F.conv2d(x, w, padding=k // 2, groups=3),
                "conv": lambda ks=ks: filtering.convolve(pixels, ks, CPU),
                "full": lambda b=body: apply(context, b),
            },
            repeat=25,
        )
        remote = side_by_side(
            {
                "http": post,
                "hover": lambda h=hover: client.post(
                    "/api/kernels/pixel", json=h
                ).raise_for_status(),
            },
            repeat=25,
        )
        raw, conv, full = local["raw"], local["conv"], local["full"]
        http, pixel = remote["http"], remote["hover"]
        answer = apply(context, body)
        rows.append(
            [
                f"512×512×3, {k}×{k}",
                f"{raw:.2f}",
                f"{conv:.2f}",
                f"{conv / raw:.1f}×",
                f"{full:.1f}",
                f"{full / raw:.0f}×",
                f"{http:.1f}",
                f"{http / raw:.0f}×",
                f"{pixel:.1f}",
                size(len(answer)),
            ]
        )
    return rows


def jpeg_12mp() -> bytes:
    """A 4000×3000 photo-like JPEG: the astronaut enlarged, with a little sensor noise."""
    photo = Image.open(ROOT / "static/samples/astronaut.png").convert("RGB")
    big = np.asarray(photo.resize((4000, 3000), Image.Resampling.BICUBIC)).astype(np.int16)
    noise = np.random.default_rng(0).integers(-4, 5, big.shape, dtype=np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def decode(client) -> list[list[str]]:  # type: ignore[no-untyped-def]
    data = jpeg_12mp()

    def pillow() -> None:
        image = Image.open(io.BytesIO(data))
        image.load()
        np.asarray(image)

    counter = itertools.count(1)

    def upload() -> None:
        unique = data + next(counter).to_bytes(4, "big")  # bytes after the end: a new hash
        files = {"image": ("photo.jpg", unique, "image/jpeg")}
        client.post("/api/images", files=files).raise_for_status()

    local = side_by_side(
        {"pillow": pillow, "intake": lambda: intake.decode(data, max_pixels=25_000_000)},
        repeat=9,
        warmup=1,
        budget_s=20,
    )
    raw, ours = local["pillow"], local["intake"]
    http = side_by_side({"http": upload}, repeat=9, warmup=1, budget_s=20)["http"]
    return [
        [
            "4000×3000 JPEG",
            size(len(data)),
            f"{raw:.0f}",
            f"{ours:.0f}",
            f"{ours / raw:.2f}×",
            f"{http:.0f}",
            f"{http / raw:.2f}×",
        ]
    ]


def run() -> None:
    with http_client() as client:
        kernel_rows = kernels(client)
        decode_rows = decode(client)
    table(
        "Kernel on a photo (ms, median; 'conv' = filtering.convolve, 'full' = validate + conv + "
        "display mapping + histogram + PNG + JSON, 'HTTP' = POST /api/kernels round trip, "
        "'hover' = POST /api/kernels/pixel)",
        [
            "case",
            "F.conv2d",
            "conv",
            "conv/raw",
            "full",
            "full/raw",
            "HTTP",
            "HTTP/raw",
            "hover",
            "JSON",
        ],
        kernel_rows,
    )
    table(
        "Decoding an upload (ms, median; 'Pillow' = open + load + array, 'intake' = "
        "intake.decode, 'HTTP' = POST /api/images round trip)",
        ["case", "file", "Pillow", "intake", "intake/Pillow", "HTTP", "HTTP/Pillow"],
        decode_rows,
    )
