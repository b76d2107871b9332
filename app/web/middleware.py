"""ASGI middleware: request body limits, same-origin writes, security headers, cache
headers for assets, and the count of requests in flight that sizes torch's threads."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.images.intake import human_size
from app.runtime.workers import Cores

#: No inline script anywhere: pages hand data to JavaScript in
#: ``<script type="application/json">`` blocks. Plotly sets inline styles, hence
#: ``'unsafe-inline'`` for styles only; images may be data:/blob: URLs (figure export).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class RequestGauge:
    """Counts the HTTP requests in flight in ``cores.requests``: a computation takes every
    core only while it is the server's one piece of work (:class:`Cores`)."""

    def __init__(self, app: ASGIApp, cores: Cores) -> None:
        self.app = app
        self.cores = cores

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.cores.requests += 1  # on the event loop's thread alone: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.cores.requests -= 1


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


IMMUTABLE = "public, max-age=31536000, immutable"


class VersionedStaticFiles(StaticFiles):
    """Static files cached for a year when the URL carries ``?v=``, revalidated otherwise.

    Pages link assets with a content hash (``asset()`` in templates). Files that ES modules
    import by relative path carry no version, so they are revalidated with their ETag.
    """

    async def get_response(self, path: str, scope: Scope):
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["cache-control"] = IMMUTABLE if versioned else "no-cache"
        return response


class BodyTooLarge(HTTPException):
    """Raised while reading a body that outgrows its limit (handled as a JSON 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is too large: the limit is {human_size(limit)}")


class BodyLimitMiddleware:
    """Refuse request bodies over a size limit with 413, before reading them in full.

    A ``Content-Length`` over the limit is refused at once, without reading; a body sent
    without one (chunked) is counted as it arrives and refused as soon as it passes the
    limit. ``by_prefix`` gives other limits to the uploads (``multipart/form-data``) sent to
    those paths, e.g. images; any other body there (JSON) keeps the default limit.
    """

    def __init__(self, app: ASGIApp, default: int, by_prefix: Mapping[str, int] | None = None):
        self.app = app
        self.default = default
        self.by_prefix = sorted((by_prefix or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str, content_type: str) -> int:
        if not content_type.lower().startswith("multipart/form-data"):
            return self.default
        for prefix, limit in self.by_prefix:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope["path"], headers.get("content-type", ""))
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = orjson.dumps({"detail": BodyTooLarge(limit).detail})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


#: Methods that never change anything on the server.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SameOriginMiddleware:
    """Refuse requests that change something (POST, DELETE, ...) when a browser says they
    come from another site: ``Sec-Fetch-Site`` other than ``same-origin`` (or ``none``), or
    an ``Origin`` whose host is not this server's. A page elsewhere can then neither start
    jobs nor upload through a student's browser; curl and notebooks, which send neither
    header, are served as before. 403 with a sentence."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def foreign(headers: Headers) -> str | None:
        """Why a request is refused, or None when it may go on."""
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return f"the browser says it comes from another site ({site})"
        origin = headers.get("origin")
        if origin is None:
            return None
        host = headers.get("host", "")
        parts = urlsplit(origin)
        same = parts.netloc == host or (
            parts.hostname is not None and parts.hostname == host.split(":")[0]
            and (parts.port is None or ":" not in host)
        )  # fmt: skip
        return None if same else f"it comes from {origin[:100]}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        reason = self.foreign(Headers(scope=scope))
        if reason is None:
            await self.app(scope, receive, send)
            return
        detail = f"This request may not change anything here: {reason}"
        body = orjson.dumps({"detail": detail})
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
