"""JSON bytes by orjson: numpy arrays are written natively (traces hold hundreds of thousands
of numbers, and converting them to Python objects first would cost ten times more)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(content: Any) -> bytes:
    """``content`` as JSON bytes; numpy arrays included."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
