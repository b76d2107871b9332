"""Where decoded images live between requests: a bounded in-memory cache keyed by content.

``POST /api/images`` decodes an upload once (:func:`app.images.intake.decode`) and keeps its
pixels here under the first 32 hex digits of the SHA-256 of the uploaded bytes; later
requests name that id. Nothing is written to disk. The cache is bounded by count and by
bytes and forgets the least recently used image first; an unknown or forgotten id raises
:class:`UnknownImage` (HTTP 404), and the pages upload the file again. Because the id is
a content hash, identical replicas behind a load balancer agree on ids.

The shipped samples (:mod:`app.samples`) are looked up by the same :meth:`ImageStore.get`,
decoded once through the same intake, and never evicted. Resized copies (display sizes,
the kernel page's compute size) are kept in a second, smaller cache.

Behind a load balancer (a :class:`~app.runtime.state.SharedState`), the uploaded bytes are
also kept in Redis under the same id, for ``redis_image_ttl_s`` after their last use: a
replica that is asked for an id it has not decoded fetches the bytes, decodes them through
the same intake and keeps the pixels in its own cache. Redis out of reach, the store is
this replica's alone, as with one server.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from app.images import intake
from app.images.convert import resize
from app.images.samples import SAMPLES, Sample
from app.runtime.cache import LRUCache
from app.runtime.state import SharedState

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


class UnknownImage(LookupError):
    """No image with this id: never uploaded, or evicted from the cache (HTTP 404)."""

    def __init__(self, image_id: str) -> None:
        shown = image_id if len(image_id) <= 40 else image_id[:37] + "..."
        super().__init__(
            f"There is no image {shown!r} on the server (it may have been removed from the "
            "cache to make room): upload it again"
        )
        self.image_id = image_id


@dataclass(frozen=True)
class StoredImage:
    """A decoded image and what is known about where it came from."""

    id: str
    pixels: torch.Tensor  # (C, H, W) uint8 on the CPU; shared, never modified in place
    format: str
    source_mode: str
    oriented: bool
    size_bytes: int  # of the uploaded (or shipped) file
    sample: Sample | None = field(default=None)

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2])

    def info(self) -> dict[str, Any]:
        """What ``POST /api/images`` and ``GET /api/images/{id}`` answer."""
        return {
            "id": self.id,
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "mode": "L" if self.channels == 1 else "RGB",
            "format": self.format,
            "source_mode": self.source_mode,
            "oriented": self.oriented,
            "bytes": self.size_bytes,
            "sample": self.sample.to_dict() if self.sample else None,
        }


@dataclass(frozen=True)
class ImageSource:
    """An image as a request gives it: the bytes of a file, or the id of one already here."""

    data: bytes | None = None
    image_id: str = ""


def upload_id(data: bytes) -> str:
    """The id of uploaded bytes: the first 32 hex digits of their SHA-256."""
    return hashlib.sha256(data).hexdigest()[:32]


class ImageStore:
    """Uploads (bounded LRU) and shipped samples, by id; resized copies on the side."""

    def __init__(
        self,
        *,
        max_items: int,
        max_bytes: int,
        max_pixels: int,
        sample_dir: Path,
        shared: SharedState | None = None,
    ) -> None:
        self.shared = shared
        self.max_pixels = max_pixels
        self.sample_dir = sample_dir
        self.uploads: LRUCache[str, StoredImage] = LRUCache(max_items, max_bytes)
        self.resized_copies: LRUCache[tuple[str, int, int], torch.Tensor] = LRUCache(
            max(16, max_items // 4), max(max_bytes // 4, 1 << 20)
        )
        self._samples: dict[str, StoredImage] = {}
        self._sample_lock = threading.Lock()

    def add(self, data: bytes) -> StoredImage:
        """Decode an upload (unless the same bytes are already here) and keep it."""
        image_id = upload_id(data)
        known = self.uploads.get(image_id)
        if known is not None:
            return known
        stored = self._decode(image_id, data)
        if self.shared is not None:  # for the other replicas (best effort: out of reach,
            shared = self.shared  # it stays this replica's)
            shared.put(shared.content_key("image", image_id), data, shared.image_ttl_s)
        return stored

    def _decode(self, image_id: str, data: bytes) -> StoredImage:
        decoded = intake.decode(data, max_pixels=self.max_pixels)
        stored = StoredImage(
            image_id,
            decoded.pixels,
            decoded.format,
            decoded.source_mode,
            decoded.oriented,
            len(data),
        )
        self.uploads.put(image_id, stored, stored.pixels.numel())
        return stored

    def get(self, image_id: str) -> StoredImage:
        """An upload or a sample by id; :class:`UnknownImage` if there is none."""
        sample = SAMPLES.get(image_id)
        if sample is not None:
            return self._sample(sample)
        if not _UPLOAD_ID.fullmatch(image_id):
            raise UnknownImage(image_id)
        stored = self.uploads.get(image_id) or self._from_shared(image_id)
        if stored is None:
            raise UnknownImage(image_id)
        return stored

    def _from_shared(self, image_id: str) -> StoredImage | None:
        """An upload another replica took: its bytes from Redis, decoded here and kept."""
        shared = self.shared
        if shared is None:
            return None
        data = shared.fetch(shared.content_key("image", image_id), shared.image_ttl_s)
        if data is None or upload_id(data) != image_id:
            return None
        return self._decode(image_id, data)

    def resolve(self, source: ImageSource) -> StoredImage:
        """The image a request sent as a file (decoded and kept) or named by id;
        ``ValueError`` for both or neither, :class:`UnknownImage` for an unknown id."""
        if source.data is not None and source.image_id:
            raise ValueError("Send either an image file (field 'image') or an image_id, not both")
        if source.data is not None:
            return self.add(source.data)
        if not source.image_id:
            raise ValueError(
                "Send an image file in the field 'image', or the id of an uploaded image (or a "
                "sample such as sample-mnist-3) in the field 'image_id'"
            )
        return self.get(source.image_id)

    def resized(self, image: StoredImage, height: int, width: int) -> torch.Tensor:
        """The image's pixels at (height, width) (area average), cached."""
        if (height, width) == (image.height, image.width):
            return image.pixels

        def make() -> tuple[torch.Tensor, int]:
            pixels = resize(image.pixels, height, width)
            return pixels, pixels.numel()

        return self.resized_copies.get_or_make((image.id, height, width), make)

    def _sample(self, sample: Sample) -> StoredImage:
        with self._sample_lock:
            stored = self._samples.get(sample.id)
            if stored is None:
                data = (self.sample_dir / sample.file).read_bytes()
                decoded = intake.decode(data, max_pixels=self.max_pixels)
                stored = StoredImage(
                    sample.id,
                    decoded.pixels,
                    decoded.format,
                    decoded.source_mode,
                    decoded.oriented,
                    len(data),
                    sample,
                )
                self._samples[sample.id] = stored
            return stored
