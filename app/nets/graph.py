"""The graph of a network as it runs: every layer (leaf module) called and every tensor
function called between layers, each with the nodes whose outputs it reads.

The trace runs the network once, on a copy whose parameters live on PyTorch's ``meta``
device (shapes without data: no memory for VGG-16's 138 million weights, no arithmetic),
and watches it two ways:

- forward hooks on every module, on the copy only (the shared network is never hooked):
  a leaf module's call is a node; a non-leaf module's call names the scope of what runs
  inside it;
- a :class:`~torch.overrides.TorchFunctionMode`, which sees every tensor function called
  outside the leaf modules: ``x + y`` (a residual sum written inline), ``torch.cat`` (a
  skip connection), ``F.relu``, ``torch.flatten``, ``x[..., a:b]`` (a crop).

So it follows the code that really runs: Python control flow, a module called twice (its
second call is ``name (2)``, as :func:`app.explain.hooks.hooked` names it), in-place
operations. A tensor's producer is tracked by identity (every tensor is kept alive until
the trace ends, so no identity is reused). If the meta pass fails (a network that reads
its data, such as ``if x.max() > 0``), the same trace runs for real on a CPU copy with an
input of zeros.

This is more robust than ``torch.fx.symbolic_trace``, which cannot follow control flow
that depends on shapes or values and turns a network's own Python into graph nodes.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

INPUT = "input"
Kind = Literal["module", "function"]

#: Functions that change nothing a table shows: their output stands for their input.
PASS_THROUGH = frozenset(
    {"contiguous", "clone", "detach", "to", "float", "double", "half", "bfloat16", "type"}
    | {"cpu", "cuda", "requires_grad", "type_as", "alias"}
)
#: Python operators' names → the function they are (``x += y`` is an addition).
ALIASES = {"iadd": "add", "radd": "add", "isub": "sub", "rsub": "sub", "imul": "mul",
           "rmul": "mul", "itruediv": "div", "truediv": "div", "rtruediv": "div",
           "matmul": "matmul", "rmatmul": "matmul"}  # fmt: skip


@dataclass(frozen=True)
class Shape:
    """A tensor argument of a function, as the trace keeps it: its shape only."""

    dims: tuple[int, ...]


@dataclass(frozen=True)
class Node:
    """One call in the graph."""

    name: str  # a module's path (``layer1.0.conv1``), or the scope and function (``add()``)
    kind: Kind
    type: str  # the module's class name, or the function's name
    inputs: tuple[str, ...]  # the nodes (or "input") whose outputs it reads, in order
    input_shapes: tuple[tuple[int, ...], ...]  # with the batch dimension
    output_shape: tuple[int, ...]  # with the batch dimension (the first output's)
    call: tuple[Any, ...] = ()  # a function's positional arguments, each tensor as its Shape
    options: dict[str, Any] = field(default_factory=dict)  # its keyword arguments
    parameters: int = 0  # parameters first used by this call (a module's own, once)
    scope: str = ""  # the module the call runs in ("" at the top)

    @property
    def module_name(self) -> str:
        """A module node's module path (``name`` without `` (2)``)."""
        return self.name.split(" (")[0]


@dataclass(frozen=True)
class Graph:
    input_shape: tuple[int, ...]  # with the batch dimension
    nodes: tuple[Node, ...]
    itemsize: int  # bytes per value of the network's dtype
    on_meta: bool  # traced with shapes only (else for real, on zeros)


def meta_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose parameters and buffers are on the ``meta`` device (no data
    copied, whatever the model's size)."""
    memo: dict[int, Any] = {}
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        empty = torch.empty_like(tensor, device="meta")
        if isinstance(tensor, nn.Parameter):
            empty = nn.Parameter(empty, requires_grad=tensor.requires_grad)
        memo[id(tensor)] = empty
    return copy.deepcopy(model, memo)


def function_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or type(func).__name__
    name = name.strip("_")
    if name.endswith("_") and name[:-1]:
        name = name[:-1]  # relu_ → relu
    return ALIASES.get(name, name)


class _Tracer(TorchFunctionMode):
    """Records the graph while the copy runs (hooks and this mode share one state)."""

    def __init__(self, model: nn.Module, x: torch.Tensor) -> None:
        super().__init__()
        self.names = {id(m): name for name, m in model.named_modules()}
        self.leaves = {id(m) for m in model.modules() if not any(m.children())}
        self.producer: dict[int, str] = {id(x): INPUT}
        self.keep: list[Any] = [x]  # every tensor seen, alive until the end (ids unique)
        self.params = {id(p) for p in model.parameters()}
        self.counted: set[int] = set()  # parameters already attributed to a node
        self.nodes: list[Node] = []
        self.taken: set[str] = set()
        self.scopes: list[str] = []
        self.in_leaf = 0

    def unique(self, name: str) -> str:
        key, n = name, 1
        while key in self.taken:
            n += 1
            key = f"{name} ({n})"
        self.taken.add(key)
        return key

    def tensors(self, value: Any) -> list[torch.Tensor]:
        return [t for t in tree_flatten(value)[0] if isinstance(t, torch.Tensor)]

    def sources(self, args: Any) -> tuple[list[str], list[tuple[int, ...]]]:
        names, shapes = [], []
        for t in self.tensors(args):
            if id(t) in self.producer:
                names.append(self.producer[id(t)])
                shapes.append(tuple(t.shape))
        return names, shapes

    def new_parameters(self, tensors: list[torch.Tensor]) -> int:
        count = 0
        for t in tensors:
            if id(t) in self.params and id(t) not in self.counted:
                self.counted.add(id(t))
                count += t.numel()
        return count

    def record(self, node: Node, output: Any) -> None:
        self.nodes.append(node)
        for t in self.tensors(output):
            self.producer[id(t)] = node.name
            self.keep.append(t)

    # ------------------------------------------------------------------ modules (hooks)

    def before(self, module: nn.Module, args: Any, kwargs: Any) -> None:
        if id(module) in self.leaves:
            self.in_leaf += 1
        else:
            self.scopes.append(self.names[id(module)])

    def after(self, module: nn.Module, args: Any, kwargs: Any, output: Any) -> None:
        if id(module) not in self.leaves:
            self.scopes.pop()
            return
        self.in_leaf -= 1
        if self.in_leaf:
            return
        inputs, shapes = self.sources((args, kwargs))
        outputs = self.tensors(output)
        if not outputs:
            return
        name = self.unique(self.names[id(module)])
        node = Node(
            name=name,
            kind="module",
            type=type(module).__name__,
            inputs=tuple(inputs),
            input_shapes=tuple(shapes),
            output_shape=tuple(outputs[0].shape),
            parameters=self.new_parameters(list(module.parameters(recurse=False))),
            scope=self.scopes[-1] if self.scopes else "",
        )
        self.record(node, output)

    # ------------------------------------------------------------------ functions (the mode)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if self.in_leaf:
            return output
        inputs, shapes = self.sources((args, kwargs))
        outputs = self.tensors(output)
        if not inputs or not outputs or isinstance(output, torch.Size):
            return output
        name = function_name(func)
        if name in PASS_THROUGH:
            for t in outputs:
                self.producer[id(t)] = inputs[0]
                self.keep.append(t)
            return output
        scope = self.scopes[-1] if self.scopes else ""
        call = tree_map(lambda v: Shape(tuple(v.shape)) if isinstance(v, torch.Tensor) else v,
                        (tuple(args), dict(kwargs)))  # fmt: skip
        node = Node(
            name=self.unique(f"{scope}.{name}()" if scope else f"{name}()"),
            kind="function",
            type=name,
            inputs=tuple(inputs),
            input_shapes=tuple(shapes),
            output_shape=tuple(outputs[0].shape),
            call=call[0],
            options=call[1],
            parameters=self.new_parameters(self.tensors((args, kwargs))),
            scope=scope,
        )
        self.record(node, output)
        return output


@contextmanager
def _hooks(model: nn.Module, tracer: _Tracer) -> Iterator[None]:
    handles = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(tracer.before, with_kwargs=True))
            handles.append(module.register_forward_hook(tracer.after, with_kwargs=True))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _run(model: nn.Module, x: torch.Tensor) -> list[Node]:
    """The nodes of one pass; a function whose result the output does not depend on (a
    test such as ``x.sum() > 0``) is left out."""
    tracer = _Tracer(model, x)
    with torch.no_grad(), _hooks(model, tracer), tracer:
        output = model(x)
    by_name = {node.name: node for node in tracer.nodes}
    needed = {tracer.producer[id(t)] for t in tracer.tensors(output) if id(t) in tracer.producer}
    stack = list(needed)
    while stack:
        node = by_name.get(stack.pop())
        for source in node.inputs if node else ():
            if source not in needed:
                needed.add(source)
                stack.append(source)
    return [n for n in tracer.nodes if n.kind == "module" or n.name in needed]


def trace(model: nn.Module, input_shape: tuple[int, ...]) -> Graph:
    """The graph of ``model`` for one input of ``input_shape`` (C, H, W), traced on a meta
    copy, or for real on a CPU copy if the network cannot run without data. ``model`` itself
    is neither hooked nor run."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    shape = (1, *input_shape)
    try:
        nodes = _run(meta_copy(model).eval(), torch.zeros(shape, dtype=dtype, device="meta"))
        on_meta = True
    except Exception:  # a data-dependent network (or an op without a meta kernel)
        nodes = _run(copy.deepcopy(model).cpu().eval(), torch.zeros(shape, dtype=dtype))
        on_meta = False
    return Graph(shape, tuple(nodes), torch.empty((), dtype=dtype).element_size(), on_meta)
