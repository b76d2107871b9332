"""The learned-filters page's endpoints against the computations they wrap.

- galleries: ``app.explain.filters.gallery`` (weights → colours → atlas PNG) for a first
  layer, a depthwise layer and the widest 1×1 layers, against the two requests a page makes
  over HTTP (the layout JSON, then the PNG), answered from the server's gallery cache after
  the first; with the sizes sent;
- one filter's map on the cat: ``filters.feature_map`` (the pass stops at the layer)
  against ``POST .../filters/{layer}/{index}/feature-map`` (an image id; palette PNG);
- activation maximisation: the time of one optimisation step at the model's input size,
  and a repeated request (same settings) answered from the jobs' result cache.

Every pair is timed in turns (``bench.common.side_by_side``) against a ``convscope serve``
in a process of its own; this process keeps freed memory, as the server does.
"""

from __future__ import annotations

from functools import partial

from app.explain import filters
from app.explain.maximize import maximize_channel
from app.images.store import ImageStore
from app.nets.registry import get_model, get_network
from app.runtime.memory import retain_freed_memory
from app.services.inputs import Inputs
from app.settings import ROOT
from bench.common import http_client, side_by_side, size, table

GALLERIES = [
    ("efficientnet-lite0", "stem.conv"),
    ("efficientnet-lite0", "blocks.15.depthwise.conv"),
    ("efficientnet-lite0", "blocks.15.expand.conv"),
    ("efficientnet-lite0", "head.conv"),
    ("lenet5", "conv3"),
]
MAPS = [
    ("efficientnet-lite0", "stem.conv", 5),
    ("efficientnet-lite0", "blocks.10.depthwise.conv", 37),
]
MAXIMIZE = [  # (model, layer, channel, picture side: the model's, and the page's for photos)
    ("lenet5", "conv2", 3, 32),
    ("efficientnet-lite0", "blocks.10.expand", 37, 128),
    ("efficientnet-lite0", "blocks.10.expand", 37, 224),
]
STEPS = 8


def gallery_rows(client) -> list[list[str]]:  # type: ignore[no-untyped-def]
    rows = []
    for name, layer in GALLERIES:
        model = get_model(name)
        url = f"/api/models/{name}/filters/{layer}"
        png_url = client.get(url).json()["png"]  # the server makes and keeps it

        def http(url: str = url, png_url: str = png_url) -> None:
            client.get(url).raise_for_status()
            client.get(png_url).raise_for_status()

        times = side_by_side(
            {
                "compute": lambda model=model, layer=layer: filters.gallery(model, layer),
                "http": http,
            }
        )
        found = filters.gallery(model, layer)
        layout = client.get(url, headers={"accept-encoding": "gzip"})
        rows.append([
            f"{name} {layer}", found.layer.kind, "×".join(map(str, found.layer.shape)),
            f"{times['compute']:.2f}", f"{times['http']:.2f}",
            f"{times['http'] / times['compute']:.2f}×",
            size(len(found.png)), size(len(layout.content)),
        ])  # fmt: skip
    return rows


def map_rows(client) -> list[list[str]]:  # type: ignore[no-untyped-def]
    store = ImageStore(
        max_items=4, max_bytes=1 << 26, max_pixels=10**8, sample_dir=ROOT / "static" / "samples"
    )
    inputs = Inputs(store, 8, 1 << 26)
    rows = []
    for name, layer, index in MAPS:
        network = get_network(name)
        model = network.module
        x = inputs.named(network, "sample-chelsea").x
        url = f"/api/models/{name}/filters/{layer}/{index}/feature-map"

        def http(url: str = url) -> None:
            client.post(url, files={"image_id": (None, "sample-chelsea")}).raise_for_status()

        times = side_by_side(
            {
                "compute": lambda model=model, x=x, layer=layer, index=index: filters.feature_map(
                    model, x, layer, index
                ),
                "http": http,
            }
        )
        answer = client.post(url, files={"image_id": (None, "sample-chelsea")}).content
        rows.append([
            f"{name} {layer} [{index}]", f"{times['compute']:.2f}", f"{times['http']:.2f}",
            f"{times['http'] / times['compute']:.1f}×", size(len(answer)),
        ])  # fmt: skip
    return rows


def maximize_rows(client) -> list[list[str]]:  # type: ignore[no-untyped-def]
    runs = {
        f"{name} {layer} [{channel}] {side}": partial(
            maximize_channel, get_network(name), layer, channel, steps=STEPS, size=side
        )
        for name, layer, channel, side in MAXIMIZE
    }
    times = side_by_side(runs, repeat=5, warmup=1, budget_s=60.0)  # in turns: ratios hold
    rows = []
    for (name, layer, channel, side), key in zip(MAXIMIZE, runs, strict=True):
        per_step = times[key] / STEPS
        url = f"/api/models/{name}/layers/{layer}/channels/{channel}/maximize"
        body = {"steps": STEPS, "size": side}
        client.post(url, json=body).raise_for_status()  # computed, then cached
        cached = side_by_side(
            {"cached": lambda url=url, body=body: client.post(url, json=body).raise_for_status()}
        )["cached"]
        rows.append([
            f"{name} {layer} [{channel}]", f"{side}×{side}", f"{per_step:.1f}",
            f"{per_step * 128 / 1000:.1f}", f"{cached:.2f}",
        ])  # fmt: skip
    return rows


def run() -> None:
    retain_freed_memory()  # as `convscope serve` does
    with http_client() as client:
        table(
            "Filter galleries: compute (uncached) vs the page's two requests (layout + PNG), ms",
            ["layer", "kind", "shape", "compute", "HTTP", "HTTP/compute", "PNG", "layout JSON"],
            gallery_rows(client),
        )
        table(
            "One filter's map on the cat: the pass to the layer vs POST .../feature-map, ms",
            ["filter", "compute", "HTTP", "HTTP/compute", "answer"],
            map_rows(client),
        )
        table(
            f"Activation maximisation: a step (runs of {STEPS}, in turns), 128 steps, "
            "a cached repeat",
            ["channel", "picture", "ms/step", "s per 128", "cached HTTP ms"],
            maximize_rows(client),
        )
