"""The HTTP server: uvicorn, bounded so that connections which send nothing cannot starve it.

:func:`build_server` makes the server that ``convscope serve`` runs and that the tests'
live server runs (one construction, so the tests exercise what production runs):

- **header timeout**: a connection that has not sent a request's complete headers within
  ``header_timeout_s`` is closed; the clock starts when it connects and again after each
  response on a kept-alive connection (uvicorn's own keep-alive timer stops at the first
  byte, so a client trickling a byte at a time would otherwise hold it for ever);
- **a bound on connections**: at most ``max_connections`` are open, kept under half the
  open-file limit (raised to its hard limit first), and the listen backlog under an eighth
  (asyncio accepts up to a backlog of connections at once, before the cap acts). At the
  cap a newcomer closes the oldest connection still waiting for headers (an idle flood is
  churned through while real clients, which send their headers at once, get in); when
  none is waiting, the newcomer gets a 503 and is closed at once. uvicorn's
  ``limit_concurrency`` bounds the responses still running (after their client left) by
  the same number;
- **a quiet log**: a repeated message (uvicorn's per-connection warnings, the event loop's
  accept errors such as EMFILE, this module's refusals) is written once per
  ``log_summary_s``; the rest are counted and reported in one line per message.

The protocol is uvicorn's h11 implementation (the one ``uvicorn`` installs) with these
additions, whatever else is installed (httptools is not used).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import Counter, OrderedDict
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from app.settings import Settings

#: Where this module's summaries go: a child of uvicorn's error log, so it is written by
#: uvicorn's handler with uvicorn's format and level.
log = logging.getLogger("uvicorn.error.limits")


class Quiet:
    """Lets each message through once per window and counts the repeats left out.

    Process-wide for uvicorn's error log (a logging filter sees every server's records);
    :meth:`flush` reports what was left out as one line per message.
    """

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._shown: dict[str, float] = {}
        self._left_out: Counter[str] = Counter()
        self._flushed = time.monotonic()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            shown = self._shown.get(key)
            if shown is None or now - shown >= self.window_s:
                if len(self._shown) > 1000:  # keys are message templates; never unbounded
                    self._shown.clear()
                self._shown[key] = now
                return True
            self._left_out[key] += 1
            return False

    def flush(self, force: bool = False) -> None:
        """Log, once per window (or now when ``force``), how many of each were left out."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._flushed < self.window_s:
                return
            self._flushed = now
            left_out, self._left_out = self._left_out, Counter()
        for key, count in left_out.items():
            log.warning("%d more like this in the last %.0f s: %s", count, self.window_s, key)


class QuietFilter(logging.Filter):
    """A logging filter that rate-limits records by message template and exception type."""

    def __init__(self, quiet: Quiet) -> None:
        super().__init__()
        self.quiet = quiet

    def filter(self, record: logging.LogRecord) -> bool:
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        return self.quiet.allow(f"{record.levelname} {record.msg} {kind}".strip())


#: The one limiter of uvicorn's error log (every server in the process shares the logger).
QUIET = Quiet()


def quiet_uvicorn_log(window_s: float) -> None:
    """Rate-limit uvicorn's error log (idempotent; the latest window wins)."""
    QUIET.window_s = window_s
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietFilter) for f in logger.filters):
        logger.addFilter(QuietFilter(QUIET))


class Guard:
    """One server's connection bounds and counters, shared by its connections."""

    def __init__(self, max_connections: int, header_timeout_s: float, retry_after_s: int):
        self.max_connections = max_connections
        self.header_timeout_s = header_timeout_s
        body = b"Too many connections; try again shortly.\n"
        self.refusal = (
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"retry-after: %d\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
            % (retry_after_s, len(body), body)
        )
        #: Connections waiting for request headers, oldest first: the first to close for
        #: a newcomer at the cap.
        self.waiting: OrderedDict[BoundedH11Protocol, None] = OrderedDict()
        self.counts: Counter[str] = Counter()
        self.report_every_s = 10.0
        self._reported = -float("inf")

    def report(self) -> None:
        """Log what the bounds did since the last report, in one line, once per window."""
        now = time.monotonic()
        if not self.counts or now - self._reported < self.report_every_s:
            return
        self._reported = now
        counts, self.counts = self.counts, Counter()
        done = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        # a timeout is routine (a browser's spare connection); a cap reached is not
        routine = counts.keys() <= {"timed out waiting for headers"}
        level = logging.INFO if routine else logging.WARNING
        log.log(level, "connections (cap %d): %s", self.max_connections, done)

    def exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """The event loop's handler: accept errors (EMFILE…) and the like, rate-limited."""
        error = context.get("exception")
        key = f"{context.get('message', 'event loop error')} {type(error).__name__}"
        if QUIET.allow(key.strip()):
            loop.default_exception_handler(context)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and a connection cap (:class:`Guard`).

    :func:`protocol_for` makes a subclass per server, bound to its guard.
    """

    guard: ClassVar[Guard]
    _header_timer: asyncio.TimerHandle | None = None
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        guard = self.guard
        if len(self.connections) >= guard.max_connections and not self._make_room():
            self._refused = True
            guard.counts["refused (503)"] += 1
            transport.write(guard.refusal)
            transport.close()
            return
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a request's headers are complete
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_headers()  # the next request's headers: the clock starts again

    def _await_headers(self) -> None:
        self._stop_waiting()
        self._header_timer = self.loop.call_later(self.guard.header_timeout_s, self._timed_out)
        self.guard.waiting[self] = None

    def _stop_waiting(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self.guard.waiting.pop(self, None)

    def _timed_out(self) -> None:
        self._header_timer = None
        self.guard.counts["timed out waiting for headers"] += 1
        self._close()

    def _make_room(self) -> bool:
        """Close the oldest connection waiting for headers; else forget those already
        closing (their sockets close on the loop's next turn). False when all are busy."""
        while self.guard.waiting:
            oldest, _ = self.guard.waiting.popitem(last=False)
            if not oldest.transport.is_closing():
                self.guard.counts["idle closed for a newcomer"] += 1
                oldest._close()
                return True
        for closing in [c for c in self.connections if c.transport.is_closing()]:
            self.connections.discard(closing)
        return len(self.connections) < self.guard.max_connections

    def _close(self) -> None:
        self._stop_waiting()
        self.connections.discard(self)  # its place is free now, not when the loop says so
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(guard: Guard) -> type[BoundedH11Protocol]:
    """A :class:`BoundedH11Protocol` class bound to one server's guard."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"guard": guard})


class BoundedServer(uvicorn.Server):
    """uvicorn's server with the guard's loop exception handler and periodic reports."""

    def __init__(self, config: uvicorn.Config, guard: Guard) -> None:
        super().__init__(config)
        self.guard = guard

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(self.guard.exception_handler)
        await super().startup(sockets)

    async def on_tick(self, counter: int) -> bool:
        if counter % 10 == 0:  # about once a second
            self.guard.report()
            QUIET.flush()
        return await super().on_tick(counter)


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit where allowed; returns the
    soft limit in force (a large number where the platform has none)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = resource.RLIM_INFINITY
    for target in (hard, 1 << 20, 65536, 10240):  # macOS refuses "unlimited" and > OPEN_MAX
        if (soft != infinite and target > soft) and (hard == infinite or target <= hard):
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
                break
            except (ValueError, OSError):
                continue
    return 1 << 20 if soft == infinite else soft


def build_server(app: Any, settings: Settings) -> BoundedServer:
    """The server for ``app`` on ``settings.host:settings.port``, bounded by ``settings``."""
    open_files = raise_open_file_limit()
    # Open files at worst: the cap, plus a backlog's worth accepted in one go (asyncio
    # accepts up to `backlog` connections per wake-up, before the cap sees any of them),
    # plus as many just closed for them: half + 2 × an eighth leave a quarter to the app.
    max_connections = min(settings.max_connections, max(1, open_files // 2))
    backlog = min(settings.listen_backlog, max(1, open_files // 8))
    guard = Guard(max_connections, settings.header_timeout_s, settings.retry_after_s)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol_for(guard),
        limit_concurrency=max_connections + 1,  # > the cap: a request is never 503 for it
        backlog=backlog,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        timeout_graceful_shutdown=5,
        log_level="warning",
    )
    quiet_uvicorn_log(settings.log_summary_s)  # after Config, which configures logging
    guard.report_every_s = settings.log_summary_s
    if max_connections < settings.max_connections or backlog < settings.listen_backlog:
        log.warning(
            "max_connections %d, listen_backlog %d: lowered to fit the open-file limit (%d)",
            max_connections,
            backlog,
            open_files,
        )
    return BoundedServer(config, guard)
