"""The architecture table of a large network: traced on the meta device (what the app does,
``app.nets.summary.summarize``) against what it did before, a forward pass with a hook on
every layer on a deep copy of the network on the CPU.

Per network, timed in turns (``bench.common.turns``) on the same built network: the meta
trace copies no weight and computes nothing; the forward pass copies every weight and
computes every layer (VGG-16: 528 MB of weights, 15.5 G multiply-adds). The ratio is the
median of the per-round ratios. The last column is what the forward pass had to copy."""

from __future__ import annotations

import copy
import statistics

import torch

from app.explain.hooks import capture
from app.nets.registry import build_model, get_model_spec
from app.nets.summary import summarize
from bench.common import median_ratio, size, table, turns

NETWORKS = ("efficientnet-lite0", "resnet18", "resnet50", "vgg16")


def forward_pass(model: torch.nn.Module, shape: tuple[int, int, int]) -> None:
    private = copy.deepcopy(model).cpu()
    capture(private, torch.zeros(1, *shape))


def measure(name: str) -> list[str]:
    """One row: the network built once (random weights for an untrained one), both ways."""
    model = build_model(name)
    shape = get_model_spec(name).input_shape
    times = turns(
        {"meta": lambda: summarize(model, shape), "forward": lambda: forward_pass(model, shape)},
        repeat=5,
        warmup=1,
        budget_s=20.0,
    )
    meta, forward = (statistics.median(times[k]) for k in ("meta", "forward"))
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    ratio = median_ratio(times["forward"], times["meta"])
    return [name, f"{meta:.0f}", f"{forward:.0f}", f"{ratio:.1f}×", size(weights)]


def run() -> None:
    table(
        "Architecture table: meta-device trace vs a hooked forward pass on a CPU copy (ms)",
        ["network", "meta trace", "copy + forward", "forward / meta", "weights copied"],
        [measure(name) for name in NETWORKS],
    )
