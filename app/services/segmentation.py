"""What the segmentation page and API compute, free of any web code.

- :func:`segment_result`: every pixel's class for one image (the mask, as numbers and as a
  picture in the classes' colours), what each class covers and its mean probability, and
  one probability map per class (a PNG on the sequential scale from 0 to 1).
- :func:`pixel_saliency_result`: which input pixels decided one pixel's class: a saliency
  method of :mod:`app.explain.saliency` on the network seen from that pixel
  (:class:`~app.explain.segmentation.PixelLogits`), with the pixel's class probabilities.
- :func:`segment_page`: the page's data (the model, its parts and skip connections, the
  classes' colours, the methods).

The answers depend only on their question, so they are computed once per network, image
and settings (:class:`~app.services.answers.Answers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from app.explain import featuremaps
from app.explain.saliency.base import as_targets
from app.explain.segmentation import (
    check_pixel,
    check_segmenter,
    pixel_network,
    segment,
)
from app.images import colormaps
from app.images.store import ImageSource
from app.nets.network import Network
from app.nets.registry import list_models
from app.services import images as image_config
from app.services.answers import JSON, Answer, Answers
from app.services.architecture import architecture
from app.services.inputs import Inputs, Prepared
from app.services.networks import card
from app.services.saliency import method_class, saliency
from app.services.serialize import dumps
from app.services.ushape import ushape
from app.settings import Settings

#: Background, then one colour per class (Tableau 10, its gray made cyan: told apart on a
#: projector, and over the gray digits).
COLORS = (
    "#000000",
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#00e5ff",  # not Tableau's gray: on a gray digit it would not show
)
#: The saliency methods a pixel's class can be explained with (all gradient-based: Captum's).
PIXEL_METHODS = ("gradient", "smoothgrad", "integrated-gradients")


#: The zoo's networks that label pixels (named in the refusal a classifier gets).
SEGMENTERS = ("unet-digits",)


def require_segmenter(network: Network) -> Network:
    """``network``, or a ``ValueError`` when it labels whole images."""
    check_segmenter(network, [name for name in SEGMENTERS if name in list_models()])
    return network


def class_colors(network: Network) -> list[dict[str, Any]]:
    """Each class with its index, label and colour (the legend)."""
    return [
        {"index": i, "label": label, "color": COLORS[i % len(COLORS)]}
        for i, label in enumerate(network.labels)
    ]


def mask_png(mask: torch.Tensor, background: int = 0) -> bytes:
    """An RGBA PNG of an (H, W) class map: each class in its colour, background clear."""
    rgb_of = [[int(c[k : k + 2], 16) for k in (1, 3, 5)] for c in COLORS]
    table = torch.tensor([rgb_of[i % len(COLORS)] for i in range(int(mask.max()) + 1)])
    rgb = table[mask].permute(2, 0, 1).to(torch.uint8).contiguous()
    alpha = ((mask != background).to(torch.uint8) * 255).contiguous()
    return colormaps.png(rgb, alpha)


def segment_result(network: Network, prepared: Prepared, *, values: bool = False) -> dict[str, Any]:
    """Every pixel's class for the prepared image (see the module's docstring); ``values``
    adds every probability ((classes, H, W), rounded to 4 decimals)."""
    found = segment(network.module, prepared.x)
    coverage = found.coverage()
    total = int(coverage.sum())
    classes = []
    for entry in class_colors(network):
        i = entry["index"]
        probability = found.probabilities[i]
        classes.append(
            {
                **entry,
                "pixels": int(coverage[i]),
                "share": int(coverage[i]) / total,
                "mean_probability": float(probability.mean()),
                "png": featuremaps.data_url(
                    colormaps.png_indexed(probability, 0.0, 1.0, colormaps.SEQUENTIAL)
                ),
            }
        )
    confidence = found.probabilities.max(dim=0).values
    data: dict[str, Any] = {
        "model": network.name,
        "image": prepared.image_id,
        "shape": list(found.mask.shape),
        "mask": found.mask.numpy(),
        "confidence": confidence.float().numpy().round(4),
        "mask_png": featuremaps.data_url(mask_png(found.mask)),
        "classes": classes,
        "found": [
            c["index"] for c in sorted(classes[1:], key=lambda c: -c["pixels"]) if c["pixels"]
        ],
        "probability_colorscale": colormaps.stops_list(colormaps.SEQUENTIAL),
    }
    if values:
        data["probabilities"] = found.probabilities.float().numpy().round(4)
    return data


def segmentation(
    network: Network, inputs: Inputs, answers: Answers, source: ImageSource, values: bool
) -> Answer:
    """``POST .../segment``: the image sent (a file, kept, or an id), segmented; computed
    once per network, image and ``values``."""
    require_segmenter(network)
    image = inputs.images.resolve(source)
    key = ("segment", network.name, image.id, values)
    return answers.get(
        key,
        lambda: (dumps(segment_result(network, inputs.get(network, image), values=values)), JSON),
    )


def check_method(method: str) -> str:
    """``method`` if a pixel's class can be explained with it, else a ``ValueError``."""
    if method not in PIXEL_METHODS:
        raise ValueError(
            f"Unknown method {method!r}: a pixel's class is explained by {', '.join(PIXEL_METHODS)}"
        )
    return method


def pixel_saliency_result(
    network: Network,
    prepared: Prepared,
    row: int,
    col: int,
    method: str,
    target: int | None,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Which input pixels decided pixel (row, col)'s class ``target`` (default: its own)."""
    pixel = pixel_network(network, row, col)
    # the picture the network sees: its preprocessing gives it back as it is
    found = saliency(
        pixel, prepared.picture, check_method(method), target=target, settings=settings
    )
    return {
        **found.to_dict(values=True),
        "model": network.name,
        "image": prepared.image_id,
        "pixel": [row, col],
        "png": featuremaps.data_url(found.png()),
    }


def pixel_saliency(
    network: Network,
    inputs: Inputs,
    answers: Answers,
    image_id: str,
    pixel: tuple[int, int],
    method: str,
    target: int | None,
    settings: Mapping[str, Any],
) -> Answer:
    """``GET .../segment/saliency``: checked before the image is read, then computed once
    per question."""
    require_segmenter(network)
    check_pixel(network, *pixel)
    resolved = method_class(check_method(method)).resolve(network, settings)
    if target is not None:
        as_targets(target, 1, network.num_classes)
    key = (
        "pixel-saliency",
        network.name,
        image_id,
        pixel,
        method,
        target,
        tuple(sorted(resolved.items())),
    )

    def make() -> Answer:
        prepared = inputs.named(network, image_id)
        return dumps(
            pixel_saliency_result(network, prepared, *pixel, method, target, resolved)
        ), JSON

    return answers.get(key, make)


def segment_page(network: Network, settings: Settings) -> dict[str, Any]:
    """The segmentation page's data: the model, its layers by part, the classes' colours,
    the methods and their settings, the images."""
    require_segmenter(network)
    info = card(network.spec)
    methods = [
        {**cls.describe(), "params": [p.to_dict() for p in cls.settings_for(network)]}
        for cls in map(method_class, PIXEL_METHODS)
    ]
    table = architecture(network)
    return {
        "model": info,
        "architecture": table,
        "ushape": ushape(network, table["layers"]),
        "classes": class_colors(network),
        "methods": methods,
        "images": image_config.config(settings),
        "default_image": info["sample_ids"][0],
        "scores": network.spec.weights.metadata().get("held_out_scores"),
    }
