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
"""

from __future__ import annotations

import torch

from app.explain.activations import capture, layer_output
from app.memory import retain_freed_memory
from app.nets.predict import explore, predict
from app.nets.registry import get_model, get_model_spec
from bench.common import paired_ms, size, table
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


def run() -> None:
    efficientnet = get_model("efficientnet-lite0")
    x = get_model_spec("efficientnet-lite0").preprocess(sample("chelsea.png"))[None]
    _, default_ms, default_ratio = paired_ms(
        _plain(efficientnet, x), lambda: capture(efficientnet, x), rounds=25
    )
    retained = retain_freed_memory()
    rows = []
    for name, image_name, layer, rounds in CASES:
        spec = get_model_spec(name)
        model = get_model(name)
        image = sample(image_name)
        x = spec.preprocess(image)[None]  # (1, C, H, W)
        plain = _plain(model, x)
        forward, hooked, hooked_ratio = paired_ms(
            plain, lambda m=model, x=x: capture(m, x), rounds=rounds
        )
        _, one, one_ratio = paired_ms(
            plain, lambda m=model, x=x, at=layer: layer_output(m, x, at), rounds=rounds
        )
        _, top5, top5_ratio = paired_ms(
            plain, lambda m=model, x=x, s=spec: predict(m, x[0], s.labels, 5), rounds=rounds
        )
        _, full, full_ratio = paired_ms(plain, lambda n=name, i=image: explore(n, i), rounds=rounds)
        kept = sum(t.numel() * t.element_size() for t in capture(model, x).activations.values())
        rows.append(
            [
                f"{name} {'×'.join(map(str, spec.input_shape[1:]))}",
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
