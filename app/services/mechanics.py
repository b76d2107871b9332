"""The lecture's remaining mechanics, request → JSON bytes: from a dense layer to a
convolution, the four normalisations, and adaptive pooling; and the data their pages start
from (examples and limits). The endpoints and the pages call the same functions.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.ops.adaptive_pool import KINDS as ADAPTIVE_KINDS
from app.ops.adaptive_pool import LIMITS as ADAPTIVE_LIMITS
from app.ops.adaptive_pool import adaptive_pool
from app.ops.dense_conv import INITS, dense_to_convolution
from app.ops.dense_conv import LIMITS as DENSE_LIMITS
from app.ops.normalization import AXES, MODES, normalize
from app.ops.normalization import KINDS as NORM_KINDS
from app.ops.normalization import LIMITS as NORM_LIMITS
from app.services.serialize import dumps

#: The dense page's first input: a 6×6 image with two vertical edges, like the lecture's.
DENSE_INPUT = [[1, 1, 0, 0, 1, 1] for _ in range(6)]

#: The normalisation page's first batch: N = 2 examples, C = 4 channels of 3×3 maps, small
#: integers with a different level per channel and example, so every kind differs visibly.
NORM_INPUT = [
    [
        [[(3 * n + 2 * c + r + col) % 7 + 4 * c - 2 * n for col in range(3)] for r in range(3)]
        for c in range(4)
    ]
    for n in range(2)
]


def dense(**fields: Any) -> bytes:
    """``POST /api/dense-to-convolution``."""
    return dumps(dense_to_convolution(**fields))


def normalization(**fields: Any) -> bytes:
    """``POST /api/normalization``."""
    return dumps(normalize(**fields))


def adaptive(**fields: Any) -> bytes:
    """``POST /api/pooling/adaptive``."""
    return dumps(adaptive_pool(**fields))


def dense_config() -> dict[str, Any]:
    """The dense → convolution page's first input, starts and limits."""
    return {"input": DENSE_INPUT, "inits": list(INITS), "limits": asdict(DENSE_LIMITS)}


def normalization_config() -> dict[str, Any]:
    """The normalisation page's first batch, kinds, axes and limits."""
    return {
        "input": NORM_INPUT,
        "kinds": list(NORM_KINDS),
        "modes": list(MODES),
        "axes": AXES,
        "limits": asdict(NORM_LIMITS),
    }


def adaptive_config() -> dict[str, Any]:
    """Adaptive pooling's kinds and limits (the pooling page's section)."""
    return {"kinds": list(ADAPTIVE_KINDS), "limits": asdict(ADAPTIVE_LIMITS)}
