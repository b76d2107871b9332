"""Batch, layer, group and instance normalisation of a small batch of feature maps, with
every statistic written out (seed 003's "Normalization").

The four differ only in which values share a mean and a variance. Each statistic always
covers whole H×W maps, so which maps (n, c) it pools says it all:

- **BatchNorm**: one per channel c, over the batch and the positions (N, H, W);
- **LayerNorm**: one per example n, over its channels and positions (C, H, W);
- **GroupNorm**: one per example n and group of C / G channels;
- **InstanceNorm**: one per map (n, c), over its positions (H, W).

Then ``x̂ = (x − mean) / √(var + ε)`` with the biased variance, and ``y = γ · x̂ + β`` with
one γ and β per channel (for LayerNorm: the same per channel at every position, a
``nn.LayerNorm((C, H, W))`` whose elementwise weights are constant over H×W).

BatchNorm in training mode uses the batch's statistics and updates the running ones,
``running = (1 − momentum) · running + momentum · batch`` (the variance unbiased, × n/(n − 1));
in evaluation mode it uses the running statistics and updates nothing. Equal to
``F.batch_norm``, ``F.layer_norm``, ``F.group_norm`` and ``F.instance_norm``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from app.ops.arrays import brief, check_number, check_result, compact, to_tensor, to_vector

KINDS = ("batch", "layer", "group", "instance")
MODES = ("train", "eval")

#: The axes each kind averages over, as the page highlights them.
AXES = {
    "batch": ["N", "H", "W"],
    "layer": ["C", "H", "W"],
    "group": ["C / G", "H", "W"],
    "instance": ["H", "W"],
}


@dataclass(frozen=True)
class NormLimits:
    """The largest batch the page normalises: every map is drawn with its numbers."""

    max_batch: int = 4
    max_channels: int = 8
    max_size: int = 8  # height and width of a map
    max_eps: float = 1.0


LIMITS = NormLimits()


def statistic_index(kind: str, n: int, c: int, groups: int) -> torch.Tensor:
    """(N, C): which statistic map (n, c) belongs to, numbered as torch lays them out."""
    ns = torch.arange(n)[:, None].expand(n, c)
    cs = torch.arange(c)[None, :].expand(n, c)
    if kind == "batch":
        return cs.clone()
    if kind == "layer":
        return ns.clone()
    if kind == "group":
        return ns * groups + cs // (c // groups)
    return ns * c + cs


def pooled_statistics(
    x: torch.Tensor, index: torch.Tensor, count: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean, biased variance and number of values of each statistic: the maps of ``x``
    (N×C×H×W) summed by their ``index``."""
    maps = x.reshape(-1, x.shape[2] * x.shape[3])
    ids = index.reshape(-1)
    sizes = torch.zeros(count, dtype=torch.int64).index_add_(0, ids, torch.ones_like(ids))
    values = sizes * maps.shape[1]
    sums = torch.zeros(count, dtype=x.dtype).index_add_(0, ids, maps.sum(dim=1))
    mean = sums / values
    centred = maps - mean[ids][:, None]
    squares = torch.zeros(count, dtype=x.dtype).index_add_(0, ids, (centred**2).sum(dim=1))
    return mean, squares / values, values


def _choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"unknown {name} {brief(value)}: use {', '.join(options)}")
    return str(value)


def normalize(
    *, input: Any, kind: Any, groups: Any = 1, eps: Any = 1e-5, gamma: Any = 1.0,
    beta: Any = 0.0, mode: Any = "train", momentum: Any = 0.1, running_mean: Any = 0.0,
    running_var: Any = 1.0, limits: NormLimits = LIMITS,
) -> dict[str, Any]:  # fmt: skip
    """``POST /api/normalization``: the statistics, x̂ and the output, JSON-ready."""
    kind = _choice(kind, "kind", KINDS)
    x = to_tensor(input, "input", dims=(4,))
    n, c, h, w = x.shape
    for size, most, what in (
        (n, limits.max_batch, "examples in the batch (N)"),
        (c, limits.max_channels, "channels (C)"),
        (max(h, w), limits.max_size, "rows or columns in a map"),
    ):
        if size > most:
            raise ValueError(f"input has {size} {what}; the limit is {most}")
    eps_value = check_number(eps, "eps (ε)")
    if not 0 < eps_value <= limits.max_eps:
        raise ValueError(f"eps (ε) must be above 0 and at most {limits.max_eps:g} (got {eps!r})")
    g = 1
    if kind == "group":
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ValueError(f"groups must be a whole number of at least 1, not {brief(groups)}")
        if c % groups:
            raise ValueError(
                f"groups must divide the {c} channels (every group the same size); "
                f"{groups} does not: use one of "
                + ", ".join(str(d) for d in range(1, c + 1) if c % d == 0)
            )
        if n * (c // groups) * h * w < 2:
            raise ValueError(
                "GroupNorm of one example needs more than one value per group "
                "(C/G·H·W ≥ 2), as torch does; use fewer groups or a larger map"
            )
        g = groups
    if kind == "instance" and h * w < 2:
        raise ValueError(
            "InstanceNorm needs more than one value per map (H·W ≥ 2) to compute a variance, "
            "as torch does; use larger maps"
        )
    weight = to_vector(gamma, "gamma (γ)", c)
    bias = to_vector(beta, "beta (β)", c)
    mode = _choice(mode, "mode", MODES) if kind == "batch" else None

    index = statistic_index(kind, n, c, g)
    count = {"batch": c, "layer": n, "group": n * g, "instance": n * c}[kind]
    mean, var, values = pooled_statistics(x, index, count)
    answer: dict[str, Any] = {"kind": kind, "shape": [n, c, h, w], "axes": AXES[kind]}
    if kind == "batch":
        momentum_value = check_number(momentum, "momentum")
        if not 0 <= momentum_value <= 1:
            raise ValueError(f"momentum must be from 0 to 1 (got {momentum!r})")
        before_mean = to_vector(running_mean, "running_mean", c)
        before_var = to_vector(running_var, "running_var", c)
        if (before_var < 0).any():
            raise ValueError("running_var must not be negative: it is a variance")
        per = int(values[0])
        if mode == "train" and per < 2:
            raise ValueError(
                "training-mode BatchNorm needs more than one value per channel (N·H·W ≥ 2) "
                "to compute a variance, as torch does; use a larger batch or map, or eval mode"
            )
        unbiased = var * per / (per - 1) if per > 1 else var
        if mode == "train":
            after_mean = (1 - momentum_value) * before_mean + momentum_value * mean
            after_var = (1 - momentum_value) * before_var + momentum_value * unbiased
        else:
            mean, var = before_mean, before_var
            after_mean, after_var = before_mean, before_var
        answer["running"] = {
            "momentum": momentum_value,
            "mean_before": compact(before_mean),
            "var_before": compact(before_var),
            "unbiased_var": compact(unbiased) if mode == "train" else None,
            "mean_after": compact(check_result(after_mean, "the running mean")),
            "var_after": compact(check_result(after_var, "the running variance")),
        }
    answer["mode"] = mode

    ids = index.reshape(-1)
    denominator = torch.sqrt(var + eps_value)
    maps = x.reshape(n * c, h * w)
    normalized = ((maps - mean[ids][:, None]) / denominator[ids][:, None]).reshape(x.shape)
    output = weight[None, :, None, None] * normalized + bias[None, :, None, None]
    answer.update(
        {
            "groups": g,
            "eps": eps_value,
            "gamma": compact(weight),
            "beta": compact(bias),
            "index": index.numpy(),
            "mean": compact(check_result(mean, "a mean")),
            "var": compact(check_result(var, "a variance")),
            "std": compact(check_result(denominator, "√(var + ε)")),
            "values": values.numpy() if mode != "eval" else None,
            "normalized": compact(check_result(normalized, "x̂")),
            "output": compact(check_result(output)),
        }
    )
    return answer
