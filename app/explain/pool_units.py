"""How one output of a pooling layer was computed (max, average, or global average): the
window of its input, which cell won (max) and the result, read from the network's real
forward pass (a click in the network explorer; tests check against ``torch.nn.functional``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from app.explain.hooks import capture, module_of
from app.explain.units import check_position
from app.nets.summary import ArchitectureSummary


@dataclass(frozen=True)
class PoolUnit:
    layer: str
    position: tuple[int, int, int]  # (channel, row, column) in the layer's output
    kind: str  # "max" or "average"
    window: torch.Tensor  # (kh, kw) of the input channel; padding is −inf (max) or 0 (average)
    window_origin: tuple[int, int]  # top-left of the window in the layer's unpadded input
    winner: tuple[int, int] | None  # (row, column) in the window of the maximum (max only)
    divisor: int  # what the average divides by (the window area, padding included)
    value: float  # computed from the window
    output: float  # what the layer output in the forward pass (equals value)
    receptive_field: tuple[int, int, int, int]  # (top, left, bottom, right) in the input

    def to_dict(self) -> dict[str, Any]:
        window = self.window.double()
        return {
            "layer": self.layer,
            "position": list(self.position),
            "kind": self.kind,
            "window": [[None if v == float("-inf") else v for v in row] for row in window.tolist()],
            "window_origin": list(self.window_origin),
            "winner": None if self.winner is None else list(self.winner),
            "divisor": self.divisor,
            "value": self.value,
            "output": self.output,
            "receptive_field": list(self.receptive_field),
        }


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pool_geometry(module: nn.Module, height: int, width: int) -> tuple[str, Any, Any, Any]:
    """(kind, kernel, stride, padding) of a pooling layer, each pair as (rows, columns)."""
    if isinstance(module, nn.AdaptiveAvgPool2d):
        if module.output_size not in (1, (1, 1)):
            raise ValueError(f"only global average pooling is explained, not {module}")
        return "average", (height, width), (height, width), (0, 0)
    if isinstance(module, nn.MaxPool2d):
        if _pair(module.dilation) != (1, 1) or module.ceil_mode:
            raise ValueError(f"dilated or ceil-mode max pooling is not explained ({module})")
        kind = "max"
    elif isinstance(module, nn.AvgPool2d):
        if module.ceil_mode or not module.count_include_pad or module.divisor_override:
            raise ValueError(f"this average pooling is not explained ({module})")
        kind = "average"
    else:
        raise ValueError(f"{type(module).__name__} is not a pooling layer")
    stride = module.stride if module.stride is not None else module.kernel_size
    return kind, _pair(module.kernel_size), _pair(stride), _pair(module.padding)


def pool_unit(
    model: nn.Module,
    x: torch.Tensor,
    summary: ArchitectureSummary,
    layer: str,
    position: tuple[int, int, int],
) -> PoolUnit:
    """How the pooling layer ``layer``'s output at (channel, row, column) was computed."""
    row = summary.layer(layer)
    module = module_of(model, layer)
    check_position(layer, position, row.output_shape)
    captured = capture(model, x[None], [layer], keep_inputs=True)
    inputs = captured.inputs[layer][0][0]  # (C, H, W)
    kind, (kh, kw), (sh, sw), (ph, pw) = _pool_geometry(module, *inputs.shape[1:])
    channel, i, j = position
    fill = float("-inf") if kind == "max" else 0.0
    padded = F.pad(inputs[channel], (pw, pw, ph, ph), value=fill)  # (H + 2ph, W + 2pw)
    window = padded[i * sh : i * sh + kh, j * sw : j * sw + kw].detach().cpu()  # (kh, kw)
    winner = None
    if kind == "max":
        flat = int(window.argmax())  # the first maximum, as torch's max_pool2d picks it
        winner = (flat // kw, flat % kw)
        value = float(window.max())
    else:
        value = float(window.double().sum() / (kh * kw))
    height_in, width_in = summary.input_shape[-2:]
    return PoolUnit(
        layer=layer,
        position=(channel, i, j),
        kind=kind,
        window=window,
        window_origin=(i * sh - ph, j * sw - pw),
        winner=winner,
        divisor=kh * kw,
        value=value,
        output=float(captured.activations[layer][0, channel, i, j]),
        receptive_field=row.receptive_field.box(i, j, height_in, width_in),
    )
