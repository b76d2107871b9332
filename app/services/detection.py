"""Sliding-window detection of one class in a photo, and the same map from one fully
convolutional pass: what ``POST /api/models/{name}/sliding-window`` and the detection page
compute, free of any web code.

:func:`detect` slides windows of every size over the image (:mod:`app.explain.windows`),
keeps the windows whose probability for the class reaches the threshold as boxes, suppresses
the overlapping ones (:mod:`app.explain.nms`) and then runs the network once per size,
fully convolutionally (:mod:`app.explain.fully_conv`), on the image scaled so that a window
of that size becomes the network's input: a map at the network's stride in one pass. The
two maps are compared where their windows coincide. Both are timed: the page shows what the
forward passes cost against the one pass.

The image is used at its own size (up to :data:`MAX_SIDE` pixels a side); windows are cut
from it after the network's value scaling and resized to the input (bilinear, antialiased).
A one-channel (MNIST) network sees the gray image, light on dark as MNIST's digits are
(a picture on light paper is inverted, as the explorer does for drawings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from app.explain import windows
from app.explain.fully_conv import FullyConvolutional, NotConvertible, convert
from app.explain.nms import IOU, Box, ranked, suppress
from app.explain.progress import Progress, report
from app.explain.saliency.base import as_targets
from app.images import convert as images
from app.images.store import ImageSource, ImageStore, StoredImage
from app.nets.network import Network
from app.nets.predict import Prediction
from app.services.detection_result import Detection, FullyConv, ScaleMap, Settings
from app.services.images import config as image_config
from app.services.networks import card
from app.services.serialize import dumps
from app.settings import Settings as AppSettings

#: The largest image side detection works on, and the most pixels one fully convolutional
#: pass may take (the image scaled so that the smallest window becomes the input).
MAX_SIDE = 2048
MAX_FC_PIXELS = 2048 * 1024
#: Share of the progress bar the sliding windows take (the fully convolutional passes the rest).
WINDOWS_SHARE = 0.9


def defaults(network: Network) -> dict[str, Any]:
    """A request's defaults for ``network``: windows of its input's size (and, for the page,
    a second, smaller scale), one every stride of the network (its fully convolutional
    map's step) or a seventh of the input."""
    side = network.input_shape[-1]
    found = classifier(network)
    stride = found.stride if not isinstance(found, str) else max(1, side // 7)
    return {
        "sizes": str(side),
        "page_sizes": f"{side},{round(side * 5 / 7)}" if side > 100 else f"{side},{side + 8}",
        "stride": stride,
        "threshold": windows.THRESHOLD.default,
        "iou": IOU.default,
    }


def settings(
    network: Network,
    sizes: str | None,
    stride: int | None,
    threshold: float,
    iou: float,
    target: int | None,
) -> Settings:
    """The request's settings checked (not yet against an image), a missing size or stride
    from :func:`defaults`; ``ValueError`` otherwise."""
    if target is not None:
        as_targets(target, 1, network.num_classes)
    given = defaults(network)
    return Settings(
        tuple(windows.parse_sizes(given["sizes"] if sizes is None else sizes)),
        windows.STRIDE.check(given["stride"] if stride is None else stride),
        windows.THRESHOLD.check(threshold), IOU.check(iou), target,
    )  # fmt: skip


def classifier(network: Network) -> FullyConvolutional | str:
    """The network made fully convolutional, or why it cannot be; a ``ValueError`` for a
    network that is not a classifier (one score per class for a whole picture)."""

    def make() -> FullyConvolutional | str:
        with torch.inference_mode():
            out = network.module(torch.zeros((1, *network.input_shape), device=network.device))
        if out.dim() != 2:
            return ""
        try:
            return convert(network.module, network.input_shape)
        except NotConvertible as error:
            return str(error)

    found = network.memo(("detection", "fully-convolutional"), make)
    if found == "":
        raise ValueError(
            f"{network.title} gives a map, not one score per class: sliding windows need a "
            "classifier"
        )
    return found


def is_classifier(network: Network) -> bool:
    """Whether ``network`` gives one score per class (and so has a detection page)."""
    try:
        classifier(network)
    except ValueError:
        return False
    return True


def scaled_size(height: int, width: int, size: int, side: int) -> tuple[int, int]:
    """The image's size once a ``size``-pixel window has become the network's ``side``."""
    factor = side / size
    return max(side, round(height * factor)), max(side, round(width * factor))


def plan(network: Network, height: int, width: int, request: Settings) -> list[windows.Grid]:
    """The windows of the request on a ``height``×``width`` image; ``ValueError`` for an
    image too large, a size or count beyond the caps, or a fully convolutional pass too big."""
    if max(height, width) > MAX_SIDE:
        raise ValueError(
            f"the image is {width}×{height} pixels; detection works on images up to "
            f"{MAX_SIDE:,} pixels on a side: scale it down"
        )
    grids = windows.plan(height, width, list(request.sizes), request.stride)
    side = network.input_shape[-1]
    for size in request.sizes:
        rows, cols = scaled_size(height, width, size, side)
        if rows * cols > MAX_FC_PIXELS:
            raise ValueError(
                f"a window of {size} pixels would need the image scaled to {cols}×{rows} for the "
                f"fully convolutional pass; at most {MAX_FC_PIXELS:,} pixels are allowed: use "
                "larger windows"
            )
    return grids


def scene_tensor(network: Network, pixels: torch.Tensor) -> torch.Tensor:
    """(C, H, W) the whole image as the network's values (see the module's docstring)."""
    channels = network.input_shape[0]
    if channels == 1:
        unit = images.to_gray(pixels).float() / 255.0
        border = torch.cat((unit[0, 0], unit[0, -1], unit[0, :, 0], unit[0, :, -1]))
        if border.mean() > 0.5:  # dark ink on light paper: MNIST digits are light on dark
            unit = 1.0 - unit
    else:
        unit = pixels.float() / 255.0
        unit = unit.expand(3, -1, -1) if unit.shape[0] == 1 else unit
    return network.preprocess.scale(unit).contiguous()


def describe(network: Network) -> FullyConv:
    """How ``network`` becomes fully convolutional (no maps yet), or why it cannot."""
    found = classifier(network)
    if isinstance(found, str):
        return FullyConv(False, found)
    return FullyConv(True, "", found.stride, found.padded_layers, found.rewrites)


def detect(
    network: Network, pixels: torch.Tensor, request: Settings, progress: Progress | None = None
) -> Detection:
    """Sliding windows, boxes, suppression and the fully convolutional maps for ``pixels``
    ((C, H, W) uint8); ``ValueError`` for settings the image does not allow."""
    height, width = int(pixels.shape[1]), int(pixels.shape[2])
    grids = plan(network, height, width, request)
    side = network.input_shape[-1]
    x = scene_tensor(network, pixels).to(network.device)

    def windows_progress(fraction: float) -> None:
        report(progress, fraction * WINDOWS_SHARE)

    scored = windows.score(network.module, x, grids, (side, side), progress=windows_progress)
    probabilities = [torch.softmax(s.logits.double(), dim=-1).float() for s in scored]
    target = request.target
    if target is None:  # the class that reaches the highest probability in any window
        best = torch.stack([p.flatten(0, 1).amax(0) for p in probabilities]).amax(0)
        target = int(best.argmax())
    maps = [
        ScaleMap(s.grid.size, s.grid.stride, [float(t) for t in s.grid.tops],
                 [float(left) for left in s.grid.lefts], p[..., target].contiguous(), s.seconds,
                 s.grid.count, top=p.argmax(-1).tolist(), top_scores=p.amax(-1))
        for s, p in zip(scored, probabilities, strict=True)
    ]  # fmt: skip
    best_score = max(float(m.scores.max()) for m in maps)
    candidates = ranked(
        [
            Box(m.lefts[c], m.tops[r], m.size, m.size, float(m.scores[r, c]), m.size)
            for m in maps
            for r in range(len(m.tops))
            for c in range(len(m.lefts))
            if float(m.scores[r, c]) >= request.threshold
        ]
    )
    kept, steps = suppress(candidates, request.iou)
    fully = fully_convolutional(network, x, maps, target, progress)
    report(progress, 1.0)
    return Detection(
        network.name, replace(request, target=target),
        Prediction(target, network.labels[target], best_score), width, height, maps,
        candidates, kept, steps, fully, images.to_pil(pixels), network.labels,
    )  # fmt: skip


def fully_convolutional(
    network: Network,
    x: torch.Tensor,
    maps: list[ScaleMap],
    target: int,
    progress: Progress | None = None,
) -> FullyConv:
    """One fully convolutional pass per window size, compared with the sliding windows."""
    described = describe(network)
    found = classifier(network)
    if isinstance(found, str):
        return described
    side = network.input_shape[-1]
    height, width = int(x.shape[1]), int(x.shape[2])
    stride = found.stride
    done = []
    for k, windowed in enumerate(maps):
        report(progress, WINDOWS_SHARE + (1 - WINDOWS_SHARE) * k / len(maps))
        size = windowed.size
        rows, cols = scaled_size(height, width, size, side)
        big = x[None] if (rows, cols) == (height, width) else F.interpolate(
            x[None], size=(rows, cols), mode="bilinear", antialias=True, align_corners=False
        )  # fmt: skip
        n_rows, n_cols = (rows - side) // stride + 1, (cols - side) // stride + 1
        big = big[..., : side + stride * (n_rows - 1), : side + stride * (n_cols - 1)]
        began = time.perf_counter()
        with torch.inference_mode():
            logits = found(big)
        seconds = time.perf_counter() - began
        scores = torch.softmax(logits[0].double(), dim=0)[target].float().cpu()
        step = stride * size / side  # the map's stride in the image's pixels
        at_rows = _matching(n_rows, stride * size, side, windowed.stride, len(windowed.tops))
        at_cols = _matching(n_cols, stride * size, side, windowed.stride, len(windowed.lefts))
        pairs = [(i, j, a, b) for i, a in at_rows for j, b in at_cols]
        difference = (
            max(abs(float(scores[i, j]) - float(windowed.scores[a, b])) for i, j, a, b in pairs)
            if pairs
            else None
        )
        done.append(ScaleMap(
            size, step, [i * step for i in range(n_rows)], [j * step for j in range(n_cols)],
            scores, seconds, 1, (int(big.shape[-2]), int(big.shape[-1])), len(pairs),
            difference, found.exact and size == side,
        ))  # fmt: skip
    return replace(described, maps=done)


def _matching(
    count: int, numerator: int, side: int, stride: float, windows_: int
) -> list[tuple[int, int]]:
    """(map index, sliding-window index) pairs whose windows start at the same pixel: the
    map's position i starts at i·numerator / side pixels."""
    pairs = []
    for i in range(count):
        start, rest = divmod(i * numerator, side)
        if rest == 0 and start % int(stride) == 0 and start // int(stride) < windows_:
            pairs.append((i, start // int(stride)))
    return pairs


# --------------------------------------------------------------------------- over HTTP


def check(
    network: Network, store: ImageStore, source: ImageSource, request: Settings
) -> tuple[StoredImage, tuple[Any, ...]]:
    """A request checked before any job starts: its image (kept in the store) and the key of
    what it computes; ``ValueError`` for settings the image does not allow."""
    classifier(network)
    image = store.resolve(source)
    plan(network, image.height, image.width, request)
    key = ("sliding-window", network.name, image.id, request.sizes, request.stride,
           request.threshold, request.iou, request.target)  # fmt: skip
    return image, key


def computation(
    network: Network, image: StoredImage, request: Settings
) -> Callable[[Progress], Detection]:
    """The job's function: the detection on a stored image, reporting progress to the job."""

    def run(progress: Progress) -> Detection:
        return replace(detect(network, image.pixels, request, progress), image_id=image.id)

    return run


def encode(result: Detection, format: str) -> bytes:
    """The answer's body: JSON, or the image with the boxes as PNG."""
    return result.png() if format == "png" else dumps(result.to_dict())


# --------------------------------------------------------------------------- the page


def detect_page(network: Network, settings_: AppSettings) -> dict[str, Any]:
    """The detection page's data: the model, images, the scene it starts on, the defaults
    and caps of its settings, and how the network becomes fully convolutional."""
    info = card(network.spec)
    classifier(network)  # a network that is not a classifier has no detection page: 422
    given = defaults(network)
    return {
        "model": info,
        "images": image_config(settings_),
        "scene": "cat-and-espresso" if network.input_shape[0] == 3 else "digits",
        "defaults": {**given, "sizes": given["page_sizes"]},
        "limits": {
            "min_size": windows.MIN_SIZE,
            "max_sizes": windows.MAX_SIZES,
            "max_windows": windows.MAX_WINDOWS,
            "max_side": MAX_SIDE,
            "max_stride": windows.STRIDE.maximum,
        },
        "fully_convolutional": describe(network).to_dict(),
    }
