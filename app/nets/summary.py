"""The architecture table of a network: one row per call in its graph, as it runs.

The graph comes from :func:`app.nets.graph.trace` (a pass on a ``meta`` copy: shapes
without data, so VGG-16 costs nothing): every leaf module called (a module called twice is
``name`` then ``name (2)``) and every tensor function between them (``x + y``,
``torch.cat``, ``F.relu``, ``torch.flatten``). Each row: name, type, hyperparameters,
output shape, neurons (output values for one image), parameters, multiply-adds, activation
memory, receptive field and jump (:mod:`app.nets.fields`), and the rows it reads.

:attr:`ArchitectureSummary.layers` are the module rows, the layers a hook can capture (the
explorer's feature maps, units, filters); :attr:`ArchitectureSummary.nodes` are all rows, in
the order they run, functions included.

Multiply-adds count convolutions, transposed convolutions, dense layers and matrix
products, for one image: a convolution's output elements × (C_in / groups)·kh·kw, a
transposed convolution's input elements × (C_out / groups)·kh·kw, a dense layer's in × out.
Parameters are counted at a module's first call (a shared module's later calls add none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from app.nets import fields as F
from app.nets.classic.blocks import CenterCrop, crop_offsets
from app.nets.fields import Pair, ReceptiveField
from app.nets.graph import INPUT, Node, Shape, trace
from app.nets.layers import Conv2dSame, same_padding

#: Positional parameters of the functions whose arguments the table reads.
SIGNATURES = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "conv_transpose2d": ("input", "weight", "bias", "stride", "padding", "output_padding",
                         "groups", "dilation"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding"),
    "interpolate": ("input", "size", "scale_factor", "mode"),
    "linear": ("input", "weight", "bias"),
    "getitem": ("input", "index"),
    "cat": ("tensors", "dim"),
}  # fmt: skip


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    hyperparameters: dict[str, Any]
    output_shape: tuple[int, ...]  # without the batch dimension
    parameters: int
    receptive_field: ReceptiveField
    macs: int  # multiply-adds for one image
    kind: str = "module"  # or "function"
    inputs: tuple[str, ...] = ()  # the rows (or "input") it reads
    activation_bytes: int = 0  # its output for one image, in the network's dtype
    group: str = ""  # the block it belongs to: its module's parent (``layer1.0``)

    @property
    def neurons(self) -> int:
        return math.prod(self.output_shape)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "call": self.kind,  # "module" or "function" ("kind" is the explorer's maps/vector)
            "hyperparameters": self.hyperparameters,
            "output_shape": list(self.output_shape),
            "neurons": self.neurons,
            "parameters": self.parameters,
            "receptive_field": self.receptive_field.to_dict(),
            "macs": self.macs,
            "activation_bytes": self.activation_bytes,
            "inputs": list(self.inputs),
            "group": self.group,
        }


@dataclass(frozen=True)
class ArchitectureSummary:
    input_shape: tuple[int, ...]  # (C, H, W)
    layers: tuple[LayerRow, ...]  # module rows
    total_parameters: int
    total_macs: int
    nodes: tuple[LayerRow, ...] = field(default=())  # every row, functions included
    total_activation_bytes: int = 0
    shapes_only: bool = True  # traced on the meta device (else a pass on zeros)

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def node(self, name: str) -> LayerRow:
        """Any row of the graph by name, a function's too."""
        for row in self.nodes or self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "layers": [row.to_dict() for row in self.layers],
            "nodes": [row.to_dict() for row in self.nodes],
            "total_parameters": self.total_parameters,
            "total_macs": self.total_macs,
            "total_neurons": sum(row.neurons for row in self.nodes),
            "total_activation_bytes": self.total_activation_bytes,
        }


def _pair(value: Any) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def arguments(node: Node) -> dict[str, Any]:
    """A function node's arguments by name (those of :data:`SIGNATURES`)."""
    names = SIGNATURES.get(node.type, ())
    return {**dict(zip(names, node.call, strict=False)), **node.options}


def _conv_padding(module: nn.Conv2d, x: tuple[int, ...]) -> Pair:
    """Padding before the first row and column (``"same"`` and ``"valid"`` too)."""
    if isinstance(module, Conv2dSame):
        left, _, top, _ = module.padding_for(x[-2], x[-1])
        return top, left
    if module.padding == "valid":
        return 0, 0
    if module.padding == "same":
        return tuple(  # type: ignore[return-value]
            same_padding(1, module.kernel_size[a], 1, module.dilation[a])[0] for a in (0, 1)
        )
    return _pair(module.padding)


def _window(node: Node, module: nn.Module | None) -> tuple[Pair, Pair, Pair, Pair] | None:
    """(kernel, stride, dilation, padding before) of a sliding window, else None."""
    x = node.input_shapes[0] if node.input_shapes else ()
    if isinstance(module, nn.Conv2d):
        return (_pair(module.kernel_size), _pair(module.stride), _pair(module.dilation),
                _conv_padding(module, x))  # fmt: skip
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        stride = module.stride or module.kernel_size
        dilation = getattr(module, "dilation", 1)
        return _pair(module.kernel_size), _pair(stride), _pair(dilation), _pair(module.padding)
    if module is None and node.type == "conv2d":
        a = arguments(node)
        kernel = a["weight"].dims[-2:]
        return (kernel, _pair(a.get("stride", 1)), _pair(a.get("dilation", 1)),
                _pair(a.get("padding", 0)))  # fmt: skip
    if module is None and node.type in {"max_pool2d", "avg_pool2d"}:
        a = arguments(node)
        kernel = _pair(a["kernel_size"])
        stride = _pair(a.get("stride") or kernel)
        return kernel, stride, _pair(a.get("dilation", 1)), _pair(a.get("padding", 0))
    return None


def _field(
    node: Node, module: nn.Module | None, inbound: list[ReceptiveField], image: Pair
) -> ReceptiveField:
    out = node.output_shape
    if len(out) != 4 or not inbound or any(f.is_global for f in inbound):
        return F.whole(image)  # dense, flatten: every unit sees the whole input
    base = F.union(inbound, image)
    spatial_in = [s[-2:] for s in node.input_shapes if len(s) == 4]
    window = _window(node, module)
    if window is not None:
        return F.window(base, *window)
    if isinstance(module, nn.ConvTranspose2d) or node.type == "conv_transpose2d":
        if module is None:
            a = arguments(node)
            kernel, stride = a["weight"].dims[-2:], _pair(a.get("stride", 1))
            dilation, padding = _pair(a.get("dilation", 1)), _pair(a.get("padding", 0))
        else:
            kernel, stride = _pair(module.kernel_size), _pair(module.stride)
            dilation, padding = _pair(module.dilation), _pair(module.padding)
        return F.transposed(base, kernel, stride, dilation, padding)
    if isinstance(module, CenterCrop):
        return F.crop(inbound[0], *crop_offsets(spatial_in[0], out[-2:]))
    if module is None and node.type == "getitem" and spatial_in:
        offsets = _crop_of(arguments(node).get("index"), spatial_in[0])
        if offsets is not None:
            return F.crop(inbound[0], *offsets)
    if spatial_in and all(s == out[-2:] for s in spatial_in):
        return base  # elementwise: BatchNorm, activations, dropout, sums, concatenations
    if spatial_in and all(o % i == 0 for o, i in zip(out[-2:], spatial_in[0], strict=True)):
        factor = (out[-2] // spatial_in[0][0], out[-1] // spatial_in[0][1])
        mode = getattr(module, "mode", None) or arguments(node).get("mode", "nearest")
        return F.upsample(base, factor, mode == "nearest")
    adaptive = isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d)
    divides = spatial_in and all(i % o == 0 for o, i in zip(out[-2:], spatial_in[0], strict=True))
    if (adaptive or "adaptive" in node.type) and divides:
        k = (spatial_in[0][0] // out[-2], spatial_in[0][1] // out[-1])
        return F.window(base, k, k, (1, 1), (0, 0))
    return F.whole(image)  # a change of size the table cannot follow: the whole input


def _crop_of(index: Any, size: tuple[int, ...]) -> Pair | None:
    """(top, left) cut by ``x[..., a:b, c:d]`` (step 1), else None."""
    items = list(index) if isinstance(index, tuple) else [index]
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = [slice(None)] * (4 - len(items) + 1 + at) + items[at + 1 :]
    items += [slice(None)] * (4 - len(items))
    if len(items) != 4 or not all(isinstance(i, slice) and i.step in (None, 1) for i in items):
        return None
    starts = [items[2].start or 0, items[3].start or 0]
    return tuple(s + n if s < 0 else s for s, n in zip(starts, size, strict=True))  # type: ignore[return-value]


def _hyperparameters(node: Node, module: nn.Module | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if len(node.inputs) > 1:
        found["inputs"] = list(node.inputs)
    if module is None:
        if node.type == "cat":
            found["dim"] = arguments(node).get("dim", 0)
        return found
    x = node.input_shapes[0] if node.input_shapes else ()
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        if isinstance(module, Conv2dSame):
            left, right, top, bottom = module.padding_for(x[-2], x[-1])
            padding: Any = {"same": [top, bottom, left, right]}  # top, bottom, left, right
        elif isinstance(module, nn.Conv2d):
            padding = list(_conv_padding(module, x))
        else:
            padding = list(_pair(module.padding))
        found.update({
            "in_channels": module.in_channels,
            "out_channels": module.out_channels,
            "kernel": list(module.kernel_size),
            "stride": list(module.stride),
            "padding": padding,
            "dilation": list(module.dilation),
            "groups": module.groups,
            "bias": module.bias is not None,
        })  # fmt: skip
        if isinstance(module, nn.ConvTranspose2d):
            found["transposed"] = True
    elif isinstance(module, nn.Linear):
        found.update(in_features=module.in_features, out_features=module.out_features,
                     bias=module.bias is not None)  # fmt: skip
    elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride, dilation, before = _window(node, module)  # type: ignore[misc]
        found.update(kernel=list(kernel), stride=list(stride), padding=list(before))
        if isinstance(module, nn.MaxPool2d):
            found["dilation"] = list(dilation)
    elif isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        found["output_size"] = list(node.output_shape[-2:])
    elif isinstance(module, nn.BatchNorm2d):
        found.update(num_features=module.num_features, eps=module.eps)
    elif isinstance(module, nn.Dropout):
        found["p"] = module.p
    elif isinstance(module, nn.Flatten):
        found["start_dim"] = module.start_dim
    elif isinstance(module, nn.LeakyReLU):
        found["negative_slope"] = module.negative_slope
    return found


def _macs(node: Node, module: nn.Module | None) -> int:
    out = math.prod(node.output_shape)
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        return math.prod(node.input_shapes[0]) * module.out_channels // module.groups * kh * kw
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out * module.in_channels // module.groups * kh * kw
    if isinstance(module, nn.Linear):
        return out * module.in_features
    if module is None and node.type in {"conv2d", "linear"}:
        weight = arguments(node).get("weight")
        return out * math.prod(weight.dims[1:]) if isinstance(weight, Shape) else 0
    if module is None and node.type == "conv_transpose2d":
        weight = arguments(node).get("weight")
        return math.prod(node.input_shapes[0]) * math.prod(weight.dims[1:]) if weight else 0
    if module is None and node.type in {"matmul", "mm", "bmm"} and node.input_shapes:
        return out * node.input_shapes[0][-1]
    return 0


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ArchitectureSummary:
    """The architecture table of ``model`` for one input of ``input_shape`` (C, H, W).
    ``model`` itself is not run (:func:`app.nets.graph.trace` runs a copy)."""
    graph = trace(model, tuple(input_shape))
    image: Pair = (input_shape[-2], input_shape[-1])
    fields: dict[str, ReceptiveField] = {INPUT: F.INPUT_FIELD}
    modules = dict(model.named_modules())
    rows = []
    for node in graph.nodes:
        module = modules.get(node.module_name) if node.kind == "module" else None
        field_ = _field(node, module, [fields[name] for name in node.inputs], image)
        fields[node.name] = field_
        parent = node.module_name.rpartition(".")[0] if node.kind == "module" else node.scope
        rows.append(
            LayerRow(
                name=node.name,
                type=node.type,
                hyperparameters=_hyperparameters(node, module),
                output_shape=node.output_shape[1:],
                parameters=node.parameters,
                receptive_field=field_,
                macs=_macs(node, module),
                kind=node.kind,
                inputs=node.inputs,
                activation_bytes=math.prod(node.output_shape[1:]) * graph.itemsize,
                group=parent or node.name,
            )
        )
    return ArchitectureSummary(
        input_shape=tuple(input_shape),
        layers=tuple(row for row in rows if row.kind == "module"),
        total_parameters=sum(p.numel() for p in model.parameters()),
        total_macs=sum(row.macs for row in rows),
        nodes=tuple(rows),
        total_activation_bytes=sum(row.activation_bytes for row in rows),
        shapes_only=graph.on_meta,
    )
