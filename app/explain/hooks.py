"""Capture the activations of a network's layers with forward hooks: ONE helper for the app.

:func:`hooked` registers a forward hook on each chosen layer and removes every handle in
``finally``, so no hook outlives the ``with`` block, even when the forward pass raises (as
Captum does; tested). On top of it:

- :func:`capture`: one forward pass under ``torch.inference_mode`` → the output plus
  layer name → output tensor, in execution order.
- :func:`layer_output`: one layer's output alone; the forward pass stops right after that
  layer, so nothing after it is computed and nothing else is kept. With ``grad=True`` it
  runs with autograd on (activation maximisation differentiates through it).

Gradient methods (``app.explain.saliency``) use :func:`hooked` under ``torch.enable_grad``;
with ``as_leaf=True`` a hooked layer's output is handed on as a detached tensor that
requires grad (no data copied), so a backward pass from the model's output stops at that
layer and its gradient can be asked for directly (what Grad-CAM needs, without
differentiating the layers before it). The shared models' parameters stay frozen.

Models are shared between the threads of the compute pool, and a hook registered on a shared
module fires for every thread's forward pass. Each hook therefore records only the passes
of the thread that registered it: concurrent captures on one model never mix.

A hooked tensor is the very tensor the next layer reads (no copy): every architecture here
uses out-of-place operations only, so the captured values are final.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from app.nets.names import UnknownName


def leaf_layers(model: nn.Module) -> list[str]:
    """Names of the modules that hold no other module (conv, bn, activation, ...)."""
    return [name for name, module in model.named_modules() if name and not any(module.children())]


_CALL = re.compile(r"^(?P<name>.+) \((?P<call>[2-9]|[1-9]\d+)\)$")


def split_call(key: str) -> tuple[str, int]:
    """``"relu (2)"`` → ``("relu", 2)``: a layer key names a module and which of its calls
    in the forward pass (a module run twice has rows ``relu`` and ``relu (2)``)."""
    match = _CALL.match(key)
    return (match["name"], int(match["call"])) if match else (key, 1)


def module_of(model: nn.Module, key: str) -> nn.Module:
    """The module a layer key names (``relu (2)`` is the module ``relu``)."""
    return model.get_submodule(split_call(key)[0])


def resolve_layers(model: nn.Module, layers: Iterable[str] | None) -> dict[str, nn.Module]:
    """Key → module for ``layers`` (every leaf when ``None``); unknown names are refused.

    A key may name a later call of a module run more than once (``relu (2)``)."""
    names = leaf_layers(model) if layers is None else list(layers)
    found = {}
    for name in names:
        try:
            if not name or not isinstance(name, str):
                raise AttributeError(name)
            found[name] = model.get_submodule(name)  # a walk down the path, not a full listing
        except AttributeError:
            base, call = split_call(name) if isinstance(name, str) else (name, 1)
            try:
                if call == 1:
                    raise
                found[name] = model.get_submodule(base)
            except AttributeError:
                raise UnknownName("layer", str(name), leaf_layers(model)) from None
    return found


@dataclass
class Record:
    """What the hooks saw, filled during the forward pass in execution order."""

    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # when keep_inputs


class _StopForward(Exception):
    """Raised by a hook to end a forward pass once the wanted layer has run."""


@contextmanager
def hooked(
    model: nn.Module,
    layers: Iterable[str] | None = None,
    *,
    keep_inputs: bool = False,
    stop_after: str | None = None,
    as_leaf: bool = False,
) -> Iterator[Record]:
    """Hooks on ``layers`` (every leaf by default) for the duration of the block.

    A module that runs twice in one pass is recorded as ``name``, then ``name (2)``, ...;
    ``layers`` may ask for one call alone (``relu (2)``).
    With ``stop_after`` the hook of that layer ends the pass by raising an exception that
    :func:`layer_output` catches. With ``as_leaf`` each hooked output is replaced, for the
    rest of the pass, by ``output.detach().requires_grad_()`` (the tensor recorded): the
    layers after it are differentiated, the ones before it are not.
    """
    wanted = resolve_layers(model, layers)
    every_call = layers is None  # every leaf, each of its calls
    modules: dict[str, nn.Module] = {}  # module name → module, each hooked once
    for key, module in wanted.items():
        modules.setdefault(split_call(key)[0], module)
    owner = threading.get_ident()
    record = Record()
    handles = []

    def make_hook(name: str):
        calls = 0

        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
            nonlocal calls
            if threading.get_ident() != owner:
                return None  # another thread's pass through the same shared model
            calls += 1
            key = name if calls == 1 else f"{name} ({calls})"
            if not every_call and key not in wanted:
                return None  # another call of this module than the one asked for
            if as_leaf:
                output = output.detach().requires_grad_()
            record.outputs[key] = output
            if keep_inputs:
                record.inputs[key] = args
            if key == stop_after:
                raise _StopForward
            return output if as_leaf else None

        return hook

    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(make_hook(name)))
        yield record
    finally:
        for handle in handles:
            handle.remove()


@dataclass(frozen=True)
class Captured:
    """A forward pass with the outputs of the hooked layers."""

    output: torch.Tensor  # the model's output, e.g. (N, classes) logits
    activations: dict[str, torch.Tensor]  # layer name → its output, in execution order
    inputs: dict[str, tuple[Any, ...]]  # layer name → its inputs (only with keep_inputs)


def capture(
    model: nn.Module,
    x: torch.Tensor,
    layers: Iterable[str] | None = None,
    *,
    keep_inputs: bool = False,
) -> Captured:
    """Run ``model(x)`` under ``torch.inference_mode`` and keep the chosen layers' outputs."""
    with torch.inference_mode(), hooked(model, layers, keep_inputs=keep_inputs) as record:
        output = model(x)
    return Captured(output, record.outputs, record.inputs)


def layer_output(
    model: nn.Module, x: torch.Tensor, layer: str, *, grad: bool = False
) -> torch.Tensor:
    """The output of one layer for ``x``; layers after it are not computed.

    Under ``torch.inference_mode`` by default; with ``grad=True`` autograd records the pass,
    so the output can be differentiated with respect to ``x`` (when ``x`` requires grad).
    """
    with (
        torch.enable_grad() if grad else torch.inference_mode(),
        hooked(model, [layer], stop_after=layer) as record,
        suppress(_StopForward),  # raised by the hook once the layer has run
    ):
        model(x)
    if layer not in record.outputs:
        raise ValueError(f"layer {layer!r} did not run in the forward pass")
    return record.outputs[layer]
