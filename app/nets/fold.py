"""BatchNorm folded into the convolution before it: the same function, a third less work.

In eval mode a ``BatchNorm2d`` is a fixed affine map per channel, ``γ (y − μ) / √(σ² + ε) +
β``, and a convolution is linear, so the pair is one convolution with each output channel's
weights scaled by ``s = γ / √(σ² + ε)`` and bias ``(b − μ) s + β`` (Jacob et al., 2018,
§3.2). The folded copy computes the same logits (up to float rounding) and the same
gradients with respect to its input, without BatchNorm's passes over every activation: on
EfficientNet-Lite0 at 224×224, BatchNorm's forward and backward were about 30% of a
saliency pass (``torch.profiler``, eight images).

Only the input-to-output function is kept: the output of a folded convolution is its
BatchNorm's, so a method that reads a layer (Grad-CAM) uses the copy only for layers whose
output is unchanged (:attr:`Folded.convs` names the others). Pairs are found inside
``nn.Sequential`` containers (a convolution whose next module is a BatchNorm2d over its
channels, the convolution used nowhere else); the shared module is never changed. A network
whose ``forward`` reads a folded convolution some other way would compute something else,
so :meth:`app.nets.network.Network.folded` keeps a copy only if its logits match.

B. Jacob et al. Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-
Only Inference. CVPR 2018.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn


@dataclass(frozen=True)
class Folded:
    """A folded copy of a module and the names of its convolutions that were folded."""

    module: nn.Module
    convs: frozenset[str]


def foldable(conv: nn.Module, bn: nn.Module) -> bool:
    """Whether ``bn`` (in eval mode) can be folded into ``conv`` before it."""
    return (
        isinstance(conv, nn.Conv2d)
        and type(bn) is nn.BatchNorm2d
        and bn.running_mean is not None
        and bn.running_var is not None
        and bn.num_features == conv.out_channels
    )


@torch.no_grad()
def fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Scale ``conv``'s weights and set its bias so that it computes ``bn(conv(x))`` (in
    float64, then back to the weights' dtype)."""
    weight = conv.weight.double()
    var = bn.running_var.double()  # type: ignore[union-attr]
    mean = bn.running_mean.double()  # type: ignore[union-attr]
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(var)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(var)
    conv.weight.copy_((weight * scale.view(-1, 1, 1, 1)).to(conv.weight.dtype))
    folded_bias = ((bias - mean) * scale + beta).to(conv.weight.dtype)
    conv.bias = nn.Parameter(folded_bias, requires_grad=conv.weight.requires_grad)


def fold_batchnorm(module: nn.Module) -> Folded:
    """An eval-mode copy of ``module`` with every foldable BatchNorm folded into the
    convolution before it and replaced by ``nn.Identity`` (names unchanged)."""
    folded = copy.deepcopy(module).eval()
    uses: dict[int, int] = {}  # a module in two places is left alone (folding it twice)
    for _, each in folded.named_modules(remove_duplicate=False):
        uses[id(each)] = uses.get(id(each), 0) + 1
    convs = []
    for prefix, container in folded.named_modules():
        if not isinstance(container, nn.Sequential):
            continue
        names = list(container._modules)
        for first, second in pairwise(names):
            conv, bn = container._modules[first], container._modules[second]
            if conv is None or bn is None or not foldable(conv, bn) or uses[id(conv)] > 1:
                continue
            fold_into(conv, bn)  # type: ignore[arg-type]
            container._modules[second] = nn.Identity()
            convs.append(f"{prefix}.{first}" if prefix else first)
    return Folded(folded, frozenset(convs))
