"""One saliency map for a registered model and an image: what the saliency endpoint and
page compute (``POST /api/models/{name}/saliency``), free of any web code.

:func:`saliency` preprocesses the image as the model's spec says, predicts (the default
target is the top class), checks the target and the method's settings, runs the method and
reduces its attribution to one value per pixel. Settings are the method's :class:`Param`
table plus, here, what depends on the model and the image:

- ``baseline`` (Integrated Gradients and occlusion): ``black``, ``gray`` or ``white``
  (pixel values 0, ½ or 1, preprocessed like the image) or ``blur`` (the image blurred
  with a Gaussian of σ = side / 20; Sturmfels, Lundberg and Lee, "Visualizing the Impact
  of Feature Attribution Baselines", Distill 2020). Defaults: black for Integrated
  Gradients (the paper's), gray for occlusion on photos (Zeiler and Fergus's gray square)
  and black (the background) on digits.
- ``layer`` (Grad-CAM): any convolution layer; default the last one with more than one
  position (:func:`~app.explain.saliency.gradcam.default_layer`).
- ``patch`` and ``stride`` (occlusion): defaults scaled to the input: a seventh of its side
  and half of that (32 and 16 at 224×224, 4 and 2 for a digit).

:meth:`SaliencyMap.png` colours the map for the overlay (:mod:`app.colormaps`): unsigned
maps on the ``HOT`` scale from 0 to a cap, signed ones on the diverging scale symmetric
about 0, with opacity growing with |value| so the image shows through where the map is 0.
The cap is the 99th percentile of |map| for the gradient methods, whose few extreme pixels
would otherwise leave the rest dark (Smilkov et al. 2017, §3.1), and the maximum for
Grad-CAM and occlusion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from app.explain.convolutions import feature_layer
from app.explain.progress import Progress, report
from app.explain.saliency import METHODS, Attribution
from app.explain.saliency.base import Param, as_targets
from app.explain.saliency.gradcam import GradCam, default_layer
from app.explain.saliency.integrated import IntegratedGradients
from app.explain.saliency.occlusion import PATCH, STRIDE, Occlusion
from app.images import colormaps
from app.nets.predict import Prediction, top_k
from app.nets.registry import ModelSpec, get_model, get_model_spec

BASELINES = ("black", "gray", "white", "blur")
#: Percentile of |map| where the colours stop, per method (100: the maximum).
CAP_PERCENTILE = {"gradient": 99.0, "smoothgrad": 99.0, "integrated-gradients": 99.0}
#: Predictions listed beside a map.
TOP = 5


def method_class(method: str) -> type[Attribution]:
    """The class of ``method``; a ``ValueError`` listing the methods otherwise."""
    try:
        return METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown method {method!r}: the methods are {', '.join(METHODS)}"
        ) from None


def params(method: str, spec: ModelSpec) -> tuple[Param, ...]:
    """The settings of ``method`` for the model ``spec``, with that model's defaults."""
    cls = method_class(method)
    _, height, width = spec.input_shape
    side = min(height, width)
    if cls is IntegratedGradients:
        return (*cls.params, Param("baseline", str, "black", choices=BASELINES, doc="x'"))
    if cls is Occlusion:
        patch = max(1, side // 7)
        return (
            Param("patch", int, patch, 1, min(PATCH.maximum, side), doc=PATCH.doc),
            Param("stride", int, max(1, patch // 2), 1, STRIDE.maximum, doc=STRIDE.doc),
            Param(
                "baseline",
                str,
                "gray" if spec.input_shape[0] == 3 else "black",
                choices=BASELINES,
                doc="what covers the pixels",
            ),
        )
    if cls is GradCam:
        layer = _default_layer(spec.name)
        return (Param("layer", str, layer, doc="the convolution layer whose maps are weighed"),)
    return cls.params


@cache
def _default_layer(name: str) -> str:
    spec = get_model_spec(name)
    return default_layer(get_model(name), spec.input_shape)


def methods(spec: ModelSpec) -> list[dict[str, Any]]:
    """Every method as a page lists it: title, paper, map reduction, and its settings with
    this model's defaults and caps."""
    return [
        {**cls.describe(), "params": [param.to_dict() for param in params(name, spec)]}
        for name, cls in METHODS.items()
    ]


def request_key(
    name: str, image_id: str, method: str, target: int | None, settings: Mapping[str, Any]
) -> tuple[Any, ...]:
    """What identifies one map, for a job's cache: the model, the image (its content hash or
    sample id), the method, the class asked for and every setting (resolved first, so that
    a default given explicitly is the same request)."""
    resolved = resolve(method, get_model_spec(name), settings)
    return ("saliency", name, image_id, method, target, tuple(sorted(resolved.items())))


def resolve(method: str, spec: ModelSpec, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Every setting of ``method`` with its value: the given ones checked, defaults for the
    rest; a ``ValueError`` for a setting the method does not have."""
    table = {param.name: param for param in params(method, spec)}
    unknown = sorted(set(settings) - set(table))
    if unknown:
        known = ", ".join(table) or "none"
        raise ValueError(f"{unknown[0]} is not a setting of {method} (its settings: {known})")
    resolved = {}
    for name, param in table.items():
        value = settings.get(name, param.default)
        if name == "layer":
            feature_layer(get_model(spec.name), value)  # a ValueError if not a convolution
            resolved[name] = value
        else:
            resolved[name] = param.check(value)
    return resolved


def baseline_image(kind: str, x: torch.Tensor, spec: ModelSpec) -> torch.Tensor:
    """(1, C, H, W) the baseline ``kind`` for the preprocessed input ``x``."""
    if kind == "blur":
        return gaussian_blur(x, sigma=min(x.shape[-2:]) / 20)
    level = {"black": 0.0, "gray": 0.5, "white": 1.0}[kind]
    return spec.preprocess.scale(torch.full_like(x, level))


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


@dataclass(frozen=True)
class SaliencyMap:
    """One method's map for one class of one image."""

    model: str
    method: str
    settings: dict[str, Any]
    target: Prediction  # the class the map is for, with its probability
    predictions: list[Prediction]  # the top classes, most probable first
    map: torch.Tensor  # (H, W) float32 on the CPU: one value per input pixel
    signed: bool  # both signs: drawn on a diverging scale centred at 0
    limit: float  # where the colours stop (|value|)
    picture: Image.Image = field(repr=False)  # what the network saw (input size)
    completeness: dict[str, float] | None = None  # Integrated Gradients: Σ map vs f(x) − f(x')

    @property
    def nbytes(self) -> int:
        return self.map.numel() * 4 + self.picture.width * self.picture.height * 3

    def to_dict(self, *, values: bool = False) -> dict[str, Any]:
        data = {
            "model": self.model,
            "method": self.method,
            "settings": self.settings,
            "target": self.target.to_dict(),
            "predictions": [p.to_dict() for p in self.predictions],
            "shape": list(self.map.shape),
            "signed": self.signed,
            "range": [float(self.map.min()), float(self.map.max())],
            "limit": self.limit,
            "colorscale": colormaps.stops_list(self.stops),
            "completeness": self.completeness,
        }
        if values:
            data["map"] = self.map.numpy()
        return data

    @property
    def stops(self) -> colormaps.Stops:
        return colormaps.DIVERGING if self.signed else colormaps.HOT

    def png(self) -> bytes:
        """The map coloured for the overlay, opaque where |value| reaches the limit."""
        low = -self.limit if self.signed else 0.0
        rgb = colormaps.colorize(self.map, low, self.limit, self.stops)
        alpha = colormaps.levels(self.map.abs(), 0.0, self.limit)
        return colormaps.png(rgb, alpha)


def display_limit(method: str, values: torch.Tensor) -> float:
    """Where the colours stop: a percentile of |map| (see the module's docstring)."""
    magnitude = values.abs().flatten().double()
    percentile = CAP_PERCENTILE.get(method, 100.0)
    limit = float(torch.quantile(magnitude, percentile / 100)) if percentile < 100 else 0.0
    return limit if limit > 0 else float(magnitude.max()) or 1.0


def saliency(
    name: str,
    image: Image.Image,
    method: str,
    *,
    target: int | None = None,
    settings: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> SaliencyMap:
    """The ``method`` map of ``image`` for class ``target`` (default: the top prediction)
    of the registered model ``name``; ``ValueError`` for a bad setting or class."""
    spec = get_model_spec(name)
    cls = method_class(method)
    resolved = resolve(method, spec, settings or {})
    if target is not None:
        as_targets(target, 1, spec.num_classes)
    report(progress, 0.0)
    model = get_model(name, device)
    picture = spec.preprocess.picture(image)
    x = spec.preprocess.tensor(picture)[None].to(next(model.parameters()).device)
    options = dict(resolved)
    if cls is GradCam:
        instance: Attribution = GradCam(model, options.pop("layer"))
    elif cls is Occlusion or cls is IntegratedGradients:
        options["baseline"] = baseline_image(options["baseline"], x, spec)
        instance = cls(model, **{k: v for k, v in options.items() if k != "baseline"})
        options = {"baseline": options["baseline"]}
    else:
        instance, options = cls(model, **options), {}
    explained = instance.explain(x, target, progress=progress, **options)
    values = cls.to_map(explained.attribution)[0].detach().float().cpu()
    logits = explained.logits[0].float().cpu()  # (classes,)
    index = int(explained.target[0])
    probability = float(torch.softmax(logits.double(), dim=0)[index])
    completeness = None
    if isinstance(instance, IntegratedGradients):
        delta = instance.convergence_delta(explained.attribution, x, index, **options)
        total = float(explained.attribution.sum())
        completeness = {"sum": total, "expected": total - float(delta[0]), "delta": float(delta[0])}
    return SaliencyMap(
        model=name,
        method=method,
        settings=resolved,
        target=Prediction(index, spec.labels[index], probability),
        predictions=top_k(logits, spec.labels, TOP),
        map=values,
        signed=cls.signed,
        limit=display_limit(method, values),
        picture=picture,
        completeness=completeness,
    )
