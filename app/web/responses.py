"""JSON answers written by :func:`app.services.serialize.dumps`, their cache headers, and
the traces' answers (computed once per question)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.runtime.workers import ComputePool
from app.services import operations
from app.services.answers import PICTURES_JSON, Answers
from app.services.serialize import dumps

__all__ = ["CACHE", "PICTURES_JSON", "JSONBytes", "dumps", "trace_response"]

#: How long browsers may keep an answer that depends only on its URL (ids name content).
CACHE = "private, max-age=3600"


class JSONBytes(Response):
    """A JSON response rendered by :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


async def trace_response(
    pool: ComputePool, answers: Answers, operation: str, fields: dict[str, Any]
) -> Response:
    """A trace's answer: from memory when the same question was answered (without a trip
    through the compute pool), else traced in the pool and kept."""
    key = operations.trace_key(operation, fields)
    if key is None:  # refused by the trace itself (a 422), never kept
        content = await pool.run(operations.trace, operation, **fields)
    elif found := answers.cache.get(key):
        content = found[0]
    else:
        content = await pool.run(operations.cached_trace, answers, key, operation, fields)
    return Response(content, media_type="application/json")
