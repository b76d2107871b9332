"""What the learned-filters page computes, free of any web code (``/networks/{name}/filters``
and ``/api/models/{name}/filters/...`` call these functions; each returns plain data):

- :func:`layers_result`: every convolution layer of a network with its kind and shapes.
- :func:`gallery`: a layer's gallery (``app.explain.filters.gallery``), kept in a small LRU
  cache: the weights never change, and a lecture hall asks for the same few layers (in
  one colour scheme or the other: it is part of the key).
- :func:`detail_result`: one filter's numbers.
- :func:`feature_map_result`: the map one filter produces on an image, as a palette PNG on
  the explorer's colour scales (``app.explain.featuremaps``) in the viewer's colour scheme
  and, when small, its numbers.
- :func:`maximized_result` and :func:`top_digits_result`: activation maximisation and the
  top nine digits as JSON, the picture as a ``data:`` URL beside the numbers.
"""

from __future__ import annotations

from typing import Any

import torch

from app.explain import featuremaps, filters, units
from app.explain.maximize import Maximized
from app.explain.topdigits import ChannelTop
from app.images.colormaps import Scheme, check_scheme
from app.images.store import ImageSource
from app.nets.network import Network
from app.runtime.cache import LRUCache
from app.services.inputs import Inputs, Prepared

#: Galleries kept, with their layout as JSON: (network, layer, order, scale, colour scheme) →
#: (Gallery, dict).
#: EfficientNet-Lite0's largest atlas (the head's 1280×320 matrix) is 400 kB of PNG; its
#: layout's colour limit (a quantile over 400,000 weights) takes longer than sending it.
_GALLERIES: LRUCache[tuple[str, str, str, str, str], tuple[filters.Gallery, dict[str, Any]]] = (
    LRUCache(256, 64 * 2**20)
)


def _layers(network: Network) -> tuple[dict[str, Any], ...]:
    rows = []
    for layer in filters.filter_layers(network.module):
        row = layer.to_dict()
        del row["norms"]  # per filter: in the gallery's answer
        rows.append(row)
    return tuple(rows)


def layers_result(network: Network) -> dict[str, Any]:
    """The convolution layers of ``network``: name, kind, shape, groups, stride, count,
    parameters and the layer's colour limit, in definition order."""
    rows = network.memo("filter layers", lambda: _layers(network))
    return {"model": network.name, "layers": list(rows)}


def _gallery(
    network: Network, layer: str, order: filters.Order, scale: filters.Scale, colors: Scheme
) -> tuple[filters.Gallery, dict[str, Any]]:
    check_scheme(colors)

    def make() -> tuple[tuple[filters.Gallery, dict[str, Any]], int]:
        found = filters.gallery(network.module, layer, order=order, scale=scale, colors=colors)
        return (found, found.to_dict()), len(found.png) + 16 * found.layer.count

    return _GALLERIES.get_or_make((network.name, layer, order, scale, colors), make)


def gallery(
    network: Network,
    layer: str,
    order: filters.Order = "index",
    scale: filters.Scale = "layer",
    colors: Scheme = "standard",
) -> filters.Gallery:
    """The gallery of ``layer`` (``ValueError`` for an unknown layer, order, scale or colour
    scheme)."""
    return _gallery(network, layer, order, scale, colors)[0]


def gallery_layout(
    network: Network,
    layer: str,
    order: filters.Order = "index",
    scale: filters.Scale = "layer",
    colors: Scheme = "standard",
) -> dict[str, Any]:
    """:meth:`Gallery.to_dict` of the gallery of ``layer``, made once."""
    return _gallery(network, layer, order, scale, colors)[1]


def detail_result(network: Network, layer: str, index: int) -> dict[str, Any]:
    """One filter's weights (C_in/g, kh, kw), bias, norm and the input channels it reads."""
    found = filters.filter_detail(network.module, layer, index)
    return {"model": network.name, **found.to_dict()}


def feature_map_result(
    network: Network, prepared: Prepared, layer: str, index: int, colors: Scheme = "standard"
) -> dict[str, Any]:
    """The output channel ``index`` of the convolution ``layer`` for the prepared image
    (before the elementwise layers that follow it, listed by type in ``then``: a BatchNorm,
    an activation, or none), on the explorer's colour scale for its range, in colour scheme
    ``colors``."""
    check_scheme(colors)
    values = filters.feature_map(network.module, prepared.x, layer, index)  # (H', W')
    low, high = torch.aminmax(values)
    scale = featuremaps.ColorRange.of(float(low), float(high))
    found: dict[str, Any] = {
        "model": network.name,
        "layer": layer,
        "index": index,
        "image": prepared.image_id,
        "shape": list(values.shape),
        "min": float(low),
        "max": float(high),
        "then": [row.type for row in units.following(network.summary, network.module, layer)],
        "color": scale.to_dict(),
        "stops": featuremaps.stops_for(colors),
        "png": featuremaps.data_url(
            featuremaps.palette_png(scale.levels(values), scale.kind, colors)
        ),
    }
    if values.numel() <= featuremaps.MAX_VALUES:
        found["values"] = values.numpy()
    return found


def feature_map(
    network: Network,
    inputs: Inputs,
    source: ImageSource,
    layer: str,
    index: int,
    colors: Scheme = "standard",
) -> dict[str, Any]:
    """``POST .../filters/{layer}/{index}/feature-map``: the layer, index and colour scheme
    are checked before the image is read."""
    detail_result(network, layer, index)
    check_scheme(colors)
    return feature_map_result(network, inputs.sent(network, source), layer, index, colors)


def maximized_result(result: Maximized) -> dict[str, Any]:
    """Activation maximisation's answer: the settings, the curve, the final activation and
    the picture (``png``, a ``data:`` URL)."""
    return {**result.to_dict(), "png": featuremaps.data_url(result.png())}


def top_digits_result(result: ChannelTop) -> dict[str, Any]:
    """The nine digits with their labels, activations and receptive fields, and the strip
    of the nine pictures (``png``, a ``data:`` URL)."""
    return {**result.to_dict(), "png": featuremaps.data_url(result.png())}
