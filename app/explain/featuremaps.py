"""Feature maps as pictures: one layer's output → small palette PNGs, a page at a time.

A convolution layer's output is C maps of H×W numbers. Sent as JSON, the 32 maps of
EfficientNet-Lite0's stem (32×112×112) would be 400,000 numbers; as 8-bit palette PNGs they
are a few kilobytes each. Every map is drawn on a colour scale shared by the whole layer
(``scale="layer"``: maps can be compared) or its own (``scale="map"``: each map's detail):

- values of both signs: a diverging scale, symmetric about 0 (blue < 0 < red, 0 white);
- values ≥ 0 (after a ReLU): a sequential scale from 0 (white) to the maximum (blue);
- values ≤ 0: the diverging scale from the minimum to its opposite.

These are the scales ``static/js/draw/heatmap.js`` uses for grids of numbers (``colorScale``),
so a map drawn from its PNG and the same map drawn from its numbers look the same; the
stops travel with every answer so that the page can draw the legend. Both come in the
viewer's colour scheme (``colors``: ``standard``, or ``safe`` for colour-blind viewers;
``app.images.colormaps``), the PNGs' palettes too.

Wide layers are not dumped: channels are listed strongest first (mean |activation|) or in
index order, ``per_page`` at a time. Small pages also carry the numbers themselves
(``values``, float32, at most :data:`MAX_VALUES`), so that a small map can be shown with
its values printed.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from app.images import colormaps
from app.images.colormaps import IEND, PNG_SIGNATURE, chunk
from app.nets.predict import LayerActivation

Order = Literal["strength", "index"]
Scale = Literal["layer", "map"]

#: Colour stops (position, colour) of the two scales, as in static/js/draw/heatmap.js (the
#: standard scheme's; :func:`stops_for` gives either scheme's).
DIVERGING = colormaps.DIVERGING
SEQUENTIAL = colormaps.SEQUENTIAL
KINDS = ("diverging", "sequential")

#: Most numbers one page of maps carries besides its pictures.
MAX_VALUES = 8192
#: Most maps on one page.
MAX_PER_PAGE = 64


def _palette(stops: colormaps.Stops) -> bytes:
    """256 RGB entries interpolated linearly between the stops (what Plotly does)."""
    return colormaps.palette(stops).tobytes()  # (256, 3) row by row


PALETTES = {"diverging": _palette(DIVERGING), "sequential": _palette(SEQUENTIAL)}
STOPS = {"diverging": DIVERGING, "sequential": SEQUENTIAL}


def stops_for(colors: str = "standard") -> dict[str, list[list[Any]]]:
    """The two scales' stops in colour scheme ``colors``, as answers carry them."""
    return {kind: [list(stop) for stop in colormaps.stops_of(colors, kind)] for kind in KINDS}


@dataclass(frozen=True)
class ColorRange:
    """How values map to colours: ``kind`` of scale, and the values at its two ends."""

    kind: Literal["diverging", "sequential"]
    zmin: float
    zmax: float

    @classmethod
    def of(cls, low: float, high: float) -> ColorRange:
        """The scale for values in [low, high] (the rule of heatmap.js ``colorScale``)."""
        if low < 0 < high:
            m = max(-low, high)
            return cls("diverging", -m, m)
        if low < 0:
            return cls("diverging", low, -low)
        return cls("sequential", min(0.0, low), high if high > low else low + 1.0)

    def levels(self, values: torch.Tensor) -> torch.Tensor:
        """``uint8`` palette indices 0…255 of ``values`` (clamped to the range)."""
        span = self.zmax - self.zmin
        scaled = (values.float() - self.zmin) * (255.0 / span)
        return scaled.round_().clamp_(0, 255).to(torch.uint8)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "zmin": self.zmin, "zmax": self.zmax}


_PLTE = {
    (scheme, kind): chunk(b"PLTE", _palette(colormaps.stops_of(scheme, kind)))
    for scheme in colormaps.SCHEMES
    for kind in KINDS
}


def palette_png(levels: torch.Tensor, kind: str, colors: str = "standard") -> bytes:
    """An 8-bit palette PNG of an (H, W) ``uint8`` grid of palette indices, on the scale
    ``kind`` of colour scheme ``colors``.

    Written directly (PNG spec: IHDR, PLTE, IDAT of zlib level 1 over rows each led by filter
    type 0, IEND): a map of 112×112 takes a tenth of a millisecond, a third of Pillow's time.
    """
    height, width = levels.shape
    rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0, then the row
    rows[:, 1:] = levels.numpy()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, palette colour
    return b"".join(
        (
            PNG_SIGNATURE,
            chunk(b"IHDR", header),
            _PLTE[colormaps.check_scheme(colors), kind],
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            IEND,
        )
    )


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def check_page(page: int, per_page: int, total: int) -> int:
    """The number of pages; ``ValueError`` for a page or page size out of range."""
    if isinstance(per_page, bool) or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be from 1 to {MAX_PER_PAGE} (got {per_page!r})")
    pages = max(1, -(-total // per_page))
    if isinstance(page, bool) or not 0 <= page < pages:
        raise ValueError(f"page must be from 0 to {pages - 1} for {total} maps (got {page!r})")
    return pages


def is_map_layer(shape: tuple[int, ...]) -> bool:
    """True for C×H×W outputs with more than one position; others are shown as vectors."""
    return len(shape) == 3 and shape[1] * shape[2] > 1


def maps_page(
    activation: LayerActivation,
    *,
    order: Order = "strength",
    page: int = 0,
    per_page: int = 16,
    scale: Scale = "layer",
    colors: colormaps.Scheme = "standard",
) -> dict[str, Any]:
    """One page of a layer's maps: PNGs, per-map range and strength, the layer's range, in
    colour scheme ``colors``.

    ``activation.values`` is (C, H, W) with H·W > 1. Vectors (a dense layer's output, or
    C×1×1 maps) go through :func:`vector` instead.
    """
    colormaps.check_scheme(colors)
    values = activation.values  # (C, H, W)
    channels, height, width = values.shape
    pages = check_page(page, per_page, channels)
    ranking = activation.order if order == "strength" else torch.arange(channels)
    chosen = ranking[page * per_page : (page + 1) * per_page]  # (n,) channel indices
    picked = values[chosen]  # (n, H, W)
    lows = picked.flatten(1).amin(1).tolist()  # (n,)
    highs = picked.flatten(1).amax(1).tolist()
    layer_range = ColorRange.of(activation.minimum, activation.maximum)
    ranges = [
        layer_range if scale == "layer" else ColorRange.of(low, high)
        for low, high in zip(lows, highs, strict=True)
    ]
    # ColorRange.levels for every map at once, with the very same float32 arithmetic
    zmin = torch.tensor([r.zmin for r in ranges])[:, None, None]  # (n, 1, 1)
    factor = torch.tensor([255.0 / (r.zmax - r.zmin) for r in ranges])[:, None, None]
    levels = ((picked.float() - zmin) * factor).round_().clamp_(0, 255).to(torch.uint8)
    maps = [
        {
            "channel": channel,
            "min": lows[k],
            "max": highs[k],
            "strength": float(activation.strength[channel]),
            "color": ranges[k].to_dict(),
            "png": data_url(palette_png(levels[k], ranges[k].kind, colors)),
        }
        for k, channel in enumerate(chosen.tolist())
    ]
    found: dict[str, Any] = {
        "kind": "maps",
        "shape": [channels, height, width],
        "min": activation.minimum,
        "max": activation.maximum,
        "color": layer_range.to_dict(),
        "stops": stops_for(colors),
        "order": order,
        "scale": scale,
        "page": page,
        "per_page": per_page,
        "pages": pages,
        "maps": maps,
    }
    if picked.numel() <= MAX_VALUES:
        found["values"] = picked.numpy()  # (n, H, W) float32, in the order of ``maps``
    return found


def vector(activation: LayerActivation, colors: colormaps.Scheme = "standard") -> dict[str, Any]:
    """A layer whose output is a vector (features, or C×1×1 maps): every value, as numbers
    (with the stops of colour scheme ``colors``)."""
    flat = activation.values.reshape(-1)  # (features,)
    if flat.numel() > MAX_VALUES:
        raise ValueError(f"{activation.name} has {flat.numel()} values, more than {MAX_VALUES}")
    scale = ColorRange.of(activation.minimum, activation.maximum)
    return {
        "kind": "vector",
        "shape": list(activation.values.shape),
        "min": activation.minimum,
        "max": activation.maximum,
        "color": scale.to_dict(),
        "stops": stops_for(colors),
        "values": flat.numpy(),
        "order": activation.order.numpy(),  # strongest first
    }
