"""JSON answers written by :func:`app.services.serialize.dumps`, and their cache headers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.services.answers import PICTURES_JSON
from app.services.serialize import dumps

__all__ = ["CACHE", "PICTURES_JSON", "JSONBytes", "dumps"]

#: How long browsers may keep an answer that depends only on its URL (ids name content).
CACHE = "private, max-age=3600"


class JSONBytes(Response):
    """A JSON response rendered by :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
