"""The architecture table of a network: one row per layer, as a real forward pass runs it.

Each row: name, type, hyperparameters, output shape, parameter count, receptive field
(size, jump, start) and multiply-adds. Shapes come from an actual forward pass (hooks on
every leaf module, ``app.explain.hooks.hooked``), so they cannot disagree with what
the network computes.

Receptive fields follow the standard recurrence (Araujo, Norris and Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019), per axis, from the
input (r = 1, j = 1, start = 0) through every layer with kernel k, stride s, dilation d and
padding p_before:

    r_out = r_in + (k − 1)·d·j_in        (size, in input pixels)
    j_out = j_in·s                        (jump: input pixels between neighbouring units)
    start_out = start_in − p_before·j_in  (input coordinate where unit 0's field begins)

so output unit i sees input pixels start + i·j … start + i·j + r − 1 (clipped to the image;
the part outside is padding). That box is exact (tests/nets/test_summary.py checks it with
a gradient probe) unless dilation or a stride larger than the kernel leaves holes in it, or
a layer's windows stop short of the last rows of its input (floor division), whose pixels
are then in the box but never read. A layer's "previous" layer is the one whose output it reads
(tracked by tensor identity), so residual sums take the union of both inputs' fields.
Elementwise layers (BatchNorm, activations, dropout) keep the field; a dense layer, a
flatten or a global pool sees the whole input.

Multiply-adds count convolutions and dense layers, for one image: a convolution's output
elements × (C_in / groups)·kh·kw, a dense layer's in × out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from app.explain.hooks import hooked
from app.nets.layers import Conv2dSame, ResidualAdd

Pair = tuple[int, int]


@dataclass(frozen=True)
class ReceptiveField:
    """Where one layer's units look in the input, per axis (rows, columns)."""

    size: Pair  # r: may exceed the input, the excess being padding
    jump: Pair | None  # j; None for a global layer (every unit sees everything)
    start: Pair  # input coordinate where the field of unit (0, 0) begins; < 0 is padding

    @property
    def is_global(self) -> bool:
        return self.jump is None

    def box(self, row: int, col: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom and right exclusive, of unit (row, col)'s field
        clipped to a height×width input."""
        if self.jump is None:
            return 0, 0, height, width
        top = self.start[0] + row * self.jump[0]
        left = self.start[1] + col * self.jump[1]
        bottom, right = top + self.size[0], left + self.size[1]
        return max(top, 0), max(left, 0), min(bottom, height), min(right, width)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "jump": None if self.jump is None else list(self.jump),
            "start": list(self.start),
            "global": self.is_global,
        }


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    hyperparameters: dict[str, Any]
    output_shape: tuple[int, ...]  # without the batch dimension
    parameters: int
    receptive_field: ReceptiveField
    macs: int  # multiply-adds for one image

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "hyperparameters": self.hyperparameters,
            "output_shape": list(self.output_shape),
            "parameters": self.parameters,
            "receptive_field": self.receptive_field.to_dict(),
            "macs": self.macs,
        }


@dataclass(frozen=True)
class ArchitectureSummary:
    input_shape: tuple[int, ...]  # (C, H, W)
    layers: tuple[LayerRow, ...]
    total_parameters: int
    total_macs: int

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "layers": [row.to_dict() for row in self.layers],
            "total_parameters": self.total_parameters,
            "total_macs": self.total_macs,
        }


def _pair(value: Any) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _window(module: nn.Module, x: torch.Tensor) -> tuple[Pair, Pair, Pair, Pair] | None:
    """(kernel, stride, dilation, padding before) of a sliding-window layer, else None."""
    if isinstance(module, Conv2dSame):
        left, _, top, _ = module.padding_for(x.shape[-2], x.shape[-1])
        return _pair(module.kernel_size), _pair(module.stride), _pair(module.dilation), (top, left)
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):
            raise ValueError(f"padding={module.padding!r} is not supported in the summary")
        return (
            _pair(module.kernel_size),
            _pair(module.stride),
            _pair(module.dilation),
            _pair(module.padding),
        )
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        stride = module.stride if module.stride is not None else module.kernel_size
        dilation = getattr(module, "dilation", 1)
        return _pair(module.kernel_size), _pair(stride), _pair(dilation), _pair(module.padding)
    return None


def _hyperparameters(module: nn.Module, x: torch.Tensor) -> dict[str, Any]:
    if isinstance(module, nn.Conv2d):
        if isinstance(module, Conv2dSame):
            left, right, top, bottom = module.padding_for(x.shape[-2], x.shape[-1])
            padding: Any = {"same": [top, bottom, left, right]}  # top, bottom, left, right
        else:
            padding = list(_pair(module.padding))
        return {
            "in_channels": module.in_channels,
            "out_channels": module.out_channels,
            "kernel": list(module.kernel_size),
            "stride": list(module.stride),
            "padding": padding,
            "dilation": list(module.dilation),
            "groups": module.groups,
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.Linear):
        return {
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride, dilation, padding = _window(module, x)  # type: ignore[misc]
        found = {"kernel": list(kernel), "stride": list(stride), "padding": list(padding)}
        if isinstance(module, nn.MaxPool2d):
            found["dilation"] = list(dilation)
        return found
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return {"output_size": list(_pair(module.output_size))}
    if isinstance(module, nn.BatchNorm2d):
        return {"num_features": module.num_features, "eps": module.eps}
    if isinstance(module, nn.Dropout):
        return {"p": module.p}
    if isinstance(module, nn.Flatten):
        return {"start_dim": module.start_dim}
    if isinstance(module, nn.LeakyReLU):
        return {"negative_slope": module.negative_slope}
    return {}


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = module.in_channels // module.groups * kh * kw
        return output[0].numel() * per_output
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features * (output[0].numel() // output.shape[-1])
    return 0


_INPUT = "input"


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ArchitectureSummary:
    """The architecture table of ``model`` for one input of ``input_shape`` (C, H, W)."""
    tensors = [*model.parameters(), *model.buffers()]
    x = torch.zeros(1, *input_shape, device=tensors[0].device if tensors else "cpu")
    if tensors:
        x = x.to(tensors[0].dtype)
    with torch.inference_mode(), hooked(model, keep_inputs=True) as record:
        model(x)
    height, width = input_shape[-2:]
    fields: dict[str, ReceptiveField] = {_INPUT: ReceptiveField((1, 1), (1, 1), (0, 0))}
    producer: dict[int, str] = {id(x): _INPUT}  # tensor identity → the layer that made it
    modules = dict(model.named_modules())
    rows = []
    for key, output in record.outputs.items():
        name = key.split(" (")[0]
        module = modules[name]
        args = [a for a in record.inputs[key] if isinstance(a, torch.Tensor)]
        sources = [producer.get(id(a)) for a in args]
        if any(source is None for source in sources):
            raise ValueError(f"cannot tell which layer feeds {key!r}: not a chain of modules")
        inbound = [fields[source] for source in sources if source is not None]
        field = _field(module, args[0], output, inbound, (height, width))
        fields[key] = field
        producer[id(output)] = key
        hyper = _hyperparameters(module, args[0])
        if isinstance(module, ResidualAdd):
            hyper = {"inputs": sources}
        rows.append(
            LayerRow(
                name=key,
                type=type(module).__name__,
                hyperparameters=hyper,
                output_shape=tuple(output.shape[1:]),
                parameters=sum(p.numel() for p in module.parameters(recurse=False)),
                receptive_field=field,
                macs=_macs(module, output),
            )
        )
    return ArchitectureSummary(
        input_shape=tuple(input_shape),
        layers=tuple(rows),
        total_parameters=sum(p.numel() for p in model.parameters()),
        total_macs=sum(row.macs for row in rows),
    )


def _field(
    module: nn.Module,
    x: torch.Tensor,
    output: torch.Tensor,
    inbound: list[ReceptiveField],
    image: Pair,
) -> ReceptiveField:
    whole = ReceptiveField(image, None, (0, 0))
    if output.dim() != 4 or any(f.is_global for f in inbound):
        return whole  # dense, flatten: every unit sees the whole input
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return whole
    base = _union(inbound)
    window = _window(module, x)
    if window is None:
        return base  # elementwise: BatchNorm, activations, dropout, sums
    kernel, stride, dilation, before = window
    r, j, s = base.size, base.jump, base.start
    assert j is not None
    return ReceptiveField(
        size=tuple(r[a] + (kernel[a] - 1) * dilation[a] * j[a] for a in (0, 1)),  # type: ignore[arg-type]
        jump=tuple(j[a] * stride[a] for a in (0, 1)),  # type: ignore[arg-type]
        start=tuple(s[a] - before[a] * j[a] for a in (0, 1)),  # type: ignore[arg-type]
    )


def _union(fields: list[ReceptiveField]) -> ReceptiveField:
    """The field covering several aligned inputs (same jump), e.g. of a residual sum."""
    first = fields[0]
    if any(f.jump != first.jump for f in fields[1:]):
        raise ValueError("the inputs of a sum have different strides; cannot align them")
    starts = [min(f.start[a] for f in fields) for a in (0, 1)]
    ends = [max(f.start[a] + f.size[a] for f in fields) for a in (0, 1)]
    return ReceptiveField(
        (ends[0] - starts[0], ends[1] - starts[1]), first.jump, (starts[0], starts[1])
    )
