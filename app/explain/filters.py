"""The filters a trained network learned: per convolution layer, a gallery of its weights.

A convolution's weight is (C_out, C_in / groups, kh, kw): one filter per output channel.
How to show it depends on the layer (:func:`kind_of`):

- ``rgb``: the first convolution of a colour network (3 input channels, kh×kw > 1): each
  filter as a small colour picture, its three input channels as R, G and B normalised
  together (one min–max for the filter, or one for the whole layer), the way Krizhevsky et
  al. (2012, fig. 3) and Zeiler and Fergus (2014, fig. 2) show first-layer filters.
- ``single``: one input channel (a digit network's first layer): each filter a kh×kw tile.
- ``channels``: an ordinary deeper convolution: a grid with one row per filter and one
  column per input channel, each cell the kh×kw kernel slice that channel is weighed by.
- ``depthwise``: one kh×kw kernel per channel (groups = channels, MobileNet's depthwise
  convolution): one tile per channel.
- ``pointwise``: a 1×1 convolution is a per-pixel mixing of channels: its weight is a
  C_out × C_in matrix, drawn as one picture with a row per filter.

Every kind but ``rgb`` is drawn on the diverging scale centred at zero (blue < 0 < red) of
the pages (:mod:`app.images.colormaps`; purple < 0 < orange in the colour-blind-safe scheme
a viewer may choose), with one limit for the layer (the 99th percentile of
|w|, so that a few large weights do not wash out the rest; the numbers themselves are
exact) or one per filter. Galleries can be sorted by each filter's L2 norm. The gallery is
one PNG (an atlas of tiles with 1-pixel gaps) plus the layout a page needs to map a click
back to a filter; :func:`filter_detail` gives one filter's numbers and
:func:`feature_map` the map it produces on an image (the convolution's output channel,
through ``app.explain.activations``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from app.explain.convolutions import conv_layers, conv_module
from app.explain.hooks import layer_output
from app.images import colormaps

Kind = Literal["rgb", "single", "channels", "depthwise", "pointwise"]
Order = Literal["index", "norm"]
Scale = Literal["layer", "filter"]
ORDERS: tuple[Order, ...] = ("index", "norm")
SCALES: tuple[Scale, ...] = ("layer", "filter")
#: Percentile of |w| where a layer-wide diverging scale stops.
LIMIT_PERCENTILE = 99.0
GAP = 1  # pixels between tiles in an atlas
GAP_GRAY = 160  # their colour: apart from white, which is zero on the diverging scale


def kind_of(conv: nn.Conv2d) -> Kind:
    """How the filters of ``conv`` are best shown (see the module's docstring)."""
    c_in = conv.in_channels // conv.groups
    kh, kw = conv.kernel_size
    if kh == kw == 1:
        return "pointwise"
    if conv.groups > 1 and c_in == 1:
        return "depthwise"
    if c_in == 3 and conv.groups == 1:
        return "rgb"
    return "single" if c_in == 1 else "channels"


@dataclass(frozen=True)
class FilterLayer:
    """A convolution layer's filters at a glance."""

    name: str
    kind: Kind
    shape: tuple[int, int, int, int]  # (C_out, C_in / groups, kh, kw)
    groups: int
    stride: tuple[int, int]
    weights: torch.Tensor  # (C_out, C_in/g, kh, kw), on the CPU
    bias: torch.Tensor | None  # (C_out,)

    @property
    def count(self) -> int:
        return self.shape[0]

    @property
    def norms(self) -> torch.Tensor:
        """(C_out,) each filter's L2 norm."""
        return self.weights.flatten(1).norm(dim=1)

    def order(self, order: Order) -> list[int]:
        """Filter indices in gallery order: by index, or strongest (largest norm) first."""
        if order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)} (got {order!r})")
        if order == "index":
            return list(range(self.count))
        return torch.argsort(self.norms, descending=True, stable=True).tolist()

    @property
    def limit(self) -> float:
        """Where the layer-wide diverging scale stops: the 99th percentile of |w|."""
        magnitude = self.weights.abs().flatten().double()
        value = float(torch.quantile(magnitude, LIMIT_PERCENTILE / 100))
        return value if value > 0 else float(magnitude.max()) or 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "groups": self.groups,
            "stride": list(self.stride),
            "count": self.count,
            "parameters": self.weights.numel() + (0 if self.bias is None else self.bias.numel()),
            "limit": self.limit,
            "norms": self.norms.tolist(),
        }


def describe(model: nn.Module, name: str) -> FilterLayer:
    """The filters of the convolution ``name``; ``ValueError`` if it is not one."""
    conv = conv_module(model, name)
    weights = conv.weight.detach().float().cpu()
    return FilterLayer(
        name=name,
        kind=kind_of(conv),
        shape=tuple(weights.shape),  # type: ignore[arg-type]
        groups=conv.groups,
        stride=tuple(conv.stride),  # type: ignore[arg-type]
        weights=weights,
        bias=None if conv.bias is None else conv.bias.detach().float().cpu(),
    )


def filter_layers(model: nn.Module) -> list[FilterLayer]:
    """Every convolution layer's filters, in definition order."""
    return [describe(model, name) for name in conv_layers(model)]


@dataclass(frozen=True)
class Gallery:
    """A layer's filters as one picture, and where each filter is in it."""

    layer: FilterLayer
    order: list[int]  # filter index of each tile (or matrix row), in picture order
    rows: int  # tiles down (pointwise: 1)
    columns: int  # tiles across (channels: the input channels; pointwise: 1)
    tile: tuple[int, int]  # (height, width) of a tile in pixels (pointwise: the matrix)
    scale: Scale
    limit: float | None  # the diverging scale's ±limit when it is one for the layer
    png: bytes
    colors: colormaps.Scheme = "standard"  # the colour scheme it is drawn in

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer.to_dict(),
            "order": self.order,
            "rows": self.rows,
            "columns": self.columns,
            "tile": list(self.tile),
            "gap": 0 if self.layer.kind == "pointwise" else GAP,
            "scale": self.scale,
            "limit": self.limit,
            "colorscale": None
            if self.layer.kind == "rgb"
            else colormaps.stops_list(colormaps.stops_of(self.colors, "diverging")),
        }


def _atlas(tiles: torch.Tensor, columns: int) -> torch.Tensor:
    """(n, 3, h, w) uint8 tiles → (3, H, W) grid, ``columns`` across, gray gaps."""
    n, _, h, w = tiles.shape
    rows = math.ceil(n / columns)
    size = (3, rows * (h + GAP) - GAP, columns * (w + GAP) - GAP)
    atlas = torch.full(size, GAP_GRAY, dtype=torch.uint8)
    for i in range(n):
        r, c = divmod(i, columns)
        atlas[:, r * (h + GAP) : r * (h + GAP) + h, c * (w + GAP) : c * (w + GAP) + w] = tiles[i]
    return atlas


def _diverging(
    values: torch.Tensor, limits: torch.Tensor, stops: colormaps.Stops = colormaps.DIVERGING
) -> torch.Tensor:
    """(n, ..., h, w) values with one limit per leading item → (n, ..., 3, h, w) uint8."""
    scaled = values / limits.view(-1, *([1] * (values.dim() - 1)))  # in [−1, 1] (clipped)
    rgb = colormaps.colorize(scaled.reshape(-1, values.shape[-1]), -1.0, 1.0, stops)
    rgb = rgb.view(3, *values.shape)  # (3, n, ..., h, w)
    return rgb.movedim(0, -3)


def gallery(
    model: nn.Module,
    name: str,
    *,
    order: Order = "index",
    scale: Scale = "layer",
    colors: colormaps.Scheme = "standard",
) -> Gallery:
    """The gallery of the convolution ``name`` (see the module's docstring), its diverging
    scale in colour scheme ``colors``."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)} (got {scale!r})")
    stops = colormaps.stops_of(colors, "diverging")
    layer = describe(model, name)
    sequence = layer.order(order)
    w = layer.weights[sequence]  # (C_out, C_in/g, kh, kw) in gallery order
    n, c_in, kh, kw = w.shape
    limit = layer.limit if scale == "layer" else None
    per_filter = w.flatten(1).abs().amax(1).clamp_min(1e-12)  # (C_out,)
    limits = torch.full((n,), limit) if limit is not None else per_filter
    if layer.kind == "pointwise":
        matrix = w[:, :, 0, 0]  # (C_out, C_in/g): row i mixes the inputs into filter i
        indexed = colormaps.png_indexed(matrix / limits[:, None], -1.0, 1.0, stops)
        return Gallery(layer, sequence, 1, 1, (n, c_in), scale, limit, indexed, colors)
    if layer.kind == "rgb":
        low = w.flatten(1).amin(1) if scale == "filter" else torch.full((n,), float(w.min()))
        high = w.flatten(1).amax(1) if scale == "filter" else torch.full((n,), float(w.max()))
        span = (high - low).clamp_min(1e-12).view(-1, 1, 1, 1)
        tiles = ((w - low.view(-1, 1, 1, 1)) / span * 255).round().to(torch.uint8)  # (n, 3, h, w)
        columns = min(n, 16)
        picture = _atlas(tiles, columns)
        return Gallery(
            layer, sequence, math.ceil(n / columns), columns, (kh, kw), scale, None,
            colormaps.png(picture), colors,
        )  # fmt: skip
    if layer.kind == "channels":
        tiles = _diverging(w, limits, stops)  # (n, C_in, 3, kh, kw): row = filter, column = channel
        picture = _atlas(tiles.flatten(0, 1), c_in)
        png = colormaps.png(picture)
        return Gallery(layer, sequence, n, c_in, (kh, kw), scale, limit, png, colors)
    tiles = _diverging(w[:, 0], limits, stops)  # single, depthwise: (n, 3, kh, kw)
    columns = min(n, max(8, math.ceil(math.sqrt(n))))
    picture = _atlas(tiles, columns)
    rows = math.ceil(n / columns)
    png = colormaps.png(picture)
    return Gallery(layer, sequence, rows, columns, (kh, kw), scale, limit, png, colors)


@dataclass(frozen=True)
class FilterDetail:
    """One filter's numbers."""

    layer: str
    index: int
    kind: Kind
    weights: torch.Tensor  # (C_in/g, kh, kw)
    bias: float | None
    norm: float
    input_channels: list[int]  # the layer's input channels this filter reads

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "index": self.index,
            "kind": self.kind,
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "norm": self.norm,
            "channel_norms": self.weights.flatten(1).norm(dim=1).tolist(),
            "input_channels": self.input_channels,
            "range": [float(self.weights.min()), float(self.weights.max())],
        }


def _check_index(layer: FilterLayer, index: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < layer.count:
        raise ValueError(
            f"filter must be from 0 to {layer.count - 1} in {layer.name} (got {index!r})"
        )
    return index


def filter_detail(model: nn.Module, name: str, index: int) -> FilterDetail:
    """The weights, bias and norm of filter ``index`` of the convolution ``name``."""
    layer = describe(model, name)
    _check_index(layer, index)
    per_group = layer.count // layer.groups
    c_in = layer.shape[1]
    first = index // per_group * c_in
    return FilterDetail(
        layer=name,
        index=index,
        kind=layer.kind,
        weights=layer.weights[index],
        bias=None if layer.bias is None else float(layer.bias[index]),
        norm=float(layer.weights[index].norm()),
        input_channels=list(range(first, first + c_in)),
    )


def feature_map(model: nn.Module, x: torch.Tensor, name: str, index: int) -> torch.Tensor:
    """(H', W') the output channel ``index`` of the convolution ``name`` for one input ``x``
    (C, H, W): what this filter produces on the image (before BatchNorm and activation)."""
    _check_index(describe(model, name), index)
    device = next(model.parameters()).device
    return layer_output(model, x[None].to(device), name)[0, index].float().cpu()
