"""What the lab measures about each layer while a network learns.

For every layer with weights (each ``nn.Conv2d`` and ``nn.Linear``, in definition order):

- the **gradient norm** ‖∂L/∂W‖: the L2 norm of the weight's ``.grad`` after
  ``loss.backward()``, exactly what autograd left there. By the chain rule a layer's
  gradient is a product of the derivatives of every layer after it; in a deep plain network
  each factor is small and the first layers' gradients vanish (Glorot and Bengio 2010),
  while a residual network's identity paths add a term that skips the product (He et al.
  2016);
- the **update ratio** ‖ΔW‖ / ‖W‖: how far the optimiser's step moved the weights, relative
  to their size (about 10⁻³ is healthy for SGD, Karpathy's CS231n notes; a layer whose
  ratio is many orders smaller is not learning).

Both are measured on the step's own tensors without changing them, so an instrumented step
computes the same numbers as a plain one.
"""

from __future__ import annotations

import torch
from torch import nn


def tracked_layers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, weight) of every convolution and dense layer, in definition order."""
    return [
        (name, module.weight)
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear)
    ]


class LayerProbe:
    """Gradient norms and update ratios of one model's layers (see the module docstring)."""

    def __init__(self, model: nn.Module) -> None:
        layers = tracked_layers(model)
        self.names = [name for name, _ in layers]
        self.weights = [weight for _, weight in layers]
        self._before: list[torch.Tensor] = []

    @torch.no_grad()
    def gradient_norms(self) -> list[float]:
        """‖∂L/∂W‖ per layer, from the ``.grad`` autograd left (0 for a layer it did not reach)."""
        grads = [w.grad if w.grad is not None else torch.zeros_like(w) for w in self.weights]
        return torch.stack(torch._foreach_norm(grads)).tolist()  # one synchronisation

    @torch.no_grad()
    def remember(self) -> None:
        """Keep a copy of the weights before the optimiser's step."""
        self._before = [w.detach().clone() for w in self.weights]

    @torch.no_grad()
    def update_ratios(self) -> list[float]:
        """‖W_after − W_before‖ / ‖W_before‖ per layer, for the step since :meth:`remember`."""
        steps = torch._foreach_sub([w.detach() for w in self.weights], self._before)
        moved = torch.stack(torch._foreach_norm(steps))  # (L,)
        size = torch.stack(torch._foreach_norm(self._before))  # (L,)
        self._before = []
        return (moved / size).tolist()
