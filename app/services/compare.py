"""Two networks side by side (``/compare``): which two, their architecture figures in one
table, and what the page starts from. The predictions and saliency maps come from the
networks' own endpoints (``/api/models/{name}/predict`` and ``.../saliency/jobs``), called
by the page for the same image.

The figures are read from each network's architecture table (:attr:`Network.summary`, one
real forward pass), never typed in: input, classes, parameters, multiply-adds, layers by
kind, activation memory, the largest map, the last convolution's receptive field, and the
weights' provenance and accuracy.
"""

from __future__ import annotations

from typing import Any

import torch

from app.explain.saliency import METHODS
from app.explain.segmentation import is_segmenter
from app.nets.network import Network
from app.nets.registry import get_model_spec, get_network, list_models
from app.services import images
from app.services.networks import card
from app.settings import Settings

#: What the page compares when the URL names nothing: the two digit networks on a 3.
DEFAULT_PAIR = ("lenet5", "simple-cnn")
DEFAULT_METHODS = ("gradient", "grad-cam")
PHOTO, DIGIT = "sample-chelsea", "sample-mnist-3"
#: How many predictions each side shows.
TOP_K = 5
#: Layer types (lower case) by kind: modules, and functional calls where the architecture
#: table has rows for them.
CONVOLUTIONS = {"conv2d", "conv2dsame", "convtranspose2d", "conv_transpose2d"}
DENSE = {"linear", "matmul", "mm", "bmm"}
SUMS = {"residualadd", "add", "iadd"}
CONCATS = {"concat", "cat"}


def _count(value: int) -> str:
    return f"{value:,}"


def _big(value: float) -> str:
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:g}"


def _bytes(value: int) -> str:
    for size, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value} B"


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return "×".join(map(str, shape))


def figures(network: Network) -> dict[str, Any]:
    """One network's figures: ``value`` (a number or text) and ``text`` (as shown) each."""
    summary = network.summary
    rows = summary.layers
    convs = [r for r in rows if r.type.lower() in CONVOLUTIONS]
    dense = [r for r in rows if r.type.lower() in DENSE]
    sums = [r for r in rows if r.type.lower() in SUMS]
    concats = [r for r in rows if r.type.lower() in CONCATS]
    elements = [_elements(r.output_shape) for r in rows]
    largest = max(range(len(rows)), key=lambda i: elements[i]) if rows else None
    channels = network.input_shape[0]
    accuracy = network.spec.accuracy
    found: dict[str, tuple[Any, str]] = {
        "input": (list(network.input_shape),
                  f"{_shape(network.input_shape)} ({'gray' if channels == 1 else 'RGB'})"),
        "classes": (network.num_classes, _count(network.num_classes)),
        "parameters": (summary.total_parameters, _count(summary.total_parameters)),
        "macs": (summary.total_macs, _big(summary.total_macs)),
        "layers": (len(rows), _count(len(rows))),
        "convolutions": (len(convs), _count(len(convs))),
        "dense": (len(dense), _count(len(dense))),
        "sums": (len(sums), _count(len(sums))),
        "concats": (len(concats), _count(len(concats))),
        "activations": (4 * sum(elements), _bytes(4 * sum(elements))),
        "largest": (
            None if largest is None else list(rows[largest].output_shape),
            "" if largest is None else f"{_shape(rows[largest].output_shape)} "
            f"({rows[largest].name})",
        ),
        "field": (
            list(convs[-1].receptive_field.size) if convs else None,
            f"{_shape(convs[-1].receptive_field.size)} px ({convs[-1].name})" if convs else "",
        ),
        "accuracy": (accuracy, "" if accuracy is None else f"{accuracy:.1%}"),
    }  # fmt: skip
    return {key: {"value": value, "text": text} for key, (value, text) in found.items()}


def _elements(shape: tuple[int, ...]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total


#: The table's rows, in order: key and label.
ROWS = (
    ("input", "Input (C×H×W)"),
    ("classes", "Classes"),
    ("parameters", "Parameters"),
    ("macs", "Multiply-adds per image"),
    ("layers", "Layers"),
    ("convolutions", "Convolutions"),
    ("dense", "Dense layers"),
    ("sums", "Residual sums"),
    ("concats", "Concatenations"),
    ("activations", "Activation memory per image (float32)"),
    ("largest", "Largest layer output"),
    ("field", "Receptive field of the last convolution"),
    ("accuracy", "Held-out accuracy"),
)


def table(a: Network, b: Network) -> list[dict[str, Any]]:
    """The architecture figures of two networks, one row per figure."""
    left, right = figures(a), figures(b)
    return [{"key": key, "label": label, "a": left[key], "b": right[key]} for key, label in ROWS]


def default_image(a: Network, b: Network) -> str:
    """A digit when both networks read digits, else a photo."""
    both_digits = all(PHOTO not in card(n.spec)["sample_ids"] for n in (a, b))
    return DIGIT if both_digits else PHOTO


def comparable(device: torch.device | str) -> list[str]:
    """The networks two can be chosen from: trained classifiers (an untrained network's
    predictions and maps would mean nothing; a segmenter labels pixels, not the image). The
    untrained ones are never built here."""
    trained = [name for name in list_models() if get_model_spec(name).trained]
    return [name for name in trained if not is_segmenter(get_network(name, device))]


def comparable_network(name: str, device: torch.device | str) -> Network:
    """The network ``name`` if ``/compare`` can show it (an untrained one is not built), else
    a ``ValueError`` with a sentence (:class:`UnknownName` for a name nobody knows)."""
    spec = get_model_spec(name)
    choices = comparable(device)
    if spec.name in choices:
        return get_network(spec.name, device)
    why = (
        "has random weights (untrained): its predictions and saliency maps would mean nothing"
        if not spec.trained
        else "labels every pixel, not the whole image"
    )
    raise ValueError(
        f"{spec.title} {why}; compare two of: {', '.join(choices)} (its architecture is on "
        f"/networks/{spec.name}/architecture)"
    )


def compare_page(
    a: Network, b: Network, settings: Settings, device: torch.device | str
) -> dict[str, Any]:
    """The page's data: the two networks, every network to choose from, images, methods."""
    return {
        "a": {**card(a.spec), "weights_note": a.spec.weights.source},
        "b": {**card(b.spec), "weights_note": b.spec.weights.source},
        "models": [{"name": n, "title": get_model_spec(n).title} for n in comparable(device)],
        "table": table(a, b),
        "images": images.config(settings),
        "default_image": default_image(a, b),
        "methods": [{"name": name, "title": cls.title} for name, cls in METHODS.items()],
        "default_methods": list(DEFAULT_METHODS),
        "k": TOP_K,
    }
