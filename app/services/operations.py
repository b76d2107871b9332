"""The operation lessons, request → result: a convolution, a pooling or a transposed
convolution traced step by step, the shift demonstration, and each page's configuration
(presets, limits). The JSON endpoints (``app/web/api``) and the pages call the same
functions; each trace comes back as JSON bytes, serialised where it was computed (on a
worker thread), because converting hundreds of thousands of numbers is most of the work;
a trace asked again is sent from the answers cache (:func:`trace_key`, :func:`cached_trace`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import asdict
from typing import Any

import orjson

from app.images.samples import load_sample
from app.ops.arrays import to_tensor
from app.ops.conv import LIMITS as CONV_LIMITS
from app.ops.conv import LIMITS_BY_DIMS
from app.ops.invariance import D2L_EDGES, D2L_KERNEL, SEED_000_EDGE, SHIFTS, shift_demo
from app.ops.kernels import KERNELS
from app.ops.padding import MODES
from app.ops.pool import KINDS
from app.ops.pool import LIMITS as POOL_LIMITS
from app.ops.presets import DEFAULTS, presets
from app.ops.presets.convolution_nd import views
from app.ops.traces import TRACES
from app.ops.transposed import LIMITS as TRANSPOSED_LIMITS
from app.services.answers import JSON, Answers
from app.services.mechanics import adaptive_config
from app.services.serialize import dumps

# --------------------------------------------------------------------------- the traces


def trace(operation: str, **fields: Any) -> bytes:
    """``POST /api/convolution``, ``/api/pooling``, ``/api/transposed-convolution``: the
    request's fields validated, traced (:mod:`app.ops.traces`) and serialised."""
    return dumps(TRACES[operation](**fields).to_dict())


def trace_key(operation: str, fields: Mapping[str, Any]) -> tuple[str, str, bytes] | None:
    """The question a trace answers, for the answers cache: a digest of its fields as
    canonical JSON (a lecture hall sends the lecture's example a few hundred times); None
    for fields JSON cannot hold (a 400-digit integer: the trace refuses it with a 422)."""
    try:
        canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    return ("trace", operation, hashlib.blake2b(canonical, digest_size=16).digest())


def cached_trace(
    answers: Answers, key: Hashable, operation: str, fields: Mapping[str, Any]
) -> bytes:
    """:func:`trace`, computed once per question and then sent from memory."""
    return answers.get(key, lambda: (trace(operation, **fields), JSON))[0]


def shift(*, input: Any, kernel: Any, shift: Any, size: Any = 2, stride: Any = None) -> bytes:
    """``POST /api/pooling/shift``: convolve and pool an image and its shifted copy."""
    x = to_tensor(input, "input", dims=(2,))
    weight = to_tensor(kernel, "kernel", dims=(2,))
    return dumps(shift_demo(x, weight, shift, size, stride))


# --------------------------------------------------------------------------- the pages' data


def presets_of(operation: str) -> list[dict[str, Any]]:
    """The lecture presets of one operation page, as its page and API list them."""
    return [preset.to_dict() for preset in presets(operation).values()]


def convolution_config() -> dict[str, Any]:
    """The playground's presets, classic kernels and limits."""
    return {
        "presets": presets_of("convolution"),
        "kernels": [kernel.to_dict() for kernel in KERNELS.values()],
        "limits": asdict(CONV_LIMITS),
        "default_preset": DEFAULTS["convolution"],
        "views": views(),  # the 1-D and 3-D views' presets
        "limits_by_dims": {str(d): asdict(limits) for d, limits in LIMITS_BY_DIMS.items()},
        "padding_modes": list(MODES),
    }


def demo_examples() -> list[dict[str, Any]]:
    """Images for the shift demonstration: the d2l edges and two digits (0–255), as numbers."""
    digits = [
        {
            "name": f"mnist-{d}",
            "title": f"Handwritten {d} (MNIST, 28×28)",
            "input": (load_sample(f"mnist-{d}", 28)[0] * 255).round().int().tolist(),
            "kernel": [list(r) for r in KERNELS["sobel_left"].weights],
            "size": 3,
        }
        for d in (3, 7)
    ]
    edges = {
        "name": "d2l_edges",
        "title": "Two vertical edges (d2l §7.5)",
        "input": D2L_EDGES,
        "kernel": D2L_KERNEL,
        "size": 2,
        "stride": 1,
    }
    slide = {
        "name": "seed000_edge",
        "title": "The slide's own: a 4×5 edge and [1, −1] (seed 000, 'Pooling')",
        "input": SEED_000_EDGE,
        "kernel": D2L_KERNEL,
        "size": 2,
        "stride": 1,
    }
    return [edges, *digits, slide]


def pooling_config() -> dict[str, Any]:
    """The pooling page's presets, limits and shift examples."""
    return {
        "presets": presets_of("pooling"),
        "default_preset": DEFAULTS["pooling"],
        "kinds": list(KINDS),
        "limits": asdict(POOL_LIMITS),
        "shifts": list(SHIFTS),
        "demos": demo_examples(),
        "kernels": [kernel.to_dict() for kernel in KERNELS.values()],
        "adaptive": adaptive_config(),
    }


def transposed_config() -> dict[str, Any]:
    """The transposed-convolution page's presets and limits."""
    return {
        "presets": presets_of("transposed"),
        "default_preset": DEFAULTS["transposed"],
        "limits": asdict(TRANSPOSED_LIMITS),
    }


def pointwise_config() -> dict[str, Any]:
    """The 1×1 page's presets (input stacks and mixing matrices) and the convolution's
    limits (it computes with ``POST /api/convolution`` and C_out×C_in×1×1 kernels)."""
    return {
        "presets": presets_of("pointwise"),
        "default_preset": DEFAULTS["pointwise"],
        "limits": asdict(CONV_LIMITS),
    }
