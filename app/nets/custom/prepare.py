"""A user's ``nn.Module`` made safe for the app, on a copy: the known traps handled.

- **Train mode and dropout.** The copy runs in eval mode (dropout off, BatchNorm with its
  running statistics); a ``F.dropout(x, p)`` left on in ``forward`` (its ``training``
  defaults to True) is removed, since a page must show the same numbers twice.
- **In-place operations.** An in-place ReLU changes the tensor the layer before returned,
  which breaks backward hooks (PyTorch issue 61519, Captum 156, pytorch-grad-cam 147) and
  makes a captured feature map show values after the activation. Every module's
  ``inplace`` flag is turned off; an in-place operation in ``forward`` (``x += y``,
  ``x.relu_()``, ``F.relu(x, inplace=True)``) is found by the version counters of the
  layers' outputs and rewritten out of place with ``torch.fx``.
- **Outputs.** The app needs one tensor of class scores, (N, classes). A tuple, a dict or a
  tensor of another shape is refused with a sentence that says so. A final ``Softmax`` or
  ``LogSoftmax`` module is replaced by ``Identity`` (the app takes the softmax itself, and
  saliency explains the scores before it); probabilities computed in ``forward`` are turned
  back into scores by a logarithm (softmax(log p) = p).

Each change is described in :attr:`Prepared.notes`, which the app shows with the network.
"""

from __future__ import annotations

import copy
import inspect
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

#: What ``outputs=`` accepts.
OUTPUTS = ("auto", "logits", "probabilities", "log-probabilities")

#: In-place operators → their out-of-place twins.
_INPLACE_OPERATORS: dict[Callable[..., Any], Callable[..., Any]] = {
    operator.iadd: operator.add,
    operator.isub: operator.sub,
    operator.imul: operator.mul,
    operator.itruediv: operator.truediv,
    operator.ifloordiv: operator.floordiv,
    operator.ipow: operator.pow,
    operator.iand: operator.and_,
    operator.ior: operator.or_,
}
#: Functions that take an ``inplace`` argument.
_INPLACE_FLAG = (
    F.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu, F.hardtanh, F.silu, F.hardswish,
    F.mish, F.rrelu, F.threshold, F.hardsigmoid,
)  # fmt: skip
#: Dropout as a function: at inference it is the identity.
_DROPOUT = (
    F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout,
    torch.dropout, torch.alpha_dropout, torch.feature_dropout,
)  # fmt: skip


class NetworkError(ValueError):
    """A module the app cannot explore as it is; the message says why and what to do."""


@dataclass
class Prepared:
    """The safe copy and what was learnt about it."""

    module: nn.Module
    num_classes: int
    notes: list[str] = field(default_factory=list)


def _out_of_place_flags(model: nn.Module) -> list[str]:
    """Turn every module's ``inplace`` flag off; the names of those that had it on."""
    changed = []
    for name, module in model.named_modules():
        if getattr(module, "inplace", None) is True:
            module.inplace = False
            changed.append(name or type(module).__name__)
    return changed


@dataclass
class _Pass:
    output: Any
    changed: list[str]  # tensors changed in place after they were made (layer names)
    last: str | None  # the last module whose output is the network's output


def _probe(model: nn.Module, x: torch.Tensor) -> _Pass:
    """One pass with hooks on every module that note each output's version counter."""
    seen: list[tuple[str, torch.Tensor, int]] = [("the input", x, x._version)]
    handles = []

    def make(name: str):
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                seen.append((name, output, output._version))

        return hook

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(make(name)))
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    changed = list(dict.fromkeys(n for n, t, v in seen if t._version != v))
    leaves = {name for name, module in model.named_modules() if not any(module.children())}
    last = next((n for n, t, _ in reversed(seen) if t is output and n in leaves), None)
    return _Pass(output, changed, last)


def _describe_output(output: Any) -> str:
    if isinstance(output, dict):
        return f"a dict (keys {', '.join(map(repr, list(output)[:5]))})"
    if isinstance(output, tuple | list):
        return f"a {type(output).__name__} of {len(output)}"
    return f"a {type(output).__name__}"


def _check_output(output: Any, batch: int) -> int:
    """The number of classes, or :class:`NetworkError` naming what is supported."""
    supported = (
        "convscope explores a classifier: its forward must return one tensor of class scores "
        "(logits or probabilities) of shape (N, classes) for N inputs"
    )
    if not isinstance(output, torch.Tensor):
        raise NetworkError(
            f"the network returns {_describe_output(output)}; {supported}. Wrap it in a "
            "module whose forward returns the scores alone (e.g. model(x)[0] or "
            "model(x)['logits'])"
        )
    if output.dim() != 2 or output.shape[0] != batch:
        shape = "×".join(map(str, output.shape))
        raise NetworkError(
            f"the network returns a tensor of shape {shape} for {batch} inputs; {supported}"
            " (flatten a (N, classes, 1, 1) output)"
        )
    if not output.is_floating_point():
        raise NetworkError(f"the network returns {output.dtype} numbers; {supported}")
    return int(output.shape[1])


def _rewrite(model: nn.Module) -> fx.GraphModule:
    """``model`` traced with ``torch.fx``, its in-place operations and dropout calls made
    out of place (module names kept)."""
    graph_module = fx.symbolic_trace(model)
    graph = graph_module.graph
    for node in list(graph.nodes):
        if node.op == "call_function" and node.target in _INPLACE_OPERATORS:
            node.target = _INPLACE_OPERATORS[node.target]
        elif node.op == "call_function" and node.target in _DROPOUT:
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)
        elif node.op == "call_function" and node.target in _INPLACE_FLAG:
            bound = inspect.signature(node.target).bind(*node.args, **node.kwargs)
            if bound.arguments.get("inplace"):
                bound.arguments["inplace"] = False
                node.args, node.kwargs = bound.args, bound.kwargs
        elif node.op == "call_method" and _is_inplace_method(node.target):
            node.target = node.target[:-1]
    graph.lint()
    graph_module.recompile()
    return graph_module


def _is_inplace_method(name: str) -> bool:
    return (
        name.endswith("_")
        and not name.startswith("_")
        and name != "requires_grad_"
        and hasattr(torch.Tensor, name[:-1])
    )


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def _log_of_output(module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
    """A forward hook: probabilities → log-probabilities (scores whose softmax they are)."""
    return torch.log(output.clamp_min(torch.finfo(output.dtype).tiny))


def _looks_like_probabilities(output: torch.Tensor) -> bool:
    total = output.sum(dim=1)
    ones = torch.ones_like(total)
    tolerance = output.shape[1] * torch.finfo(output.dtype).eps * 8
    return bool((output >= 0).all() and torch.allclose(total, ones, rtol=0, atol=tolerance))


def prepare(
    module: nn.Module, input_shape: tuple[int, int, int], outputs: str = "auto"
) -> Prepared:
    """A copy of ``module`` the app can share and differentiate, with its number of classes
    and notes on what was changed; :class:`NetworkError` for a module it cannot explore."""
    if not isinstance(module, nn.Module):
        raise NetworkError(f"expected a torch.nn.Module, not {type(module).__name__}")
    if outputs not in OUTPUTS:
        raise NetworkError(f"outputs must be one of {', '.join(OUTPUTS)}, not {outputs!r}")
    notes: list[str] = []
    model = copy.deepcopy(module).cpu()
    if any(p.is_floating_point() and p.dtype != torch.float32 for p in model.parameters()):
        model = model.float()
        notes.append("its parameters were converted to float32")
    if any(m.training for m in model.modules()):
        modes = (
            (nn.modules.dropout._DropoutNd, "dropout off"),
            (nn.modules.batchnorm._BatchNorm, "BatchNorm with its running statistics"),
        )
        kinds = [type(m) for m in model.modules()]
        found = [words for kind, words in modes if any(issubclass(k, kind) for k in kinds)]
        said = f" ({', '.join(found)})" if found else ""
        notes.append(f"it was in train mode: the app runs it in eval mode{said}")
    model.eval().requires_grad_(False)
    flagged = _out_of_place_flags(model)
    if flagged:
        notes.append("in-place modules made out of place: " + ", ".join(flagged))

    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, *input_shape, generator=generator)
    try:
        first, second = _probe(model, x.clone()), _probe(model, x.clone())
    except Exception as error:
        shape = "×".join(map(str, (2, *input_shape)))
        raise NetworkError(
            f"the network fails on a batch of shape {shape} (the input shape you gave, "
            f"(C, H, W) = {input_shape}, with a batch of 2): {type(error).__name__}: {error}"
        ) from error
    num_classes = _check_output(first.output, 2)
    random = not torch.equal(first.output, second.output)
    if first.changed or random:
        why = (
            f"in-place operations on {', '.join(first.changed)}"
            if first.changed
            else "a dropout that stays on in eval mode (F.dropout(x, p) without "
            "training=self.training)"
        )
        try:
            model = _rewrite(model)
        except Exception as error:
            raise NetworkError(
                f"the network's forward has {why}, and torch.fx cannot trace it to rewrite "
                f"them ({type(error).__name__}: {error}); write them out of place"
            ) from error
        first, second = _probe(model, x.clone()), _probe(model, x.clone())
        if first.changed or not torch.equal(first.output, second.output):
            raise NetworkError(f"the network's forward has {why}: write them out of place")
        notes.append(f"its forward was rewritten with torch.fx to remove {why}")

    last = model.get_submodule(first.last) if first.last else None
    ends_in = isinstance(last, nn.Softmax | nn.LogSoftmax) and first.last is not None
    if outputs in {"auto", "probabilities", "log-probabilities"} and ends_in:
        assert first.last is not None and last is not None
        _replace(model, first.last, nn.Identity())
        notes.append(
            f"its final {type(last).__name__} ({first.last}) was replaced by Identity: the "
            "app computes probabilities from the scores, and saliency explains the scores"
        )
    elif outputs == "probabilities" or (
        outputs == "auto" and _looks_like_probabilities(first.output)
    ):
        model.register_forward_hook(_log_of_output)
        notes.append(
            "its outputs are probabilities: the app takes their logarithm as the scores "
            "(softmax(log p) = p)"
        )
    return Prepared(model, num_classes, notes)
