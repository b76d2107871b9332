"""Answers that depend only on what they ask, computed once and then sent from memory.

A lecture hall asks the same questions: the cat's prediction, the picture the network sees
of it, a layer's maps, how one unit was computed. Those answers depend only on the network,
the image (its id is a hash of its content, or a sample's name) and the request's settings,
so the first request computes them and the rest of the hall gets the bytes that were sent
(the JSON or PNG itself: a repeat costs neither the computation nor the serialisation).
Requests for the same answer at the same moment wait for one computation. Bounded by count
and bytes, least recently used forgotten first.

Behind a load balancer (a :class:`~app.runtime.state.SharedState`), an answer one replica
computed is also kept in Redis (under a digest of its question and the app's version, for
``redis_result_ttl_s``), and the other replicas send the same bytes without computing
them; Redis out of reach, each replica answers from its own memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from app.runtime.cache import LRUCache
from app.runtime.state import SharedState, digest

#: An answer as it is sent: its body and its media type.
Answer = tuple[bytes, str]
JSON = "application/json"
#: The media type of answers that are mostly PNG (base64): JSON all the same, but not
#: gzipped again (zlib spends ~7 ms on 240 kB of base64 PNG to save a quarter of it).
PICTURES_JSON = "application/vnd.convscope.pictures+json"


class Answers:
    """Answers by key (the question), as the bytes sent."""

    def __init__(self, max_items: int, max_bytes: int, shared: SharedState | None = None) -> None:
        self.shared = shared
        self.cache: LRUCache[Hashable, Answer] = LRUCache(max_items, max_bytes)
        self._computing: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Answer]) -> Answer:
        """The answer to ``key``: from memory, or ``make()`` (then kept); a second caller
        of a key being made waits for it instead of making it again."""
        found = self.cache.get(key)
        if found is not None:
            return found
        with self._lock:
            lock = self._computing.setdefault(key, threading.Lock())
        try:
            with lock:
                found = self.cache.get(key)
                if found is None:
                    found = self._shared(key, make)
                    self.cache.put(key, found, len(found[0]))
                return found
        finally:
            with self._lock:
                if not lock.locked():
                    self._computing.pop(key, None)

    def _shared(self, key: Hashable, make: Callable[[], Answer]) -> Answer:
        """The answer another replica sent (from Redis), or ``make()``'s, shared with them."""
        shared = self.shared
        if shared is None:
            return make()
        name = shared.version_key("answer", digest(key))
        data = shared.fetch(name)
        if data is not None:
            head, _, sent = data.partition(b"\n")
            return sent, head.decode()
        body, media = make()
        shared.put(name, media.encode() + b"\n" + body, shared.result_ttl_s)
        return body, media
