"""One saliency map of a network for an image: what the saliency endpoint and page compute
(``POST /api/models/{name}/saliency``), free of any web code.

:func:`saliency` preprocesses the image as the network's spec says, predicts (the default
target is the top class), checks the target and the method's settings, runs the method and
reduces its attribution to one value per pixel. Each method (:mod:`app.explain.saliency`)
owns its settings, their defaults for a network (patch and stride scaled to the input,
Grad-CAM's default layer, the baseline) and its construction; this module only asks.

:meth:`SaliencyMap.png` colours the map for the overlay (:mod:`app.images.colormaps`):
unsigned maps on the ``HOT`` scale from 0 to a cap, signed ones on the diverging scale
symmetric about 0, with opacity growing with |value| so the image shows through where the
map is 0. The cap is a percentile of |map| (:attr:`Attribution.cap_percentile`): the 99th
for the gradient methods, whose few extreme pixels would otherwise leave the rest dark
(Smilkov et al. 2017, §3.1), and the maximum for Grad-CAM and occlusion.

Over HTTP a map is a job (:class:`Computation`): the image comes preprocessed from the
app's cache (``Inputs``), and the one-pass methods (vanilla gradient, Grad-CAM) of one
network and settings that wait together are computed in one batch (:func:`explain_many`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import torch
from PIL import Image

from app.explain.progress import Progress, report
from app.explain.saliency import METHODS, Attribution
from app.explain.saliency.base import as_targets
from app.images import colormaps
from app.images.store import ImageSource, ImageStore, StoredImage
from app.nets.network import Network
from app.nets.predict import Prediction, top_k
from app.services.inputs import Inputs
from app.services.serialize import dumps

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


def methods(network: Network) -> list[dict[str, Any]]:
    """Every method as a page lists it: title, paper, map reduction, and its settings with
    this network's defaults and caps."""
    return [
        {**cls.describe(), "params": [param.to_dict() for param in cls.settings_for(network)]}
        for cls in METHODS.values()
    ]


def request_key(
    network: Network,
    image_id: str,
    method: str,
    target: int | None,
    settings: Mapping[str, Any],
) -> tuple[Any, ...]:
    """What identifies one map, for a job's cache: the network, the image (its content hash
    or sample id), the method, the class asked for and every setting (resolved first, so
    that a default given explicitly is the same request)."""
    resolved = method_class(method).resolve(network, settings)
    return ("saliency", network.name, image_id, method, target, tuple(sorted(resolved.items())))


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
    image_id: str = ""  # the stored image the map is of, when it came from the store

    @property
    def nbytes(self) -> int:
        # the map, the picture, and at most its overlay PNG (RGBA, each row led by a byte)
        height, width = self.map.shape[-2:]
        overlay = height * (width * 4 + 1)
        return self.map.numel() * 4 + self.picture.width * self.picture.height * 3 + overlay

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
        """Diverging for signed maps; for a gray picture (light ink) a scale that does not
        end in white, else ``HOT``."""
        if self.signed:
            return colormaps.DIVERGING
        return colormaps.HOT_ON_INK if self.picture.mode in ("L", "LA") else colormaps.HOT

    def png(self) -> bytes:
        """The map coloured for the overlay, opaque where |value| reaches the limit; made
        once per map (a lecture hall asking for the same map gets the same bytes)."""
        return self._png

    @cached_property
    def _png(self) -> bytes:
        low = -self.limit if self.signed else 0.0
        rgb = colormaps.colorize(self.map, low, self.limit, self.stops)
        alpha = colormaps.levels(self.map.abs(), 0.0, self.limit)
        return colormaps.png(rgb, alpha)


def display_limit(method: type[Attribution], values: torch.Tensor) -> float:
    """Where the colours stop: a percentile of |map| (see the module's docstring)."""
    magnitude = values.abs().flatten().double()
    percentile = method.cap_percentile
    limit = upper_quantile(magnitude, percentile / 100) if percentile < 100 else 0.0
    return limit if limit > 0 else float(magnitude.max()) or 1.0


def upper_quantile(values: torch.Tensor, q: float) -> float:
    """``torch.quantile(values, q)`` (linear interpolation) read from the few largest values
    alone (``topk``), not a sort of all of them: a tenth of the time for a 224×224 map."""
    position = q * (values.numel() - 1)
    low = int(position)
    top = values.topk(values.numel() - low).values  # descending: ends with sorted[low]
    below = top[-1]
    above = top[-2] if top.numel() > 1 else below
    return float(torch.lerp(below, above, position - low))


def saliency(
    network: Network,
    image: Image.Image,
    method: str,
    *,
    target: int | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> SaliencyMap:
    """The ``method`` map of ``image`` for class ``target`` (default: the top prediction)
    of ``network``; ``ValueError`` for a bad setting or class."""
    picture = network.preprocess.picture(image)
    return explain(
        network, picture, network.preprocess.tensor(picture), method, target=target,
        settings=settings, progress=progress,
    )  # fmt: skip


def explain(
    network: Network,
    picture: Image.Image,
    x: torch.Tensor,
    method: str,
    *,
    target: int | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> SaliencyMap:
    """:func:`saliency` of an image already preprocessed: ``picture`` is what the network
    sees and ``x`` (C, H, W) its input tensor (the app keeps both per image: ``Inputs``)."""
    return explain_many(
        network, [(picture, x, target)], method, settings=settings, progress=progress
    )[0]


def explain_many(
    network: Network,
    images: Sequence[tuple[Image.Image, torch.Tensor, int | None]],
    method: str,
    *,
    settings: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> list[SaliencyMap]:
    """:func:`explain` of several preprocessed images (each with its class, or None for its
    top prediction) in one batch: one forward and backward pass for vanilla gradient and
    Grad-CAM, whatever the number of images."""
    cls = method_class(method)
    resolved = cls.resolve(network, settings or {})
    targets = [target for _, _, target in images]
    for target in targets:
        if target is not None:
            as_targets(target, 1, network.num_classes)
    report(progress, 0.0)
    x = torch.stack([image for _, image, _ in images]).to(network.device)
    instance, options = cls.build(network, x, resolved)
    asked = targets if any(t is not None for t in targets) else None
    explained = instance.explain(x, asked, progress=progress, **options)
    maps = cls.to_map(explained.attribution).detach().float().cpu()
    completeness = instance.completeness(explained, x, **options)
    found = []
    for i, (picture, _, _) in enumerate(images):
        logits = explained.logits[i].float().cpu()  # (classes,)
        index = int(explained.target[i])
        probability = float(torch.softmax(logits.double(), dim=0)[index])
        found.append(
            SaliencyMap(
                model=network.name,
                method=method,
                settings=resolved,
                target=Prediction(index, network.labels[index], probability),
                predictions=top_k(logits, network.labels, TOP),
                map=maps[i].contiguous(),
                signed=cls.signed,
                limit=display_limit(cls, maps[i]),
                picture=picture,
                completeness=completeness,
            )
        )
    return found


# --------------------------------------------------------------------------- over HTTP


def check(
    network: Network,
    images: ImageStore,
    source: ImageSource,
    method: str,
    target: int | None,
    settings: Mapping[str, Any],
) -> tuple[StoredImage, tuple[Any, ...]]:
    """A request checked before any job starts: its image (kept in the store) and the key of
    the map it asks for; ``ValueError`` for a class out of range or a bad setting."""
    image = images.resolve(source)
    if target is not None:
        as_targets(target, 1, network.num_classes)
    return image, request_key(network, image.id, method, target, settings)


#: Methods whose map is one forward and backward pass: their jobs are batched (``Jobs``).
ONE_PASS = ("gradient", "grad-cam")


@dataclass(frozen=True, eq=False)
class Computation:
    """The job's function: the map of a stored image (preprocessed once per network and
    image, ``inputs``), reporting progress to the job. For a one-pass method it can run
    with others of the same network, method and settings in one batch (``batch_key``,
    ``batch_run``: :class:`app.runtime.jobs.Jobs`)."""

    network: Network
    inputs: Inputs
    image: StoredImage
    method: str
    target: int | None
    settings: Mapping[str, Any]

    def __call__(self, progress: Progress) -> SaliencyMap:
        return self.batch_run([self], progress)[0]

    @cached_property
    def batch_key(self) -> Hashable | None:
        if self.method not in ONE_PASS:
            return None
        resolved = method_class(self.method).resolve(self.network, self.settings)
        return ("saliency", id(self.network), self.method, tuple(sorted(resolved.items())))

    def batch_run(
        self, batch: Sequence[Computation], progress: Progress | None = None
    ) -> list[SaliencyMap]:
        """The maps of every computation of ``batch`` (this one's network, method and
        settings), in one pass."""
        images = []
        for item in batch:
            prepared = item.inputs.get(item.network, item.image)
            images.append((prepared.picture, prepared.x, item.target))
        found = explain_many(
            self.network, images, self.method, settings=self.settings, progress=progress
        )
        pairs = zip(found, batch, strict=True)
        return [replace(one, image_id=item.image.id) for one, item in pairs]


def computation(
    network: Network,
    inputs: Inputs,
    image: StoredImage,
    method: str,
    target: int | None,
    settings: Mapping[str, Any],
) -> Computation:
    """The job's function: the map of a stored image, reporting progress to the job."""
    return Computation(network, inputs, image, method, target, settings)


def encode(result: SaliencyMap, format: str) -> bytes:
    """The answer's body: the overlay PNG, or JSON with the raw map."""
    if format == "png":
        return result.png()
    return dumps(result.to_dict(values=True))
