"""A classifier made fully convolutional: run once on a larger image, it gives a map of class
scores, one per window position, instead of one score per forward pass (Sermanet et al.,
OverFeat, 2014; Long, Shelhamer and Darrell 2015).

A classifier ends with layers that need an input of exactly its size: a global pooling (the
mean over the whole 7×7 map) and dense layers (on a flattened vector). Each has a
convolutional twin that does the same at every position of a larger map:

- a global average (maximum) over an h×w map → an h×w average (max) pooling with stride 1;
- ``Flatten`` then a dense layer on C×h×w values → an h×w convolution with the dense layer's
  outputs as filters: filter k is row k of the weight matrix reshaped to C×h×w;
- a dense layer on a vector of C values → a 1×1 convolution: at every position it mixes the
  C channels with the same weights;
- dropout is nothing at inference; activations work on each value and stay.

On an input of the classifier's own size the new network gives a 1×1 map equal to the
classifier's logits. On a larger image, position (i, j) of the map belongs to the window of
the input's size at (i·J, j·J), J the product of the strides (the network's *stride*, 32 for
EfficientNet-Lite0, 4 for LeNet-5). The map equals the sliding windows' scores there exactly
when no convolution or pooling pads its input (LeNet-5): each window then sees exactly the
pixels it would see alone. With padding (SimpleCNN's ``padding=1``, EfficientNet-Lite0's
``SAME``), a crop is padded with zeros at its border where the larger image has real
neighbours, so the values near a window's edge (and through the depth, all of them) differ.

:func:`convert` walks the module's top-level children in the order they run (recorded by
hooks on one forward pass, and refused unless they form a chain: each child called once, on
the previous one's output), keeps the part that produces maps and rewrites the head. A
network it cannot convert (a head it does not know) raises :class:`NotConvertible`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from app.nets.layers import Conv2dSame

#: Modules that work on each value alone: they stay as they are.
ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU,
    nn.Hardswish, nn.Identity,
)  # fmt: skip


class NotConvertible(ValueError):
    """The network's head is not one this module knows how to make convolutional."""


@dataclass(frozen=True)
class Rewrite:
    """One layer of the head and what it became, in words for the page."""

    layer: str
    was: str
    becomes: str
    why: str

    def to_dict(self) -> dict[str, str]:
        return {"layer": self.layer, "was": self.was, "becomes": self.becomes, "why": self.why}


@dataclass(frozen=True)
class Chained:
    """A top-level child in the order it ran, with the shapes it saw (without the batch)."""

    name: str
    module: nn.Module
    input: tuple[int, ...]
    output: tuple[int, ...]


def links(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    """The top-level children of ``model``, a ``nn.Sequential`` among them replaced by its
    own children (they run in order by definition: AlexNet's ``classifier``)."""
    found = []
    for name, child in model.named_children():
        if type(child) is nn.Sequential:
            found += links(child, f"{prefix}{name}.")
        else:
            found.append((f"{prefix}{name}", child))
    return found


def chain(model: nn.Module, input_shape: tuple[int, int, int]) -> list[Chained]:
    """The top-level children of ``model`` (:func:`links`) in the order one forward pass
    runs them; a :class:`NotConvertible` unless each runs once on the previous one's output
    and the last one's output is the model's."""
    seen: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    handles = [
        child.register_forward_hook(
            lambda module, args, out, name=name: seen.append((name, module, args, out))
        )
        for name, child in links(model)
    ]
    parameter = next(model.parameters(), None)
    like = parameter if parameter is not None else torch.zeros(())
    x = torch.zeros((1, *input_shape), device=like.device, dtype=like.dtype)
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    steps, current = [], x
    for name, module, args, result in seen:
        if len(args) != 1 or args[0] is not current or not isinstance(result, torch.Tensor):
            raise NotConvertible(
                f"{name} does not run on the output of the layer before it: the network is "
                "not a chain of layers, so its head cannot be rewritten here"
            )
        steps.append(Chained(name, module, tuple(current.shape[1:]), tuple(result.shape[1:])))
        current = result
    if current is not out or len({step.name for step in steps}) != len(steps):
        raise NotConvertible("the network's layers do not form a chain that ends in its output")
    return steps


_WINDOWED = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)


def _pair(value: object) -> tuple[object, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def stride_of(features: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """The network's stride J: how many input pixels one step of ``features``' output map
    is. Measured on shapes alone (a copy on the ``meta`` device, no arithmetic): growing
    the input by P pixels (P the product of every stride inside, a multiple of J, as a
    shortcut's stride repeats its block's) grows the map by P / J."""
    grow = 1
    for leaf in features.modules():
        if isinstance(leaf, _WINDOWED):
            grow *= int(_pair(leaf.stride)[0])  # type: ignore[call-overload]
    shapeless = copy.deepcopy(features).to("meta", torch.float32)
    channels, height, width = input_shape
    with torch.inference_mode():
        small = shapeless(torch.empty((1, channels, height, width), device="meta"))
        large = shapeless(torch.empty((1, channels, height + grow, width), device="meta"))
    steps = int(large.shape[-2]) - int(small.shape[-2])
    if steps < 1 or grow % steps:
        raise NotConvertible("the network's maps do not grow evenly with its input")
    return grow // steps


def padded(steps: list[Chained]) -> list[str]:
    """The layers inside ``steps`` that pad their input (and so see zeros at a crop's
    border where a larger image has real pixels)."""
    found = []
    named = [
        (f"{step.name}.{name}" if name else step.name, leaf)
        for step in steps
        for name, leaf in step.module.named_modules()
    ]
    for name, leaf in named:
        if not isinstance(leaf, _WINDOWED):
            continue
        padding = _pair(leaf.padding)
        pads = any(p != "valid" if isinstance(p, str) else int(p) != 0 for p in padding)  # type: ignore[call-overload]
        same = isinstance(leaf, Conv2dSame) and max(leaf.kernel_size) > 1
        if pads or same or getattr(leaf, "ceil_mode", False):
            found.append(name)
    return found


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape)


class FullyConvolutional(nn.Module):
    """The classifier's maps part followed by its head rewritten as convolutions."""

    def __init__(self, features: nn.Sequential, head: nn.Sequential, rewrites: list[Rewrite],
                 stride: int, padded_layers: list[str]) -> None:  # fmt: skip
        super().__init__()
        self.features = features
        self.head = head
        self.rewrites = rewrites
        self.stride = stride  # J: pixels between neighbouring positions of the map
        self.padded_layers = padded_layers

    @property
    def exact(self) -> bool:
        """Whether the map equals the sliding windows' at the positions that line up."""
        return not self.padded_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, classes, H', W') logits, H' = (H − h) / J + 1 for an input of
        side h (and H − h a multiple of J)."""
        return self.head(self.features(x))


def convert(model: nn.Module, input_shape: tuple[int, int, int]) -> FullyConvolutional:
    """``model`` made fully convolutional (see the module's docstring). Shares the model's
    weights for the maps part; the head's convolutions hold reshaped copies."""
    steps = chain(model, input_shape)
    first = next((i for i, s in enumerate(steps) if len(s.output) != 3 or _is_global(s)), None)
    if first is None or first == 0:
        raise NotConvertible("the network has no part that produces maps before its head")
    kept = []
    rewrites: list[Rewrite] = []
    for step in steps[:first]:
        if isinstance(step.module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            if step.input != step.output:  # on a larger image it would squeeze the maps
                raise NotConvertible(
                    f"{step.name} pools to a fixed {_shape(step.output[1:])} map: on a larger "
                    "image it would squeeze the maps instead of sliding over them"
                )
            rewrites.append(Rewrite(
                step.name, f"adaptive pool to {_shape(step.output[1:])}, the size the map has",
                "nothing", "on its own input it does nothing; on a larger one it would squeeze",
            ))  # fmt: skip
            continue
        kept.append(step)
    features = nn.Sequential(*(s.module for s in kept))
    head: list[nn.Module] = []
    flattened: tuple[int, ...] | None = None
    for step in steps[first:]:
        module, name = step.module, step.name
        if _is_global(step):
            kernel = (step.input[1], step.input[2])
            pool_type = nn.AvgPool2d if isinstance(module, nn.AdaptiveAvgPool2d) else nn.MaxPool2d
            head.append(pool_type(kernel, stride=1))
            kind = "average" if pool_type is nn.AvgPool2d else "maximum"
            rewrites.append(Rewrite(
                name, f"global {kind} over the {_shape(kernel)} map",
                f"{_shape(kernel)} {kind} pooling, stride 1",
                f"one {kind} per window of the map as large as the classifier's own map",
            ))  # fmt: skip
        elif isinstance(module, nn.Flatten):
            flattened = step.input
            rewrites.append(Rewrite(
                name, f"flatten {_shape(step.input)} to {math.prod(step.input)} values",
                "nothing: the maps stay maps",
                "the next dense layer reads the values where they are",
            ))  # fmt: skip
        elif isinstance(module, nn.Linear):
            channels, kernel = (
                (flattened[0], (flattened[1], flattened[2]))
                if flattened
                else (step.input[0], (1, 1))
            )
            conv = nn.Conv2d(channels, module.out_features, kernel, bias=module.bias is not None)
            conv = conv.to(module.weight.device, module.weight.dtype).requires_grad_(False)
            conv.weight.copy_(module.weight.detach().reshape(conv.weight.shape))
            if module.bias is not None and conv.bias is not None:
                conv.bias.copy_(module.bias.detach())
            head.append(conv)
            was = f"dense {module.in_features} → {module.out_features}"
            becomes = f"{_shape(kernel)} convolution, {channels} → {module.out_features} channels"
            why = (
                f"filter k is row k of the weights reshaped to {_shape((channels, *kernel))}"
                if flattened and kernel != (1, 1)
                else f"at every position it mixes the {channels} channels with the same weights"
            )
            rewrites.append(Rewrite(name, was, becomes, why))
            flattened = None
        elif isinstance(module, nn.Dropout):
            rewrites.append(
                Rewrite(name, "dropout", "nothing", "dropout does nothing at inference")
            )
        elif isinstance(module, ELEMENTWISE):
            head.append(module)
            kind = type(module).__name__
            rewrites.append(Rewrite(name, kind, kind, "it works on each value: unchanged"))
        else:
            raise NotConvertible(
                f"{name} ({type(module).__name__}) in the network's head has no convolutional "
                "twin here"
            )
    if flattened is not None:
        raise NotConvertible("the network's output is flattened maps, not class scores")
    return FullyConvolutional(
        features, nn.Sequential(*head), rewrites, stride_of(features, input_shape), padded(kept)
    ).eval()


def _is_global(step: Chained) -> bool:
    """A pooling to a 1×1 map (AdaptiveAvgPool2d(1)): the start of a head."""
    module = step.module
    return isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and step.output[1:] == (
        1,
        1,
    )
