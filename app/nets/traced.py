"""A network's pass traced to TorchScript, so that concurrent computations do not queue for
Python's interpreter lock between the network's operations.

An eager forward is hundreds of Python calls (a module, a functional, the next module), and
each one takes the interpreter lock again. Beside another busy thread (a server's event loop
answering a lecture hall) each of those takes waits its turn: measured on the 2-core
machine, eight images' forward and backward through EfficientNet-Lite0 on one thread took
647 ms alone and 1,312 ms beside a Python loop. The traced pass is one call that runs the
same operations in C++ without the lock (642 ms alone, 751 beside the loop); autograd's
backward already runs without it.

:func:`trace` returns the traced module only if it computes what the module computes on a
random batch of two (a ``forward`` whose steps depend on the values, or that tracing cannot
follow, keeps the eager module). ``layer``: the pass also returns that layer's output, for
Grad-CAM. The graph runs unoptimised (:func:`run`): the same operations as the eager pass,
with no profiling runs or recompilation when the batch size changes.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import torch
from torch import nn


class _WithLayer(nn.Module):
    """The model's logits and the output of its module ``layer`` (its first call in this
    pass: the hook keeps the calling thread's outputs only)."""

    def __init__(self, model: nn.Module, layer: str) -> None:
        super().__init__()
        self.model = model
        self.layer = model.get_submodule(layer)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        captured: list[torch.Tensor] = []
        caller = threading.get_ident()  # another thread may run the shared module meanwhile

        def keep(_m: nn.Module, _i: Any, out: torch.Tensor) -> None:
            if threading.get_ident() == caller:
                captured.append(out)

        handle = self.layer.register_forward_hook(keep)
        try:
            logits = self.model(x)
        finally:
            handle.remove()
        return logits, captured[0]


def trace(
    model: nn.Module, input_shape: tuple[int, ...], device: torch.device, layer: str | None = None
) -> torch.jit.ScriptModule | None:
    """``model`` (eval mode, frozen) traced on a batch of one in the channels-last layout,
    or ``None`` if tracing fails or its outputs differ from the module's."""
    wrapped = model if layer is None else _WithLayer(model, layer)
    generator = torch.Generator().manual_seed(0)
    example = torch.randn(2, *input_shape, generator=generator).to(device)
    example = example.contiguous(memory_format=torch.channels_last)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings: checked below instead
            traced = torch.jit.trace(wrapped, example[:1], check_trace=False)
            ours, theirs = run(traced, example), wrapped(example)
    except Exception:  # whatever tracing cannot follow: the eager pass serves
        return None
    pairs = zip(_flat(ours), _flat(theirs), strict=False)
    if len(_flat(ours)) != len(_flat(theirs)) or not all(_same(a, b) for a, b in pairs):
        return None
    return traced


def run(traced: torch.jit.ScriptModule, x: torch.Tensor) -> Any:
    """The traced pass on ``x``, unoptimised (the eager pass's operations, one by one)."""
    with torch.jit.optimized_execution(False):
        return traced(x)


class TracedPass(nn.Module):
    """A traced pass as a module: calling it runs :func:`run` (its parameters are the
    traced module's)."""

    def __init__(self, traced: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.traced = traced

    def forward(self, x: torch.Tensor) -> Any:
        return run(self.traced, x)


def _flat(value: Any) -> list[torch.Tensor]:
    return list(value) if isinstance(value, tuple | list) else [value]


def _same(a: Any, b: Any) -> bool:
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor) or a.shape != b.shape:
        return False
    scale = max(1.0, float(b.abs().max()))
    return bool(torch.allclose(a, b, rtol=0, atol=1e-4 * scale))
