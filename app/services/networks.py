"""The model zoo as pages and the API describe it: a model's card, and the data each network
page starts from (the explorer, the learned filters, saliency). ``GET /api/models...`` and
the pages ``/networks/...`` call the same functions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from app.explain.convolutions import feature_layers
from app.explain.maximize import PARAMS as MAXIMIZE_PARAMS
from app.explain.segmentation import is_segmenter
from app.explain.topdigits import TOP
from app.images.samples import SAMPLES
from app.nets.labels import DIGITS
from app.nets.network import Network
from app.nets.registry import ModelSpec, get_model_spec, list_models
from app.ops.conv import LIMITS as PLAYGROUND_LIMITS
from app.services import filters, images, saliency
from app.services.architecture import architecture
from app.settings import Settings

#: The explorer's bar chart shows every class up to this many, else the top TOP_K.
SHOW_ALL = 10
TOP_K = 5
#: Activation maximisation's steps as the filters page starts it: half the API's default
#: (128), at the model's input size (a deep EfficientNet-Lite0 step at 224×224 is ~50 ms on
#: 2 cores: ~3 s in all; see the benchmark).
PAGE_STEPS = 64
#: Saliency methods shown when the URL names none: fast ones (the long ones are a tick away).
DEFAULT_METHODS = ("gradient", "grad-cam")
#: Sample the saliency page opens on, per kind of model (the cat for photos, a 3 for digits).
SALIENCY_SAMPLES = ("sample-chelsea", "sample-mnist-3")


def card(spec: ModelSpec) -> dict[str, Any]:
    """What the API and the zoo's page say about one model."""
    by_file = {sample.file: sample.id for sample in SAMPLES.values()}
    return {**spec.to_dict(), "sample_ids": [by_file[file] for file in spec.samples]}


def cards() -> list[dict[str, Any]]:
    """Every model of the zoo, in registration order."""
    return [card(get_model_spec(name)) for name in list_models()]


def takes_drawings(spec: ModelSpec) -> bool:
    """A model whose samples are all digits reads hand drawings (MNIST's preprocessing)."""
    by_file = {sample.file: sample for sample in SAMPLES.values()}
    return all(by_file[file].kind == "digit" for file in spec.samples)


def explorer_page(network: Network, settings: Settings) -> dict[str, Any]:
    """The explorer's data: the model, its architecture, images, how many classes to show."""
    info = card(network.spec)
    few = network.num_classes <= SHOW_ALL
    return {
        "model": info,
        "architecture": architecture(network),
        "images": images.config(settings),
        "default_image": info["sample_ids"][0],
        "drawable": takes_drawings(network.spec),
        "k": network.num_classes if few else TOP_K,
        "labels": list(network.labels) if few else None,
        "playground_limits": asdict(PLAYGROUND_LIMITS),  # the unit view links small units there
        # a network that labels pixels: its prediction is an average, with no softmax unit
        "labels_pixels": is_segmenter(network),
    }


def maximize_config(input_shape: tuple[int, int, int]) -> dict[str, Any]:
    """The maximisation settings the filters page offers, their bounds, what it starts with."""
    params = {
        p.name: {"minimum": p.minimum, "maximum": p.maximum, "default": p.default, "doc": p.doc}
        for p in MAXIMIZE_PARAMS
        if p.kind is not str
    }
    return {"params": params, "steps": PAGE_STEPS, "size": input_shape[-1]}


def filters_page(network: Network, settings: Settings) -> dict[str, Any]:
    """The learned-filters page's data: its convolution layers, images, the settings."""
    info = card(network.spec)
    return {
        "model": info,
        "layers": filters.layers_result(network)["layers"],
        "images": images.config(settings),
        "default_image": info["sample_ids"][0],
        "digits": network.labels == DIGITS,
        "top": TOP,
        "maximize": maximize_config(network.input_shape),
    }


def saliency_methods(network: Network) -> dict[str, Any]:
    """The methods with this network's defaults and caps, and the layers Grad-CAM takes."""
    return {"methods": saliency.methods(network), "layers": feature_layers(network.module)}


def saliency_page(network: Network, settings: Settings) -> dict[str, Any]:
    """The saliency page's data: the methods, images, where it starts."""
    info = card(network.spec)
    default_image = next(
        (sid for sid in SALIENCY_SAMPLES if sid in info["sample_ids"]), info["sample_ids"][0]
    )
    return {
        "drawable": takes_drawings(network.spec),  # the digit networks: a drawing canvas
        "model": info,
        **saliency_methods(network),
        "images": images.config(settings),
        "default_image": default_image,
        "default_methods": list(DEFAULT_METHODS),
    }
