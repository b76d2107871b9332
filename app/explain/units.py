"""How one activation was computed: the numbers behind a click in the network explorer.

- :func:`conv_unit`: one output of a convolution layer: the window of the layer's (padded)
  input it read, the kernel slice, each input channel's contribution, the bias, the sum
  (pre-activation), the same unit after the elementwise layers that follow (BatchNorm,
  the activation function), and its receptive field in the network's input. ``trace()``
  gives the same computation as a convolution-playground trace (``app.ops.conv``), so the
  page can step through it with the playground's stepper.
- :func:`dense_unit`: one output of a dense layer: its inputs, weights, products, bias,
  sum and activation (the flatten → dense → softmax steps of LeNet-size networks).
- :func:`app.explain.pool_units.pool_unit`: one output of a pooling layer.
- :func:`softmax_steps`: logits → exponentials → their sum → probabilities.

Every number is read from the network's real forward pass (hooks, ``capture``), and each
unit's sum equals the layer's output there (tests check against ``torch.nn.functional``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import nn

from app.explain.hooks import capture, module_of
from app.nets.layers import Conv2dSame
from app.nets.summary import ArchitectureSummary, LayerRow
from app.ops.conv import LIMITS, ConvTrace, conv2d_trace

#: Layers that work value by value: a unit keeps its position through them.
ELEMENTWISE = (
    nn.BatchNorm2d,
    nn.BatchNorm1d,
    nn.ReLU,
    nn.ReLU6,
    nn.Tanh,
    nn.Sigmoid,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Hardswish,
    nn.Dropout,
    nn.Identity,
)


@dataclass(frozen=True)
class Step:
    """The unit's value after one more layer (for BatchNorm, with that channel's numbers)."""

    layer: str
    type: str
    value: float
    numbers: dict[str, float] | None = None  # BatchNorm: mean, var, eps, gamma, beta


def _step(model: nn.Module, name: str, kind: str, value: float, channel: int) -> Step:
    """A following layer's step; a BatchNorm's running statistics and affine weights for the
    unit's channel, so the page writes (x − mean) / √(var + ε) · γ + β with numbers."""
    module = module_of(model, name)
    if not isinstance(module, nn.modules.batchnorm._BatchNorm) or module.running_mean is None:
        return Step(name, kind, value)
    assert module.running_var is not None  # tracked exactly when running_mean is
    numbers = {
        "mean": float(module.running_mean[channel]),
        "var": float(module.running_var[channel]),
        "eps": float(module.eps),
        "gamma": float(module.weight[channel]) if module.affine else 1.0,
        "beta": float(module.bias[channel]) if module.affine else 0.0,
    }
    return Step(name, kind, value, numbers)


@dataclass(frozen=True)
class ConvUnit:
    layer: str
    position: tuple[int, int, int]  # (channel, row, column) in the layer's output
    input_channels: tuple[int, ...]  # which input channels it reads (one group)
    window: torch.Tensor  # (C_g, kh, kw) the padded input under the kernel's taps
    window_origin: tuple[int, int]  # top-left of the window in the layer's unpadded input
    kernel: torch.Tensor  # (C_g, kh, kw)
    dilation: tuple[int, int]
    partials: torch.Tensor  # (C_g,) each input channel's share, before the bias
    bias: float
    value: float  # the sum: partials + bias (pre-activation)
    output: float  # what the layer output in the forward pass (equals value)
    after: tuple[Step, ...]  # the same unit through the following elementwise layers
    receptive_field: tuple[int, int, int, int]  # (top, left, bottom, right) in the input

    def trace(self) -> ConvTrace:
        """This unit as a one-step convolution-playground trace (float64). ``window`` holds
        the taps the kernel reads (every ``dilation``-th pixel), so the trace multiplies it
        with the kernel as it is, undilated."""
        c, kh, kw = self.kernel.shape
        limits = replace(
            LIMITS, max_channels=c, max_out_channels=1, max_size=max(self.window.shape[1:]),
            max_kernel=max(kh, kw), max_terms=c * kh * kw,
        )  # fmt: skip
        return conv2d_trace(
            self.window.double(),
            self.kernel[None].double(),
            torch.tensor([self.bias], dtype=torch.float64),
            limits=limits,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "position": list(self.position),
            "input_channels": list(self.input_channels),
            "window": self.window.tolist(),
            "window_origin": list(self.window_origin),
            "kernel": self.kernel.tolist(),
            "dilation": list(self.dilation),
            "partials": self.partials.tolist(),
            "bias": self.bias,
            "value": self.value,
            "output": self.output,
            "after": [step.__dict__ for step in self.after],
            "receptive_field": list(self.receptive_field),
        }


def _graph(summary: ArchitectureSummary) -> tuple[LayerRow, ...]:
    return summary.nodes or summary.layers


def _is_elementwise(model: nn.Module, row: LayerRow) -> bool:
    """A module row that works value by value (a function's value is not captured)."""
    return row.kind == "module" and isinstance(module_of(model, row.name), ELEMENTWISE)


def following(summary: ArchitectureSummary, model: nn.Module, layer: str) -> list[LayerRow]:
    """The elementwise layers (BatchNorm, activations) that ``layer``'s output goes through
    next, in order, along the network's graph: the walk stops where the value meets anything
    else (a residual sum, a concatenation, a function, a branch), so no step it lists hides
    a shortcut."""
    nodes = _graph(summary)
    found: list[LayerRow] = []
    current = layer
    while True:
        readers = [row for row in nodes if current in row.inputs]
        if len(readers) != 1 or readers[0].inputs != (current,):
            return found
        if not _is_elementwise(model, readers[0]):
            return found
        found.append(readers[0])
        current = readers[0].name


def before(summary: ArchitectureSummary, model: nn.Module, layer: str) -> list[LayerRow]:
    """The rows ``layer``'s value comes from, walking back along the graph from its single
    input through elementwise layers: the list ends with the first row that is not one
    (a convolution, a flatten, a sum), or is empty when the walk meets a merge or the input."""
    nodes = {row.name: row for row in _graph(summary)}
    found: list[LayerRow] = []
    row = summary.node(layer)
    while len(row.inputs) == 1 and row.inputs[0] in nodes:
        row = nodes[row.inputs[0]]
        found.append(row)
        if not _is_elementwise(model, row):
            break
    return found


def check_position(name: str, position: tuple[int, ...], shape: tuple[int, ...]) -> None:
    """``ValueError`` unless ``position`` indexes an output of ``shape`` in layer ``name``."""
    for axis, (index, size) in enumerate(zip(position, shape, strict=True)):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            what = ("channel", "row", "column")[axis] if len(shape) == 3 else "unit"
            raise ValueError(f"{what} must be from 0 to {size - 1} in {name} (got {index!r})")


def conv_unit(
    model: nn.Module,
    x: torch.Tensor,
    summary: ArchitectureSummary,
    layer: str,
    position: tuple[int, int, int],
) -> ConvUnit:
    """How ``layer``'s output at (channel, row, column) was computed for input ``x`` (C, H, W)."""
    row = summary.layer(layer)
    module = module_of(model, layer)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"{layer} is a {type(module).__name__} layer, not a convolution")
    check_position(layer, position, row.output_shape)
    rows_after = following(summary, model, layer)
    names = [layer, *(r.name for r in rows_after)]
    captured = capture(model, x[None], names, keep_inputs=True)
    inputs = captured.inputs[layer][0][0]  # (C_in, H, W)
    height, width = inputs.shape[1:]
    if isinstance(module, Conv2dSame):
        left, right, top, bottom = module.padding_for(height, width)
    elif isinstance(module.padding, str):  # summarize() refuses these already
        raise ValueError(f"padding={module.padding!r} is not explained")
    else:
        (top, left), (bottom, right) = module.padding, module.padding
    padded = F.pad(inputs, (left, right, top, bottom))  # (C_in, Hp, Wp)
    channel, i, j = position
    per_group = module.out_channels // module.groups
    c_in = module.in_channels // module.groups
    first = channel // per_group * c_in
    (kh, kw), (sh, sw), (dh, dw) = module.kernel_size, module.stride, module.dilation
    r0, c0 = i * sh, j * sw
    window = padded[
        first : first + c_in, r0 : r0 + dh * (kh - 1) + 1 : dh, c0 : c0 + dw * (kw - 1) + 1 : dw
    ]
    kernel = module.weight[channel].detach()  # (C_g, kh, kw)
    partials = (window * kernel).sum(dim=(1, 2))  # (C_g,)
    bias = float(module.bias[channel]) if module.bias is not None else 0.0
    unit = (0, channel, i, j)
    height_in, width_in = summary.input_shape[-2:]
    return ConvUnit(
        layer=layer,
        position=(channel, i, j),
        input_channels=tuple(range(first, first + c_in)),
        window=window.detach().cpu(),
        window_origin=(r0 - top, c0 - left),
        kernel=kernel.cpu(),
        dilation=(dh, dw),
        partials=partials.cpu(),
        bias=bias,
        value=float(partials.sum()) + bias,
        output=float(captured.activations[layer][unit]),
        after=tuple(
            _step(model, r.name, r.type, float(captured.activations[r.name][unit]), channel)
            for r in rows_after
        ),
        receptive_field=row.receptive_field.box(i, j, height_in, width_in),
    )


@dataclass(frozen=True)
class DenseUnit:
    layer: str
    index: int
    inputs: torch.Tensor  # (in_features,) what the layer read
    weights: torch.Tensor  # (in_features,) this unit's row of the weight matrix
    products: torch.Tensor  # (in_features,) inputs × weights
    bias: float
    value: float  # Σ products + bias
    output: float  # what the layer output in the forward pass
    after: tuple[Step, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "index": self.index,
            "inputs": self.inputs.tolist(),
            "weights": self.weights.tolist(),
            "products": self.products.tolist(),
            "bias": self.bias,
            "value": self.value,
            "output": self.output,
            "after": [step.__dict__ for step in self.after],
        }


def dense_unit(
    model: nn.Module, x: torch.Tensor, summary: ArchitectureSummary, layer: str, index: int
) -> DenseUnit:
    """How output ``index`` of the dense layer ``layer`` was computed for input ``x``."""
    row = summary.layer(layer)
    module = module_of(model, layer)
    if not isinstance(module, nn.Linear):
        raise ValueError(f"{layer} is a {type(module).__name__} layer, not a dense layer")
    check_position(layer, (index,), row.output_shape)
    rows_after = following(summary, model, layer)
    captured = capture(model, x[None], [layer, *(r.name for r in rows_after)], keep_inputs=True)
    inputs = captured.inputs[layer][0][0]  # (in_features,)
    weights = module.weight[index].detach()
    products = inputs * weights
    bias = float(module.bias[index]) if module.bias is not None else 0.0
    return DenseUnit(
        layer=layer,
        index=index,
        inputs=inputs.cpu(),
        weights=weights.cpu(),
        products=products.cpu(),
        bias=bias,
        value=float(products.sum()) + bias,
        output=float(captured.activations[layer][0, index]),
        after=tuple(
            _step(model, r.name, r.type, float(captured.activations[r.name][0, index]), index)
            for r in rows_after
        ),
    )


class SoftmaxSteps(TypedDict):
    """Softmax's numbers, as :func:`softmax_steps` writes them out."""

    logits: list[float]
    max: float
    exp: list[float]
    sum: float
    probabilities: list[float]


def softmax_steps(logits: torch.Tensor) -> SoftmaxSteps:
    """Softmax written out: subtract the largest logit, exponentiate, divide by the sum."""
    logits = logits.detach().double().cpu()
    shifted = logits - logits.max()  # the same probabilities, no overflow
    exps = shifted.exp()
    total = exps.sum()
    return {
        "logits": logits.tolist(),
        "max": float(logits.max()),
        "exp": exps.tolist(),
        "sum": float(total),
        "probabilities": (exps / total).tolist(),
    }
