"""Networks trained in the lab, served as networks of the app while the server runs.

A finished run's weights become a :class:`~app.nets.network.Network` under a name of its
own (``trained-`` and eight hex digits): the registry asks this store for names the zoo does
not have (:func:`app.nets.registry.add_source`), so the explorer, the filters, saliency and
draw-a-digit work on it as on the zoo's. The store is bounded: it keeps the most recently
used :attr:`TrainedNetworks.max_items` networks and forgets the others (their pages then
say to train again). Nothing is written to disk; the weights can be downloaded as
safetensors.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from safetensors.torch import save
from torch import nn

from app.nets.labels import DIGITS
from app.nets.names import UnknownName
from app.nets.network import Network
from app.nets.registry import MNIST_ACCURACY_ON, ModelSpec, list_models
from app.nets.weights import METADATA_KEY, Weights
from app.runtime.cache import LRUCache

PREFIX = "trained-"
SAMPLES = tuple(f"mnist-{digit}.png" for digit in range(10))


class Forgotten(UnknownName):
    """A trained network's name the store does not have (any more): 404."""

    def __init__(self, name: str, kept: int) -> None:
        super().__init__("model", name, list_models())
        shown = name if len(name) <= 40 else name[:37] + "..."
        self.args = (
            f"The trained network {shown!r} is not kept on this server (it keeps the {kept} "
            "most recently used, until it restarts): train it again on /training",
        )


def new_name() -> str:
    """A fresh name for a trained network: ``trained-`` and eight hex digits."""
    return PREFIX + secrets.token_hex(4)


def trained_spec(
    name: str,
    *,
    title: str,
    description: str,
    paper: str,
    builder: Callable[[], nn.Module],
    state: dict[str, torch.Tensor],
    accuracy: float,
    side: int,
    preprocess: Any,
) -> ModelSpec:
    """The spec of a network trained in the lab: MNIST's labels and samples, its weights
    (``state``, on the CPU) and its held-out accuracy."""
    return ModelSpec(
        name=name,
        title=title,
        description=description,
        paper=paper,
        builder=builder,
        weights=Weights(
            source="trained in this server's training lab (/training); kept until it restarts",
            loader=lambda: state,
            accuracy_on=MNIST_ACCURACY_ON,
            reported_accuracy=accuracy,
        ),
        labels=DIGITS,
        preprocess=preprocess,
        input_shape=(1, side, side),
        samples=SAMPLES,
    )


def size_of(network: Network) -> int:
    """Bytes of a network's parameters and buffers."""
    tensors = [*network.module.parameters(), *network.module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


class Kept(NamedTuple):
    network: Network
    metadata: dict[str, Any]  # written into the downloaded weights


class TrainedNetworks:
    """The lab's trained networks by name, least recently used forgotten first."""

    def __init__(self, max_items: int, device: torch.device | str = "cpu") -> None:
        self.max_items = max_items
        self.device = torch.device(device)
        self._kept: LRUCache[str, Kept] = LRUCache(max_items, 1 << 40)  # bounded by count

    def add(self, spec: ModelSpec, metadata: dict[str, Any]) -> Network:
        """Serve ``spec``'s network (its weights loaded strictly, in eval mode, frozen);
        ``metadata`` goes into its downloaded weights. Again for a name it has: nothing."""
        found = self._kept.get(spec.name)
        if found is not None:
            return found.network
        module = spec.builder()
        module.load_state_dict(spec.weights.load(), strict=True)
        network = Network(spec, module.to(self.device).eval().requires_grad_(False))
        self._kept.put(spec.name, Kept(network, metadata), size_of(network))
        return network

    def find(self, name: str) -> Network | None:
        """The registry's source: the network named ``name``; ``None`` for a name that is
        not a trained network's, :class:`Forgotten` for one this store does not have."""
        if not name.startswith(PREFIX):
            return None
        return self._get(name).network

    def _get(self, name: str) -> Kept:
        kept = self._kept.get(name)
        if kept is None:
            raise Forgotten(name, self.max_items)
        return kept

    def weights(self, name: str) -> bytes:
        """The network's state dict as safetensors, its run's settings and accuracy in the
        header (the ``convscope`` metadata key, as the zoo's files)."""
        network, metadata = self._get(name)
        state = {
            key: value.detach().cpu().contiguous()
            for key, value in network.module.state_dict().items()
        }
        return save(state, metadata={METADATA_KEY: json.dumps(metadata, sort_keys=True)})

    def __len__(self) -> int:
        return len(self._kept)
