"""Integrated Gradients (Sundararajan, Taly and Yan 2017, "Axiomatic Attribution for Deep
Networks"): each input element's share of f(x) − f(baseline).

    IG_i(x) = (x_i − x'_i) · ∫₀¹ ∂f(x' + α(x − x')) / ∂x_i dα

for a baseline x' (a black image in the paper), the integral approximated with ``steps``
points. The rules are Captum's (``captum.attr._utils.approximation_methods``):
Gauss–Legendre (Captum's default: exact for polynomials of degree 2·steps − 1, so few steps
suffice) or the Riemann sums left, right, middle and trapezoid. By completeness (the
paper's axiom) the attributions add up to f(x) − f(x'); ``convergence_delta`` says how far
off the approximation is. Captum's trapezoid rule (kept, to agree with it) takes steps of
1/n with the two ends halved, so its weights add up to 1 − 1/n rather than 1. Captum:
``IntegratedGradients(model).attribute(x, baselines, target, n_steps=steps, method=rule)``.

The points along the path go through the network in batches (alpha-major like Captum's:
all images at α₁, then at α₂, ...), with progress reported before each batch. The map is
the sum over colour channels, signed: positive where the pixel raised the class score,
and the map itself adds up to f(x) − f(x').
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from app.explain.params import Param
from app.explain.progress import Progress, batches
from app.explain.saliency.base import (
    Explanation,
    Target,
    as_baseline,
    as_targets,
    input_gradients,
    network_layout,
    target_scores,
)
from app.explain.saliency.baselines import WithBaseline, baseline_param
from app.nets.network import Network

RULES = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")
STEPS = Param("steps", int, 32, 1, 300, doc="points along the path from the baseline")
RULE = Param("rule", str, "gausslegendre", choices=RULES, doc="how the integral is approximated")


def quadrature(rule: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(alphas, weights), float32, of ``steps`` points of ``rule`` on [0, 1] (Captum's)."""
    RULE.check(rule)
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)  # on [−1, 1]
        nodes, weights = 0.5 * (1 + nodes), 0.5 * weights  # on [0, 1]
        return torch.tensor(nodes.tolist()), torch.tensor(weights.tolist())
    if steps < 2:
        raise ValueError(f"the {rule} rule needs at least 2 steps (got {steps})")
    sizes = [1 / steps] * steps
    kind = rule.removeprefix("riemann_")
    if kind == "trapezoid":
        sizes[0] /= 2
        sizes[-1] /= 2
        alphas = torch.linspace(0, 1, steps)
    else:
        start, end = {"left": (0, 1 - 1 / steps), "right": (1 / steps, 1)}.get(
            kind, (1 / (2 * steps), 1 - 1 / (2 * steps))
        )
        alphas = torch.linspace(start, end, steps)
    return alphas, torch.tensor(sizes)


class IntegratedGradients(WithBaseline):
    name = "integrated-gradients"
    title = "Integrated Gradients"
    paper = "M. Sundararajan, A. Taly, Q. Yan. Axiomatic Attribution for Deep Networks. ICML 2017."
    reduction = "sum over colour channels (signed; the map adds up to f(x) − f(baseline))"
    signed = True
    params = (STEPS, RULE)
    cap_percentile = 99.0

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        steps: int = STEPS.default,
        rule: str = RULE.default,
        batch_size: int | None = None,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.steps = STEPS.check(steps)
        self.rule = RULE.check(rule)
        self.alphas, self.weights = quadrature(self.rule, self.steps)

    def attribute(
        self,
        x: torch.Tensor,
        target: Target,
        *,
        baseline: torch.Tensor | float = 0.0,
        progress: Progress | None = None,
    ) -> torch.Tensor:
        """(N, C, H, W) (x − x') times the path-averaged gradient."""
        x = self.prepare(x)
        base = as_baseline(baseline, x)
        n, shape = x.shape[0], x.shape[1:]
        targets = as_targets(target, n)
        delta = x - base  # (N, C, H, W)
        alphas = self.alphas.to(x.device, x.dtype)
        weights = self.weights.to(x.device, x.dtype)
        per_batch = max(1, self.images_per_batch(x) // n)  # path points per pass
        total = torch.zeros_like(x)
        for part in batches(self.steps, per_batch, progress):
            a = alphas[part]  # (k,)
            points = (base + a[:, None, None, None, None] * delta).flatten(0, 1)  # (k·N, C, H, W)
            grads = input_gradients(self.model, points, targets.repeat(len(a)))
            weighted = grads.view(len(a), n, *shape) * weights[part, None, None, None, None]
            total += weighted.sum(dim=0)
        return total * delta

    @classmethod
    def settings_for(cls, network: Network) -> tuple[Param, ...]:
        """Steps and rule, and the baseline (black, the paper's)."""
        return (*cls.params, baseline_param("black", "x'"))

    def completeness(
        self, explained: Explanation, x: torch.Tensor, **options: Any
    ) -> dict[str, float] | None:
        """Σ map against f(x) − f(x'): the integral's error for the first image."""
        target = int(explained.target[0])
        delta = float(self.convergence_delta(explained.attribution, x, target, **options)[0])
        total = float(explained.attribution.sum())
        return {"sum": total, "expected": total - delta, "delta": delta}

    def convergence_delta(
        self,
        attribution: torch.Tensor,
        x: torch.Tensor,
        target: Target,
        *,
        baseline: torch.Tensor | float = 0.0,
    ) -> torch.Tensor:
        """(N,) Σ attribution − (f(x) − f(x')) for the target: 0 for an exact integral."""
        x = self.prepare(x)
        base = as_baseline(baseline, x)
        with torch.inference_mode():
            ends = self.model(network_layout(torch.cat([x, base.expand_as(x)])))
        scores = target_scores(ends, torch.cat([as_targets(target, x.shape[0])] * 2))
        gap = scores[: x.shape[0]] - scores[x.shape[0] :]
        return attribution.flatten(1).sum(1).to(gap.dtype) - gap

    @staticmethod
    def to_map(attribution: torch.Tensor) -> torch.Tensor:
        """(N, H, W) the attribution summed over channels (signed)."""
        return attribution.sum(dim=1)
