"""An image (an upload or a sample) as one network takes it, preprocessed once: kept in a
small LRU cache by (network, image id), so that the prediction, the picture and every
layer's maps of one image preprocess it once."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from app.images import convert
from app.images.store import ImageSource, ImageStore, StoredImage
from app.nets.network import Network
from app.runtime.cache import LRUCache


@dataclass(frozen=True)
class Prepared:
    """An image as one model takes it."""

    image_id: str
    picture: Image.Image  # what the network sees: the input size, mode L or RGB
    x: torch.Tensor  # (C, H, W) float32 on the CPU, the network's input

    @property
    def nbytes(self) -> int:
        return self.x.numel() * self.x.element_size() * 2  # the tensor and the picture


class Inputs:
    """Images of the store preprocessed per network, by (network, image id), least recently
    used forgotten first."""

    def __init__(self, images: ImageStore, max_items: int, max_bytes: int) -> None:
        self.images = images
        self.cache: LRUCache[tuple[str, str], Prepared] = LRUCache(max_items, max_bytes)

    def named(self, network: Network, image_id: str) -> Prepared:
        """The stored image ``image_id`` (an upload or a sample) as ``network`` takes it."""
        return self.get(network, self.images.get(image_id))

    def sent(self, network: Network, source: ImageSource) -> Prepared:
        """The image a request sent (a file, kept in the store, or an id) for ``network``."""
        return self.get(network, self.images.resolve(source))

    def get(self, network: Network, image: StoredImage) -> Prepared:
        """``image`` preprocessed for ``network``; ``ValueError`` if it cannot be (an empty
        drawing)."""

        def make() -> tuple[Prepared, int]:
            picture = network.preprocess.picture(convert.to_pil(image.pixels))
            prepared = Prepared(image.id, picture, network.preprocess.tensor(picture))
            return prepared, prepared.nbytes

        return self.cache.get_or_make((network.name, image.id), make)
