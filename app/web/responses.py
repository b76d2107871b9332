"""JSON answers written by :func:`app.services.serialize.dumps`, and their cache headers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.services.serialize import dumps

#: How long browsers may keep an answer that depends only on its URL (ids name content).
CACHE = "private, max-age=3600"
#: The media type of answers that are mostly PNG (base64): JSON all the same, but not
#: gzipped again (zlib spends ~7 ms on 240 kB of base64 PNG to save a quarter of it).
PICTURES_JSON = "application/vnd.convscope.pictures+json"


class JSONBytes(Response):
    """A JSON response rendered by :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
