"""Saliency on EfficientNet-Lite0 at 224×224 on the CPU: each method against Captum's
implementation of it (and torch-cam's for Grad-CAM), with the same model, input and
settings, timed in turns in one run (``bench.common.turns``); a ratio is the median over
the turns of the per-turn ratio, so a burst of someone else's work on a shared machine
slows both sides of it.

Settings are the app's defaults for a photo: SmoothGrad 25 samples at noise 0.15,
Integrated Gradients 32 Gauss–Legendre steps from a black baseline, Grad-CAM on ``head``,
occlusion with a 32-pixel gray patch every 16 pixels (169 positions). Captum runs with its
own defaults for how much goes through the network at once (all SmoothGrad samples and all
IG steps in one batch, one occlusion position per pass), as a user would call it; a second
Captum column gives it the batch size ours uses (8 images; 8 positions), to show what
batching alone is worth. "service" is the whole computation behind the endpoint
(preprocess, predict, the method, the map and its colour limit).

Goals (issue 6): every ratio ours / Captum ≤ 1.0; SmoothGrad and Integrated Gradients
≤ 0.8.

The HTTP table times ``POST /api/models/efficientnet-lite0/saliency`` (PNG) on a real
``convscope serve`` beside the same computation in this process (the service plus the
PNG), and beside the call a user would make in a notebook instead (Captum's method with
its defaults, torch-cam's Grad-CAM), in turns; each request asks for another class, so no
answer comes from the jobs' cache. Goals: the round trip ≤ 1.2× the compute; end to end
against the notebook call (issue 12) ≤ 1.2× for the gradient and Grad-CAM, ≤ 0.8× for
SmoothGrad and Integrated Gradients, ≤ 0.5× for occlusion. Run it with the deployment's
default threads as well as ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import itertools
import statistics
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Saliency
from captum.attr import Occlusion as CaptumOcclusion
from torchcam.methods import GradCAM as TorchCamGradCAM

from app.explain.saliency import (
    GradCam,
    IntegratedGradients,
    Occlusion,
    SmoothGrad,
    VanillaGradient,
)
from app.nets.network import Network
from app.nets.registry import get_network
from app.runtime.memory import retain_freed_memory
from app.services.saliency import saliency
from bench.common import http_client, median_ratio, table, turns
from tests.utils.samples import sample

TARGET = 285  # Egyptian cat, the top class
SAMPLES, NOISE, STEPS, PATCH, STRIDE = 25, 0.15, 32, 32, 16
BATCH = 8


#: Occlusion without its incremental passes (every position's pass over the whole image).
FULL = "ours, every pass in full"


def _captum_input(x: torch.Tensor) -> torch.Tensor:
    return x.clone().requires_grad_()


def cases(network: Network, x: torch.Tensor) -> list[tuple[str, dict[str, Callable[[], object]]]]:
    """(method, {contender: call}) with the same settings for every contender."""
    model = network.module
    image = sample("chelsea.png")
    black = torch.full_like(x, -127 / 128)
    gray = 0.5 / 128  # pixel value ½ after (v − 127) / 128
    sigma = float(SmoothGrad(model, noise=NOISE).stdevs(x)[0])

    def torchcam() -> torch.Tensor:
        with TorchCamGradCAM(model, "head") as extractor:
            scores = model(_captum_input(x))  # frozen weights: the input must carry the graph
            cam = extractor(class_idx=TARGET, scores=scores, normalized=False)[0]
        return F.interpolate(cam[:, None], size=(224, 224), mode="bilinear", align_corners=False)

    def captum_smoothgrad(batch: int | None) -> Callable[[], object]:
        def run() -> torch.Tensor:
            return NoiseTunnel(Saliency(model)).attribute(
                _captum_input(x), nt_type="smoothgrad", nt_samples=SAMPLES,
                nt_samples_batch_size=batch, stdevs=sigma, target=TARGET, abs=False,
            )  # fmt: skip

        return run

    return [
        (
            "vanilla gradient",
            {
                "ours": lambda: VanillaGradient(model).attribute(x, TARGET),
                "Captum": lambda: Saliency(model).attribute(
                    _captum_input(x), target=TARGET, abs=False
                ),
                "service": lambda: saliency(network, image, "gradient"),
            },
        ),
        (
            f"SmoothGrad, {SAMPLES} samples",
            {
                "ours": lambda: SmoothGrad(model, samples=SAMPLES, noise=NOISE).attribute(
                    x, TARGET
                ),
                "Captum": captum_smoothgrad(None),
                f"Captum, batch {BATCH}": captum_smoothgrad(BATCH),
                "service": lambda: saliency(network, image, "smoothgrad"),
            },
        ),
        (
            f"Integrated Gradients, {STEPS} steps",
            {
                "ours": lambda: IntegratedGradients(model, steps=STEPS).attribute(
                    x, TARGET, baseline=black
                ),
                "Captum": lambda: CaptumIG(model).attribute(
                    _captum_input(x), black, target=TARGET, n_steps=STEPS
                ),
                f"Captum, batch {BATCH}": lambda: CaptumIG(model).attribute(
                    _captum_input(x),
                    black,
                    target=TARGET,
                    n_steps=STEPS,
                    internal_batch_size=BATCH,
                ),
                "service": lambda: saliency(network, image, "integrated-gradients"),
            },
        ),
        (
            "Grad-CAM, head",
            {
                "ours": lambda: GradCam(model, "head").attribute(x, TARGET),
                "Captum": lambda: LayerAttribution.interpolate(
                    LayerGradCam(model, model.head).attribute(
                        x, target=TARGET, relu_attributions=True
                    ),
                    (224, 224),
                    "bilinear",
                ),
                "torch-cam": torchcam,
                "service": lambda: saliency(network, image, "grad-cam"),
            },
        ),
        (
            f"occlusion, patch {PATCH} stride {STRIDE}",
            {
                "ours": lambda: Occlusion(model, patch=PATCH, stride=STRIDE).attribute(
                    x, TARGET, baseline=gray
                ),
                FULL: lambda: Occlusion(
                    model, patch=PATCH, stride=STRIDE, incremental=False
                ).attribute(x, TARGET, baseline=gray),
                "Captum": lambda: CaptumOcclusion(model).attribute(
                    x,
                    sliding_window_shapes=(3, PATCH, PATCH),
                    strides=STRIDE,
                    baselines=gray,
                    target=TARGET,
                ),
                f"Captum, batch {BATCH}": lambda: CaptumOcclusion(model).attribute(
                    x,
                    sliding_window_shapes=(3, PATCH, PATCH),
                    strides=STRIDE,
                    baselines=gray,
                    target=TARGET,
                    perturbations_per_eval=BATCH,
                ),
                "service": lambda: saliency(network, image, "occlusion"),
            },
        ),
    ]


#: Methods timed over HTTP, with the app's defaults for a photo.
HTTP_METHODS = ("gradient", "grad-cam", "smoothgrad", "integrated-gradients", "occlusion")


#: The notebook call each HTTP method is compared with: a contender of :func:`cases`.
NOTEBOOK = {
    "gradient": ("vanilla gradient", "Captum"),
    "grad-cam": ("Grad-CAM, head", "torch-cam"),
    "smoothgrad": (f"SmoothGrad, {SAMPLES} samples", "Captum"),
    "integrated-gradients": (f"Integrated Gradients, {STEPS} steps", "Captum"),
    "occlusion": (f"occlusion, patch {PATCH} stride {STRIDE}", "Captum"),
}
#: Goals of the end-to-end ratio (issue 12).
NOTEBOOK_GOAL = {"gradient": 1.2, "grad-cam": 1.2, "smoothgrad": 0.8,
                 "integrated-gradients": 0.8, "occlusion": 0.5}  # fmt: skip


def http_rows() -> list[list[str]]:
    """Round trip of the saliency endpoint against the compute it does and against the
    library call a notebook would make, side by side."""
    retain_freed_memory()  # as `convscope serve` does
    network = get_network("efficientnet-lite0")
    image = sample("chelsea.png")
    x = network.preprocess(image)[None]
    library = {name: contenders for name, contenders in cases(network, x)}
    form = {"image_id": (None, "sample-chelsea")}
    rows = []
    with http_client() as client:
        for method in HTTP_METHODS:
            classes = itertools.count(1)  # a new class every call: nothing is cached

            def compute(method: str = method, classes: itertools.count = classes) -> bytes:
                target = next(classes)
                return saliency(network, image, method, target=target).png()

            def http(method: str = method, classes: itertools.count = classes) -> None:
                query = {"method": method, "target": next(classes)}
                url = "/api/models/efficientnet-lite0/saliency"
                client.post(url, params=query, files=form).raise_for_status()

            case, contender = NOTEBOOK[method]
            fast = method in ("gradient", "grad-cam")
            times = turns(
                {"compute": compute, "http": http, "notebook": library[case][contender]},
                repeat=25 if fast else 5,
                warmup=2 if fast else 1,
                budget_s=90 if fast else 240,
            )
            ratio = median_ratio(times["http"], times["compute"])
            versus = median_ratio(times["http"], times["notebook"])
            rows.append(
                [
                    method,
                    f"{statistics.median(times['compute']):.0f}",
                    f"{statistics.median(times['http']):.0f}",
                    f"{ratio:.2f}×",
                    f"{contender} {statistics.median(times['notebook']):.0f}",
                    f"{versus:.2f}× (goal ≤ {NOTEBOOK_GOAL[method]})",
                ]
            )
            print(f"  HTTP {method}: {rows[-1][1:]}", flush=True)
    return rows


def run() -> None:
    warnings.filterwarnings("ignore", module="captum")
    retain_freed_memory()  # as `convscope serve` does
    network = get_network("efficientnet-lite0")
    x = network.preprocess(sample("chelsea.png"))[None]
    rows = []
    for method, contenders in cases(network, x):
        slow = "gradient" not in method and "Grad-CAM" not in method
        times = turns(contenders, repeat=5 if slow else 25, warmup=1, budget_s=300 if slow else 60)
        ours = times["ours"]

        def cell(name: str, times: dict[str, list[float]] = times, ours: list[float] = ours) -> str:
            if name not in times:
                return ""
            return f"{statistics.median(times[name]):.0f} ({median_ratio(ours, times[name]):.2f}×)"

        service = median_ratio(times["service"], ours)
        rows.append(
            [
                method,
                f"{statistics.median(ours):.0f}",
                *(cell(name) for name in (FULL, "Captum", f"Captum, batch {BATCH}", "torch-cam")),
                f"{statistics.median(times['service']):.0f} ({service:.2f}×)",
            ]
        )
        print(f"  {method}: " + ", ".join(f"{n} {cell(n)}" for n in times), flush=True)
    table(
        "Saliency, EfficientNet-Lite0 224×224, CPU (ms, medians of turns; (×) = the median "
        "over turns of ours / theirs, and of service / ours)",
        ["method", "ours", FULL, "Captum", f"Captum, batch {BATCH}", "torch-cam", "service"],
        rows,
    )
    table(
        "Saliency over HTTP, EfficientNet-Lite0 224×224, CPU (ms, medians of turns; (×) = "
        "the median over turns of round trip / compute (goal ≤ 1.2×), and of round trip / "
        "the notebook call)",
        [
            "method",
            "compute (service + PNG)",
            "POST .../saliency",
            "round trip / compute",
            "notebook call",
            "round trip / notebook",
        ],
        http_rows(),
    )
