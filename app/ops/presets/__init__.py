"""The lecture's worked examples, one module per operation page, all of one type
(:class:`~app.ops.presets.base.Preset`): :func:`presets` and :data:`DEFAULTS` by operation.

The 1×1 page's presets are made on demand (one of them reads a sample photo).
"""

from __future__ import annotations

from app.ops.presets import convolution, pointwise, pooling, transposed
from app.ops.presets.base import Preset

#: The preset each page opens on.
DEFAULTS = {
    "convolution": convolution.DEFAULT,
    "pooling": pooling.DEFAULT,
    "transposed": transposed.DEFAULT,
    "pointwise": pointwise.DEFAULT,
}


def presets(operation: str) -> dict[str, Preset]:
    """The presets of ``operation`` by name, in the order the page lists them."""
    if operation == "pointwise":
        return pointwise.pointwise_presets()
    return {
        "convolution": convolution.CONVOLUTION,
        "pooling": pooling.POOLING,
        "transposed": transposed.TRANSPOSED,
    }[operation]


__all__ = ["DEFAULTS", "Preset", "presets"]
