"""Segmentation: a class for every pixel, and which input pixels decided one pixel's class.

- :func:`is_segmenter`: a network whose output is one map of logits per class, the size of
  its input (``(classes, H, W)``), labels pixels; a classifier's output is ``(classes,)``.
- :func:`segment`: the per-pixel logits of one input, their softmax, each pixel's class
  (the largest) and what each class covers.
- :func:`pixel_average`: the classes' probabilities averaged over the pixels, the one
  "prediction" of the whole image a classifier's page can show.
- :class:`PixelLogits`: the network seen from one output pixel, ``x ↦ logits[:, :, row,
  col]``: a classifier of that pixel, so every saliency method of :mod:`app.explain.saliency`
  (vanilla gradient, SmoothGrad, Integrated Gradients) answers "which input pixels made
  this pixel a 3?" unchanged: the gradient of the pixel's class logit with respect to the
  input, as Captum computes it for ``forward_func=lambda x: net(x)[:, :, row, col]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from app.nets.network import Network
from app.nets.predict import Prediction, check_k


def is_segmenter(network: Network) -> bool:
    """Whether ``network`` answers a class map the size of its input (C, H, W)."""
    out = network.summary.layers[-1].output_shape
    return tuple(out) == (network.num_classes, *network.input_shape[1:])


def check_segmenter(network: Network, segmenters: list[str]) -> None:
    """A ``ValueError`` saying so when ``network`` labels whole images, not pixels."""
    if not is_segmenter(network):
        others = ", ".join(segmenters) or "none"
        raise ValueError(
            f"{network.name} classifies whole images: it has no class per pixel to show. "
            f"Networks that segment: {others}"
        )


def check_pixel(network: Network, row: int, col: int) -> tuple[int, int]:
    """(row, col) if inside the network's output, else a ``ValueError`` saying the range."""
    height, width = network.input_shape[1:]
    for name, value, size in (("row", row, height), ("col", col, width)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise ValueError(f"{name} must be a whole number from 0 to {size - 1} (got {value!r})")
    return row, col


@dataclass(frozen=True)
class Segmentation:
    """One input's per-pixel classes."""

    logits: torch.Tensor  # (classes, H, W) float32 on the CPU
    probabilities: torch.Tensor  # (classes, H, W) float64 softmax over the classes
    mask: torch.Tensor  # (H, W) int64: each pixel's most likely class

    def coverage(self) -> torch.Tensor:
        """(classes,) int64: how many pixels each class wins."""
        return torch.bincount(self.mask.flatten(), minlength=self.logits.shape[0])


@torch.inference_mode()
def segment(model: nn.Module, x: torch.Tensor) -> Segmentation:
    """The classes of every pixel of one (C, H, W) input."""
    device = next(model.parameters()).device
    logits = model(x[None].to(device))[0].float().cpu()  # (classes, H, W)
    if logits.dim() != 3:
        raise ValueError(f"expected a map of logits per class, got shape {tuple(logits.shape)}")
    probabilities = torch.softmax(logits.double(), dim=0)
    return Segmentation(logits.clone(), probabilities, logits.argmax(dim=0))


class PixelLogits(nn.Module):
    """``model`` seen from one output pixel: (N, C, H, W) → (N, classes), the logits of
    pixel (row, col). Wraps the shared module without copying it."""

    def __init__(self, model: nn.Module, row: int, col: int) -> None:
        super().__init__()
        self.model = model
        self.row, self.col = row, col

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[:, :, self.row, self.col]


def pixel_network(network: Network, row: int, col: int) -> Network:
    """``network`` as a classifier of its pixel (row, col) (same spec, labels and device)."""
    check_pixel(network, row, col)
    return Network(network.spec, PixelLogits(network.module, row, col))


def pixel_average(network: Network, x: torch.Tensor, k: int) -> list[Prediction]:
    """The ``k`` classes with the largest probability averaged over every pixel of one
    (C, H, W) input (the classes sum to 1, as a classifier's): what a page that expects one
    prediction per image shows for a network that labels pixels."""
    check_k(k, network.num_classes)
    mean = segment(network.module, x).probabilities.mean(dim=(1, 2))  # (classes,)
    values, indices = mean.topk(k)
    return [
        Prediction(int(i), network.labels[int(i)], float(p))
        for p, i in zip(values.tolist(), indices.tolist(), strict=True)
    ]
