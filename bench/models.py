"""The model zoo on the CPU: the plain forward pass against what the app wraps around it.

Per model, in one run, each measured in alternation with the plain forward pass under
``torch.inference_mode`` (``bench.common.paired_ms``):

- capture: the same pass with a hook on every layer keeping its output;
- one layer: ``layer_output`` for a layer in the middle (the pass stops there);
- predict: top 5 of an already preprocessed input;
- explore: preprocess the photo, capture every layer, per-layer ranges and channel order
  (what the network explorer needs).

The ratios are the medians of the per-pair ratios. EfficientNet-Lite0's capture is also
measured first with glibc's default malloc settings, before ``retain_freed_memory``
(what ``convscope serve`` does), to show why the server sets it.

Then the endpoints over HTTP, against a ``convscope serve`` in a process of its own, each
timed in turns with the compute it wraps, in this process, on the same preprocessed input:

- ``POST /api/models/{name}/predict`` (a sample by id, top 5) against the forward pass
  and top-k (``app.nets.predict.predict``);
- ``GET /api/models/{name}/layers/{layer}/activations`` (16 maps, palette PNGs, JSON)
  against the forward pass up to that layer (``layer_output``), and against the whole
  computation behind the endpoint in this process (``explorer.activations_result`` and
  the JSON), with the answer's size as sent (gzip asked for, as browsers do: answers of
  numbers are gzipped, pages of PNGs are not) and unpacked.
"""

from __future__ import annotations

import httpx2 as httpx
import torch

from app.explain.hooks import capture, layer_output
from app.images.store import ImageStore
from app.nets.predict import explore, predict
from app.nets.registry import get_network
from app.runtime.memory import retain_freed_memory
from app.services import explorer
from app.services.inputs import Inputs
from app.services.serialize import dumps
from app.settings import ROOT
from bench.common import http_client, paired_ms, side_by_side, size, table
from tests.utils.samples import sample

# (model, sample image, a layer in the middle, rounds)
CASES = [
    ("lenet5", "mnist-7.png", "conv2", 300),
    ("simple-cnn", "mnist-7.png", "conv2", 300),
    ("efficientnet-lite0", "chelsea.png", "blocks.8.depthwise.conv", 25),
]


def _plain(model, x):  # type: ignore[no-untyped-def]
    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    return forward


# (model, sample id, a layer whose maps are asked for)
HTTP_CASES = [
    ("lenet5", "sample-mnist-7", "conv2"),
    ("efficientnet-lite0", "sample-chelsea", "stem.act"),
    ("efficientnet-lite0", "sample-chelsea", "blocks.8.depthwise.act"),
]


def http_rows() -> list[list[str]]:
    store = ImageStore(
        max_items=4, max_bytes=1 << 26, max_pixels=10**8, sample_dir=ROOT / "static" / "samples"
    )
    inputs = Inputs(store, 8, 1 << 26)
    rows = []
    with http_client() as client:
        for name, image_id, layer in HTTP_CASES:
            network = get_network(name)
            model = network.module
            prepared = inputs.named(network, image_id)
            x = prepared.x  # (C, H, W)
            url = f"/api/models/{name}/layers/{layer}/activations?image={image_id}"
            form = {"image_id": (None, image_id)}

            def post(name=name, form=form) -> None:
                client.post(f"/api/models/{name}/predict", files=form).raise_for_status()

            def get(url=url) -> httpx.Response:
                response = client.get(url, headers={"accept-encoding": "gzip"})
                return response.raise_for_status()

            def endpoint(network=network, prepared=prepared, layer=layer) -> bytes:
                return dumps(explorer.activations_result(network, prepared, layer))

            rounds = 40 if name == "lenet5" else 20
            timed = side_by_side(
                {
                    "forward": lambda m=model, x=x, n=network: predict(m, x, n.labels, 5),
                    "predict": post,
                    "layer": lambda m=model, x=x, at=layer: layer_output(m, x[None], at),
                    "endpoint": endpoint,
                    "maps": get,
                },
                repeat=rounds,
                warmup=3,
                budget_s=60,
            )
            answer = get()
            sent, unpacked = answer.num_bytes_downloaded, len(answer.content)
            predicted = client.post(f"/api/models/{name}/predict", files=form).content
            rows.append(
                [
                    f"{name} {layer}",
                    f"{timed['forward']:.2f}",
                    f"{timed['predict']:.2f} ({timed['predict'] / timed['forward']:.2f}×)",
                    size(len(predicted)),
                    f"{timed['layer']:.2f}",
                    f"{timed['endpoint']:.2f} ({timed['endpoint'] / timed['layer']:.2f}×)",
                    f"{timed['maps']:.2f} ({timed['maps'] / timed['layer']:.2f}×)",
                    f"{size(sent)} ({size(unpacked)})" if sent != unpacked else size(sent),
                ]
            )
    return rows


def run() -> None:
    lite0 = get_network("efficientnet-lite0")
    efficientnet = lite0.module
    x = lite0.preprocess(sample("chelsea.png"))[None]
    _, default_ms, default_ratio = paired_ms(
        _plain(efficientnet, x), lambda: capture(efficientnet, x), rounds=25
    )
    retained = retain_freed_memory()
    rows = []
    for name, image_name, layer, rounds in CASES:
        network = get_network(name)
        model = network.module
        image = sample(image_name)
        x = network.preprocess(image)[None]  # (1, C, H, W)
        plain = _plain(model, x)
        forward, hooked, hooked_ratio = paired_ms(
            plain, lambda m=model, x=x: capture(m, x), rounds=rounds
        )
        _, one, one_ratio = paired_ms(
            plain, lambda m=model, x=x, at=layer: layer_output(m, x, at), rounds=rounds
        )
        _, top5, top5_ratio = paired_ms(
            plain, lambda m=model, x=x, n=network: predict(m, x[0], n.labels, 5), rounds=rounds
        )
        _, full, full_ratio = paired_ms(
            plain, lambda n=network, i=image: explore(n, i), rounds=rounds
        )
        kept = sum(t.numel() * t.element_size() for t in capture(model, x).activations.values())
        rows.append(
            [
                f"{name} {'×'.join(map(str, network.input_shape[1:]))}",
                f"{forward:.3f}",
                f"{hooked:.3f} ({hooked_ratio:.2f}×)",
                f"{one:.3f} ({one_ratio:.2f}×) {layer}",
                f"{top5:.3f} ({top5_ratio:.2f}×)",
                f"{full:.2f} ({full_ratio:.2f}×)",
                size(kept),
            ]
        )
    table(
        "Models on the CPU (ms, median; × = median ratio to the plain forward pass measured "
        "in alternation with it; 'explore' includes preprocessing the photo)",
        ["model", "forward", "capture", "one layer", "predict", "explore", "activations kept"],
        rows,
    )
    print(
        f"  EfficientNet-Lite0 capture with glibc's default malloc settings: {default_ms:.1f} ms "
        f"({default_ratio:.2f}× the forward pass); retain_freed_memory: "
        f"{'on' if retained else 'not available'} for the table above"
    )
    table(
        "Model endpoints over HTTP (ms, median, contenders timed in turns; × = ratio to the "
        "compute the endpoint wraps: forward + top 5 for predict, the forward pass up to the "
        "layer for its maps; size as sent (unpacked, when gzipped))",
        [
            "case",
            "forward + top 5",
            "predict (HTTP)",
            "JSON",
            "up to the layer",
            "maps, in process",
            "maps (HTTP)",
            "maps JSON",
        ],
        http_rows(),
    )
