"""A thread-safe least-recently-used cache, bounded by item count and by total bytes: the
image store, the jobs' results and the per-model input and kernel-output caches use it."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRUCache(Generic[K, V]):
    """A thread-safe least-recently-used cache bounded by item count and total bytes."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V, nbytes: int) -> None:
        """Keep ``value``; an item larger than the whole budget is not kept."""
        if nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, nbytes)
            self._bytes += nbytes
            while len(self._items) > self.max_items or self._bytes > self.max_bytes:
                _, (_, size) = self._items.popitem(last=False)
                self._bytes -= size

    def get_or_make(self, key: K, make: Callable[[], tuple[V, int]]) -> V:
        """The cached value, or ``make()``'s (value, nbytes), kept for next time."""
        value = self.get(key)
        if value is None:
            value, nbytes = make()
            self.put(key, value, nbytes)
        return value

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
