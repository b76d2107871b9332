"""``convscope.Network``: a user's own PyTorch model described for the app.

It holds what the pages need and cannot guess: the module, a URL name, a title, the input
shape (C, H, W), class labels, the preprocessing and sample images. Checking it
(:meth:`Network.prepared`) runs the module once on a safe copy
(:mod:`app.nets.custom.prepare`); :func:`app.nets.custom.serving.add` then serves it beside
the zoo under its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from torch import nn

from app.images.samples import SAMPLES, get_sample
from app.nets.custom.prepare import NetworkError, Prepared, prepare
from app.nets.custom.preprocessing import PreprocessArg, make_preprocess
from app.nets.preprocess import Preprocess

NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,47}")
#: Shipped samples a network gets when it names none: digits for MNIST-like networks.
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket", "camera")
DIGITS = tuple(f"mnist-{digit}" for digit in range(10))
#: Most labels and samples one network may have.
MAX_CLASSES = 100_000
MAX_SAMPLES = 32


def _shape(value: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 3 or any(v < 1 for v in shape):
        raise NetworkError(f"input_shape must be (C, H, W), three positive integers, not {value!r}")
    channels, height, width = shape
    if channels not in {1, 3}:
        raise NetworkError(
            f"input_shape has {channels} channels; the app feeds images: 1 (gray) or 3 (RGB)"
        )
    if not (min(height, width) >= 4 and max(height, width) <= 1024):
        raise NetworkError(f"input_shape's H and W must be from 4 to 1024, not {height}×{width}")
    return channels, height, width


@dataclass(eq=False)
class Network:
    """A PyTorch classifier described for convscope.

    ``module``: the ``nn.Module`` (its weights already loaded; it is copied, never changed).
    ``name``: its URL name (lowercase letters, digits, dashes). ``input_shape``: (C, H, W)
    of one input, C = 1 (gray) or 3 (RGB). ``title``: how pages name it (default: the
    name). ``labels``: one per class (default "class 0" … "class N−1"). ``preprocess``:
    ``"imagenet"``, ``"mnist"``, ``"unit"`` (values in [0, 1], the default), ``(mean,
    std)`` or a function of pixel values in [0, 1]. ``samples``: image files, or the names
    of shipped samples (``"chelsea"``, ``"mnist-3"``); default: the shipped digits for
    ``"mnist"``, else the photos. ``outputs``: ``"auto"`` (a final softmax or probabilities
    are recognised), ``"logits"``, ``"probabilities"`` or ``"log-probabilities"``.
    """

    module: nn.Module
    name: str
    input_shape: tuple[int, int, int]
    title: str | None = None
    labels: Sequence[str] | None = None
    preprocess: PreprocessArg = "unit"
    samples: Sequence[str | Path] | None = None
    description: str = ""
    paper: str = ""
    outputs: str = "auto"
    _checked: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise NetworkError(
                f"name {str(self.name)[:60]!r} must be 1 to 48 lowercase letters, digits and "
                "dashes, starting with a letter or digit (it is the network's URL)"
            )
        if self.name.startswith("trained-"):
            raise NetworkError("names starting with 'trained-' belong to the training lab")
        if not isinstance(self.module, nn.Module):
            raise NetworkError(
                f"module must be a torch.nn.Module, not {type(self.module).__name__}"
            )
        self.input_shape = _shape(self.input_shape)
        self.title = str(self.title or self.name)
        self.preprocessing  # noqa: B018 (checked now: a wrong one fails here, not on a page)

    @cached_property
    def preprocessing(self) -> Preprocess:
        try:
            return make_preprocess(self.preprocess, self.input_shape)
        except ValueError as error:
            raise NetworkError(str(error)) from error

    @cached_property
    def prepared(self) -> Prepared:
        """The safe copy of the module (run once on a batch of random inputs)."""
        prepared = prepare(self.module, self.input_shape, self.outputs)
        labels = self.class_labels(prepared.num_classes)
        if len(labels) != prepared.num_classes:
            raise NetworkError(
                f"{len(labels)} labels were given, but the network returns "
                f"{prepared.num_classes} scores per input"
            )
        return prepared

    def class_labels(self, num_classes: int) -> tuple[str, ...]:
        if self.labels is None:
            if num_classes > MAX_CLASSES:
                raise NetworkError(f"the network has {num_classes} classes; at most {MAX_CLASSES}")
            return tuple(f"class {i}" for i in range(num_classes))
        if isinstance(self.labels, str):
            raise NetworkError("labels must be a list of class names, not one string")
        return tuple(str(label) for label in self.labels)

    @property
    def digits(self) -> bool:
        return self.preprocess == "mnist"

    def sample_files(self) -> list[tuple[str, str]]:
        """(title, file) of each sample: shipped ones by name, or the user's image files."""
        chosen = self.samples if self.samples is not None else (
            DIGITS if self.digits else PHOTOS
        )  # fmt: skip
        if isinstance(chosen, str | Path) or len(chosen) > MAX_SAMPLES:
            raise NetworkError(f"samples must be a list of up to {MAX_SAMPLES} images")
        found = []
        for sample in chosen:
            text = str(sample)
            if isinstance(sample, str) and ("sample-" + text in SAMPLES or text in SAMPLES):
                shipped = get_sample(text)
                found.append((shipped.title, shipped.file))
                continue
            path = Path(sample).expanduser().resolve()
            if not path.is_file():
                raise NetworkError(
                    f"sample {text[:80]!r} is neither an image file nor a shipped sample "
                    f"({', '.join(s.name for s in SAMPLES.values())})"
                )
            found.append((path.name, str(path)))
        if not found:
            raise NetworkError("give at least one sample image, or leave samples out")
        return found


#: What a CLI ``--model`` target may hold: a Network, or a function returning one.
Target = Network | Callable[[], Network]
