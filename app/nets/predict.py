"""Predictions and the forward pass the network explorer shows, free of any web code.

- :func:`predict`: the top k classes of one input, most probable first, with labels and
  softmax probabilities.
- :func:`explore`: a sample or an upload through a network: the picture the
  network sees, its input tensor, the prediction and every layer's activations (plus, per
  layer, the value range for a shared colour scale and the channels sorted by strength).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn

from app.explain.hooks import capture
from app.nets.network import Network


@dataclass(frozen=True)
class Prediction:
    index: int
    label: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "probability": self.probability}


def check_k(k: int, num_classes: int) -> int:
    """``k`` if 1 ≤ k ≤ num_classes, else a ``ValueError`` saying the range."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= num_classes:
        raise ValueError(f"k must be a whole number from 1 to {num_classes} (got {k!r})")
    return k


def top_k(logits: torch.Tensor, labels: Sequence[str], k: int) -> list[Prediction]:
    """The k most probable classes of one (classes,) logit vector, most probable first."""
    check_k(k, len(labels))
    if logits.shape != (len(labels),):
        raise ValueError(f"expected {len(labels)} logits, got shape {tuple(logits.shape)}")
    probabilities = torch.softmax(logits.double(), dim=0)  # float64: the k sum as printed
    values, indices = probabilities.topk(k)  # sorted, largest first
    return [
        Prediction(int(i), labels[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def predict(
    model: nn.Module, x: torch.Tensor, labels: Sequence[str], k: int = 5
) -> list[Prediction]:
    """Top-k predictions of ``model`` for one (C, H, W) input."""
    check_k(k, len(labels))
    with torch.inference_mode():
        logits = model(x[None].to(_device(model)))[0]  # (classes,)
    return top_k(logits.cpu(), labels, k)


def classify(network: Network, image: Image.Image, *, k: int = 5) -> list[Prediction]:
    """Top-k predictions of ``network`` for a PIL image, preprocessed as it was trained."""
    check_k(k, network.num_classes)
    return predict(network.module, network.preprocess(image), network.labels, k)


@dataclass(frozen=True)
class LayerActivation:
    """One layer's output for one image, on the CPU."""

    name: str
    values: torch.Tensor  # (C, H, W) feature maps, or (features,) after a flatten
    minimum: float
    maximum: float
    strength: torch.Tensor  # (C,) mean |activation| per channel (per feature for 1-D)
    order: torch.Tensor  # (C,) channel indices, strongest first

    @classmethod
    def of(cls, name: str, values: torch.Tensor) -> LayerActivation:
        values = values.detach().float().cpu()
        magnitude = values.abs()
        strength = magnitude.flatten(1).mean(1) if values.dim() == 3 else magnitude  # (C,)
        low, high = torch.aminmax(values)  # one pass for both
        order = torch.argsort(strength, descending=True, stable=True)
        return cls(name, values, float(low), float(high), strength, order)


@dataclass(frozen=True)
class Exploration:
    """What the network explorer shows for one image."""

    model: str
    picture: Image.Image  # what the network sees (input size, L or RGB)
    input: torch.Tensor  # (C, H, W) the tensor it was given
    predictions: list[Prediction]  # top k, most probable first
    probabilities: torch.Tensor  # (classes,) every class
    layers: dict[str, LayerActivation]  # execution order


def explore(
    network: Network,
    image: Image.Image,
    *,
    k: int = 5,
    layers: Sequence[str] | None = None,
) -> Exploration:
    """Preprocess ``image``, run the network once with every layer (or ``layers``) captured."""
    check_k(k, network.num_classes)
    picture = network.preprocess.picture(image)
    x = network.preprocess.tensor(picture)  # (C, H, W)
    captured = capture(network.module, x[None].to(network.device), layers)
    logits = captured.output[0].cpu()
    return Exploration(
        model=network.name,
        picture=picture,
        input=x,
        predictions=top_k(logits, network.labels, k),
        probabilities=torch.softmax(logits.double(), dim=0),
        layers={key: LayerActivation.of(key, out[0]) for key, out in captured.activations.items()},
    )
