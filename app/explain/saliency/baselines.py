"""What replaces the image where a method takes something away: Integrated Gradients' path
starts there, occlusion's square is filled with it (:class:`WithBaseline`).

``black``, ``gray`` or ``white`` are pixel values 0, ½ or 1, preprocessed like the image;
``blur`` is the image blurred with a Gaussian of σ = side / 20 (Sturmfels, Lundberg and
Lee, "Visualizing the Impact of Feature Attribution Baselines", Distill 2020).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from app.explain.params import Param
from app.explain.saliency.base import Attribution
from app.nets.network import Network
from app.nets.preprocess import Preprocess

BASELINES = ("black", "gray", "white", "blur")


class WithBaseline(Attribution):
    """A method whose ``attribute`` takes a ``baseline`` image: the ``baseline`` setting
    (one of :data:`BASELINES`) becomes that image for the input it explains."""

    @classmethod
    def build(
        cls, network: Network, x: torch.Tensor, settings: Mapping[str, Any]
    ) -> tuple[Attribution, dict[str, Any]]:
        options = dict(settings)
        baseline = baseline_image(options.pop("baseline"), x, network.preprocess)
        return cls(cls.model_for(network, options), **options), {"baseline": baseline}


def baseline_param(default: str, doc: str) -> Param:
    """The ``baseline`` setting, with a method's default."""
    return Param("baseline", str, default, choices=BASELINES, doc=doc)


def baseline_image(kind: str, x: torch.Tensor, preprocess: Preprocess) -> torch.Tensor:
    """(1, C, H, W) the baseline ``kind`` for the preprocessed input ``x``."""
    if kind == "blur":
        return gaussian_blur(x, sigma=min(x.shape[-2:]) / 20)
    level = {"black": 0.0, "gray": 0.5, "white": 1.0}[kind]
    return preprocess.scale(torch.full_like(x, level))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """(N, C, H, W) each channel blurred by a Gaussian (separable, reflected borders)."""
    radius = max(1, min(math.ceil(3 * sigma), min(x.shape[-2:]) - 1))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    rows = kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    return F.conv2d(F.conv2d(padded, rows, groups=channels), cols, groups=channels)
