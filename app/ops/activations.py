"""Activation functions: curves with their derivatives, maxout, and their effect on a feature map.

Every value comes from torch: the functions from ``torch.nn.functional`` and the derivatives
from autograd (tests/ops/test_activations.py checks them against the closed forms shown on
the page). At the kink x = 0 autograd takes the left-hand slope: ReLU'(0) = 0, leaky
ReLU'(0) = a, ELU'(0) = α.

Sources: ReLU, Nair & Hinton (2010); leaky ReLU, Maas, Hannun & Ng (2013); ELU, Clevert,
Unterthiner & Hochreiter (2016); maxout, Goodfellow, Warde-Farley, Mirza, Courville &
Bengio, "Maxout Networks" (2013).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arrays import brief, check_result, shown

CURVE_STEPS = 20  # samples per unit of x
CURVE_REACH = 5  # curves span x = −5 … 5, the kink at 0 a sample
HISTOGRAM_BINS = 20
MAX_SLOPE = 1.0
MAX_ALPHA = 5.0
MAX_MAP_SIDE = 96  # feature maps given as numbers: up to 96×96


@dataclass(frozen=True)
class Activation:
    """One activation function with how the page writes it."""

    name: str
    title: str
    formula: str
    derivative: str
    parameter: str | None  # the name of its one setting, if it has one
    function: Callable[[torch.Tensor, float], torch.Tensor]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "derivative": self.derivative,
            "parameter": self.parameter,
        }


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("relu", "ReLU", "max(0, x)", "1 if x > 0, else 0", None, lambda x, _: F.relu(x)),
        Activation(
            "leaky_relu",
            "Leaky ReLU",
            "max(a·x, x)",
            "1 if x > 0, else a",
            "negative_slope",
            lambda x, a: F.leaky_relu(x, a),
        ),
        Activation(
            "elu",
            "ELU",
            "x if x > 0, else α·(eˣ − 1)",
            "1 if x > 0, else α·eˣ",
            "alpha",
            lambda x, alpha: F.elu(x, alpha),
        ),
        Activation(
            "sigmoid",
            "Sigmoid",
            "σ(x) = 1 / (1 + e⁻ˣ)",
            "σ(x)·(1 − σ(x))",
            None,
            lambda x, _: torch.sigmoid(x),
        ),
        Activation("tanh", "tanh", "tanh(x)", "1 − tanh²(x)", None, lambda x, _: torch.tanh(x)),
    ]
}

#: What the notes use (max(0.1x, x)); torch's own default for ``F.leaky_relu`` is 0.01.
DEFAULTS = {"negative_slope": 0.1, "alpha": 1.0}


def get_activation(name: Any) -> Activation:
    """An activation by name; ``ValueError`` listing the known names otherwise."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown function {brief(name)}; known: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is {value}: only finite numbers are allowed")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} (got {shown(value)})")
    return float(value)


def setting(activation: Activation, negative_slope: Any, alpha: Any) -> float:
    """The validated value of the activation's one setting (0 when it has none)."""
    if activation.parameter == "negative_slope":
        return _number(negative_slope, "negative_slope", 0.0, MAX_SLOPE)
    if activation.parameter == "alpha":
        return _number(alpha, "alpha", 0.0, MAX_ALPHA)
    return 0.0


def evaluate(activation: Activation, x: torch.Tensor, value: float) -> torch.Tensor:
    """f(x), elementwise."""
    return activation.function(x, value)


def derivative(activation: Activation, x: torch.Tensor, value: float) -> torch.Tensor:
    """f'(x), elementwise, by autograd (each output depends only on its own input)."""
    leaf = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(activation.function(leaf, value).sum(), leaf)
    return grad


def curve_x() -> torch.Tensor:
    """(201,) x = −5, −4.95, …, 5, each the nearest double to k/20 (0 exactly)."""
    reach = CURVE_REACH * CURVE_STEPS
    return torch.arange(-reach, reach + 1, dtype=torch.float64) / CURVE_STEPS


def curve(activation: Activation, value: float) -> dict[str, Any]:
    """The function and its derivative sampled on [−5, 5]."""
    x = curve_x()
    return {
        "name": activation.name,
        "setting": value if activation.parameter else None,
        "x": x.tolist(),
        "y": evaluate(activation, x, value).tolist(),
        "derivative": derivative(activation, x, value).tolist(),
    }


def all_curves(negative_slope: float, alpha: float) -> dict[str, Any]:
    """Every function's curve, with the given settings."""
    return {a.name: curve(a, setting(a, negative_slope, alpha)) for a in ACTIVATIONS.values()}


def _stats(values: torch.Tensor) -> dict[str, float]:
    return {
        "min": values.min().item(),
        "max": values.max().item(),
        "mean": values.mean().item(),
        "negative": (values < 0).double().mean().item(),  # fraction below zero
        "zero": (values == 0).double().mean().item(),
    }


def apply(activation: Activation, value: float, before: torch.Tensor) -> dict[str, Any]:
    """The activation applied to a feature map (H×W): both maps, histograms on shared bins."""
    after = check_result(evaluate(activation, before, value), "the activated map")
    low = min(before.min().item(), after.min().item())
    high = max(before.max().item(), after.max().item())
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    edges = torch.linspace(low, high, HISTOGRAM_BINS + 1, dtype=torch.float64)
    return {
        "function": activation.name,
        "setting": value if activation.parameter else None,
        "before": before.tolist(),
        "after": after.tolist(),
        "shape": list(before.shape),
        "histogram": {
            "edges": edges.tolist(),
            "centers": ((edges[:-1] + edges[1:]) / 2).tolist(),
            "before": torch.histc(before, HISTOGRAM_BINS, low, high).long().tolist(),
            "after": torch.histc(after, HISTOGRAM_BINS, low, high).long().tolist(),
        },
        "stats": {"before": _stats(before), "after": _stats(after)},
        "changed": int((after != before).sum().item()),
    }


# ---------------------------------------------------------------- maxout

#: A maxout unit with k = 3 linear pieces over a 2-input x: max_k (w_kᵀx + b_k).
MAXOUT_W = [[1.0, 0.5], [-1.0, 2.0], [0.5, 1.0]]
MAXOUT_B = [0.0, 1.0, -0.5]
MAXOUT_X = [2.0, -1.0]
#: In one dimension, max of three lines: a convex, piecewise-linear function.
MAXOUT_LINES = [(-1.0, -1.0), (0.25, 0.5), (1.5, -1.0)]  # (slope, intercept)


def maxout_example() -> dict[str, Any]:
    """A worked maxout unit (each piece's products and sum, the winner) and a 1-D picture."""
    w = torch.tensor(MAXOUT_W, dtype=torch.float64)  # (k, inputs)
    b = torch.tensor(MAXOUT_B, dtype=torch.float64)  # (k,)
    x = torch.tensor(MAXOUT_X, dtype=torch.float64)  # (inputs,)
    z = w @ x + b  # (k,)
    value, winner = z.max(dim=0)
    grid = curve_x()
    slopes = torch.tensor([s for s, _ in MAXOUT_LINES], dtype=torch.float64)
    intercepts = torch.tensor([c for _, c in MAXOUT_LINES], dtype=torch.float64)
    pieces = slopes[:, None] * grid[None] + intercepts[:, None]  # (3, points)
    return {
        "x": x.tolist(),
        "pieces": [
            {"weights": w[k].tolist(), "bias": b[k].item(), "value": z[k].item()}
            for k in range(len(MAXOUT_B))
        ],
        "value": value.item(),
        "winner": int(winner),
        "curve": {
            "x": grid.tolist(),
            "lines": [{"slope": s, "intercept": c} for s, c in MAXOUT_LINES],
            "pieces": pieces.tolist(),
            "y": pieces.max(dim=0).values.tolist(),
        },
    }
