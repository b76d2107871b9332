"""State shared by the replicas behind a load balancer, in Redis; or none, in one process.

With ``CONVSCOPE_REDIS_URL`` unset (the default) :func:`shared_state` is ``None`` and every
store keeps to its process, as one server needs (``make serve`` needs nothing else). Set, it
is a :class:`SharedState`: one Redis client (redis-py, thread-safe) that the image store
(uploads' bytes), the jobs (state, progress, tickets, results: :mod:`app.runtime.shared_jobs`)
and the answers cache use, plus what makes failure ordinary:

- **Unreachable is not an error.** A call that cannot reach Redis within
  ``redis_timeout_s`` marks it unreachable, logs one warning, and raises
  :class:`Unavailable`, which every caller answers from its own memory (an upload kept
  here only, a job run and followed here only). Meanwhile no call waits for Redis: a
  background thread tries it once a second, and logs when it is back. ``/readyz`` says
  which (:meth:`SharedState.status`).
- **No stale state as truth.** Redis keeps two kinds of keys. What is named by its content
  (an upload's bytes under their hash; a result or answer under a digest of its question
  and the app's version) is true whenever it is found, and outlives a Redis restart if
  Redis persists it. What describes the moment (jobs, tickets, claims, heartbeats) lives
  under the *epoch*: the ``run_id`` of the Redis process. A Redis that restarts has a new
  ``run_id``, so a snapshot it reloads of jobs that were running then is never read: their
  followers are told the job is gone (404, "start it again"), and replicas stop computing
  what nobody can follow any more.
- **A replica that dies is noticed.** Each replica renews a heartbeat key (its *lease*,
  ``redis_lease_s``) a few times per lease; a job whose owner's lease has expired is
  picked up by a replica whose clients follow it (:mod:`app.runtime.shared_jobs`). A replica
  that stops cleanly deletes its lease, so its jobs are picked up at once.

Redis bounds the memory of what it keeps with its own ``maxmemory`` and a least-recently-
used policy over keys with a TTL (``volatile-lru``; every key here has one); a Redis
without ``maxmemory`` is reported in the log. One Redis (or a primary with its replicas)
serves every convscope replica; Redis Cluster is not needed at this size.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from app import __version__
from app.settings import Settings

if TYPE_CHECKING:
    import redis

T = TypeVar("T")

#: Where this module's lines go: a child of uvicorn's error log, written with its format.
log = logging.getLogger("uvicorn.error.shared")

PREFIX = "convscope"
#: Seconds between two tries of an unreachable Redis.
RETRY_S = 1.0


class Unavailable(Exception):
    """Redis cannot be reached now: answer from this process's memory."""


def digest(key: Hashable) -> str:
    """A stable name for a cache or job key (a tuple of names, numbers and settings): the
    same in every replica, 32 hex digits."""
    data = orjson.dumps(key, default=repr, option=orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(data).hexdigest()[:32]


def _where(url: str) -> str:
    """The URL without a password, for the log."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else url


class SharedState:
    """One Redis for the replicas: its client, whether it is reachable, its epoch, and this
    replica's heartbeat."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 1.0,
        lease_s: float = 5.0,
        image_ttl_s: int = 6 * 3600,
        result_ttl_s: int = 3600,
        prefix: str = PREFIX,
        client: redis.Redis | None = None,
    ) -> None:
        import redis  # only when shared state is asked for

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.url = _where(url)
        self.client: redis.Redis = client or redis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self.lease_s = lease_s
        self.image_ttl_s = image_ttl_s
        self.result_ttl_s = result_ttl_s
        self.state_ttl_s = max(3600, 2 * result_ttl_s)  # jobs' and tickets' records
        self.prefix = prefix
        #: This replica, as other replicas know it (its jobs' owner).
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self.reachable = False
        self.epoch: str | None = None  # the Redis process's run_id, when last reached
        self.error: str | None = None  # why it is unreachable
        self.changed_at = time.time()  # when reachability last changed
        self.restarts = 0  # epochs seen change (Redis restarted under us)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_epoch: list[Callable[[str], None]] = []

    # --- keys ---------------------------------------------------------------------------------

    def content_key(self, *parts: str) -> str:
        """A key for what its name makes true (uploads): kept across restarts."""
        return ":".join((self.prefix, *parts))

    def version_key(self, *parts: str) -> str:
        """A key for what this version of the app computed (results, answers)."""
        return ":".join((self.prefix, f"v{__version__}", *parts))

    def epoch_base(self) -> str:
        """The prefix of this epoch's keys (jobs, tickets, heartbeats); Unavailable when
        Redis has not been reached yet."""
        epoch = self.epoch
        if epoch is None or not self.reachable:
            raise Unavailable("Redis has not been reached")
        return f"{self.prefix}:{epoch}:"

    # --- calls --------------------------------------------------------------------------------

    def call(self, fn: Callable[[redis.Redis], T]) -> T:
        """``fn(client)``; :class:`Unavailable` at once while Redis is unreachable, or when
        this call finds it so (then it counts as unreachable until a try succeeds)."""
        if not self.reachable:
            raise Unavailable(self.error or "Redis is unreachable")
        try:
            return fn(self.client)
        except self._errors as error:
            self._lost(error)
            raise Unavailable(str(error)) from error

    def on_epoch(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(new_epoch)`` when Redis is found to have restarted."""
        self._on_epoch.append(callback)

    def _lost(self, error: BaseException) -> None:
        with self._lock:
            was, self.reachable = self.reachable, False
            self.error = f"{type(error).__name__}: {error}"[:300]
            if was:
                self.changed_at = time.time()
        if was:
            log.warning(
                "Redis at %s is unreachable (%s): this replica serves from its own memory "
                "(uploads, jobs and results made now are not shared) and tries again every "
                "%.0f s",
                self.url, self.error, RETRY_S,
            )  # fmt: skip

    # --- reaching Redis, the heartbeat ----------------------------------------------------------

    def probe(self) -> bool:
        """Try Redis now (a ping, its run_id, this replica's heartbeat); True if reached."""
        try:
            info = self.client.info("server")
            epoch = str(info.get("run_id", ""))[:16] or "0"
            self.client.set(self._lease_key(epoch), "1", px=int(self.lease_s * 1000))
        except self._errors as error:
            first = self.epoch is None and self.error is None
            self._lost(error)
            if first:  # never reached: say so once (then every second would be noise)
                log.warning(
                    "Redis at %s is unreachable (%s): this replica serves from its own "
                    "memory until it can reach it",
                    self.url, self.error,
                )  # fmt: skip
            return False
        with self._lock:
            was, previous = self.reachable, self.epoch
            self.epoch, self.reachable, self.error = epoch, True, None
            if not was:
                self.changed_at = time.time()
        restarted = previous is not None and previous != epoch
        if restarted:
            self.restarts += 1
            log.warning(
                "Redis at %s restarted (run_id %s, was %s): the jobs and tickets it had are "
                "gone, and none of their state is used; uploads and results are asked for "
                "again",
                self.url, epoch, previous,
            )  # fmt: skip
            for callback in self._on_epoch:
                callback(epoch)
        elif not was:
            log.warning(
                "Redis at %s is reachable: sharing uploads, jobs and results with the other "
                "replicas (this one is %s)",
                self.url, self.replica,
            )  # fmt: skip
            self._check_memory()
        return True

    def _check_memory(self) -> None:
        try:
            found = self.client.config_get("maxmemory")
        except self._errors:  # a managed Redis may not allow CONFIG: nothing to say
            return
        if str(found.get("maxmemory", "")) == "0":
            log.warning(
                "Redis at %s has no maxmemory: uploads and results are bounded only by their "
                "TTL; set maxmemory and maxmemory-policy volatile-lru (deploy/compose.yaml does)",
                self.url,
            )

    def _lease_key(self, epoch: str) -> str:
        return f"{self.prefix}:{epoch}:replica:{self.replica}"

    def alive(self, replica: str) -> bool:
        """Whether ``replica``'s heartbeat is current (Unavailable when it cannot be told)."""
        base = self.epoch_base()
        return bool(self.call(lambda r: r.exists(f"{base}replica:{replica}")))

    def beat(self) -> None:
        """Renew this replica's lease, or try an unreachable Redis again."""
        if not self.reachable:
            self.probe()
            return
        try:
            epoch = self.call(lambda r: str(r.info("server").get("run_id", ""))[:16] or "0")
        except Unavailable:
            return
        if epoch != self.epoch:  # restarted between two beats, never seen unreachable
            self.probe()
            return
        with contextlib.suppress(Unavailable):
            self.call(lambda r: r.set(self._lease_key(epoch), "1", px=int(self.lease_s * 1000)))

    def start(self) -> None:
        """Reach Redis once now, then keep the heartbeat (a thread, a few beats per lease)."""
        self._stop.clear()
        self.probe()
        interval = min(RETRY_S, self.lease_s / 4)

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.beat()
                except Exception:  # never let the heartbeat die
                    log.exception("the shared state's heartbeat failed")

        self._thread = threading.Thread(target=run, name="convscope-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat and give up the lease: this replica's jobs are picked up at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.reachable and self.epoch is not None:
            epoch = self.epoch
            with contextlib.suppress(Unavailable):
                self.call(lambda r: r.delete(self._lease_key(epoch)))

    # --- blobs --------------------------------------------------------------------------------

    def put(self, key: str, data: bytes, ttl_s: int) -> bool:
        """Keep ``data`` under ``key`` for ``ttl_s`` seconds; False when Redis is out of reach."""
        try:
            self.call(lambda r: r.set(key, data, ex=ttl_s))
        except Unavailable:
            return False
        return True

    def fetch(self, key: str, ttl_s: int | None = None) -> bytes | None:
        """The bytes under ``key`` (their TTL renewed to ``ttl_s``), or None: absent, or
        Redis out of reach."""
        try:
            if ttl_s is None:
                found = self.call(lambda r: r.get(key))
            else:
                found = self.call(lambda r: r.getex(key, ex=ttl_s))
        except Unavailable:
            return None
        return bytes(found) if isinstance(found, bytes | bytearray) else None

    def status(self) -> dict[str, Any]:
        """What ``/readyz`` says about the shared state."""
        return {
            "url": self.url,
            "reachable": self.reachable,
            "since": round(self.changed_at, 3),
            "error": self.error,
            "replica": self.replica,
            "restarts_seen": self.restarts,
        }


def shared_state(settings: Settings) -> SharedState | None:
    """The shared state ``settings`` ask for (``redis_url``), or None: all in process."""
    if not settings.redis_url:
        return None
    return SharedState(
        settings.redis_url,
        timeout_s=settings.redis_timeout_s,
        lease_s=settings.redis_lease_s,
        image_ttl_s=settings.redis_image_ttl_s,
        result_ttl_s=settings.redis_result_ttl_s,
    )
