"""Preprocessing for a network the user brings: ``"imagenet"``, ``"mnist"``, ``"unit"``,
a mean and standard deviation, or a function, turned into the app's
:class:`~app.nets.preprocess.Preprocess` for an input of any (C, H, W).

The geometry is convscope's, so that a page can show the picture the network sees: the
largest central box of the image with the input's aspect ratio, resized to W×H (bicubic),
gray for one channel and RGB for three. ``"mnist"`` normalises a digit as MNIST did (20×20
box, centred by its centre of mass in 28×28, light on dark), then resizes that field to
H×W when the input is not 28×28. The value scaling is then one of:

- ``"imagenet"``: ``(v − mean) / std`` with torchvision's ImageNet constants;
- ``"mnist"`` and ``"unit"``: pixel values in [0, 1] as they are;
- ``(mean, std)`` or ``{"mean": …, "std": …}``: one number or one per channel;
- a function: called with pixel values in [0, 1], a tensor (…, C, H, W), and returning the
  network's input of the same shape; it must be written in torch (activation
  maximisation differentiates through it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from PIL import Image

from app.nets.preprocess import MNIST_SIZE, Preprocess, _grayscale, mnist_digit, unit_scale

#: torchvision's ImageNet statistics (of pixel values in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: What ``preprocess=`` accepts, for error messages.
ACCEPTED = (
    '"imagenet", "mnist", "unit", (mean, std), {"mean": ..., "std": ...} or a function of a '
    "tensor of pixel values in [0, 1]"
)

PreprocessArg = str | Sequence[Any] | Mapping[str, Any] | Callable[[torch.Tensor], torch.Tensor]


def fit_picture(image: Image.Image, channels: int, height: int, width: int) -> Image.Image:
    """The largest central box of ``image`` with aspect ``width:height``, resized to
    width×height; ``L`` for one channel, ``RGB`` for three."""
    picture = _grayscale(image) if channels == 1 else image.convert("RGB")
    if picture.width * height > picture.height * width:  # wider than the input: crop sides
        box_w, box_h = picture.height * width / height, float(picture.height)
    else:
        box_w, box_h = float(picture.width), picture.width * height / width
    left, top = (picture.width - box_w) / 2, (picture.height - box_h) / 2
    box = (left, top, left + box_w, top + box_h)
    return picture.resize((width, height), Image.Resampling.BICUBIC, box=box)


def mnist_picture(image: Image.Image, height: int, width: int) -> Image.Image:
    """A digit normalised as MNIST's (28×28), resized to width×height if that differs."""
    digit = mnist_digit(image)
    if (height, width) == (MNIST_SIZE, MNIST_SIZE):
        return digit
    return digit.resize((width, height), Image.Resampling.BILINEAR)


def _per_channel(value: Any, channels: int, what: str) -> torch.Tensor:
    """One number or one per channel → a (C, 1, 1) tensor (broadcasts over (…, C, H, W))."""
    try:
        numbers = [float(v) for v in (value if isinstance(value, Sequence) else [value])]
    except (TypeError, ValueError):
        raise ValueError(
            f"the preprocessing's {what} must be a number or one per channel"
        ) from None
    if len(numbers) == 1:
        numbers = numbers * channels
    if len(numbers) != channels:
        raise ValueError(
            f"the preprocessing's {what} has {len(numbers)} numbers; the input has {channels} "
            "channels: give one number, or one per channel"
        )
    if what == "std" and any(n <= 0 for n in numbers):
        raise ValueError("the preprocessing's std must be positive")
    return torch.tensor(numbers, dtype=torch.float32).view(channels, 1, 1)


def normalize(mean: Any, std: Any, channels: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """``(v − mean) / std`` per channel."""
    m, s = _per_channel(mean, channels, "mean"), _per_channel(std, channels, "std")

    def scale(unit: torch.Tensor) -> torch.Tensor:
        return (unit - m.to(unit.device)) / s.to(unit.device)

    return scale


def _numbers(values: torch.Tensor) -> str:
    return ", ".join(f"{v:g}" for v in values.flatten().tolist())


def _checked(function: Callable[[torch.Tensor], torch.Tensor], shape: tuple[int, int, int]):
    """``function`` if it maps (C, H, W) and (1, C, H, W) to tensors of the same shape."""
    for probe in (torch.rand(shape), torch.rand(1, *shape)):
        try:
            out = function(probe)
        except Exception as error:
            raise ValueError(
                f"the preprocessing function failed on a tensor of shape {tuple(probe.shape)} "
                f"(pixel values in [0, 1]): {error}"
            ) from error
        if not isinstance(out, torch.Tensor) or out.shape != probe.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                "the preprocessing function must return a tensor of the shape it was given "
                f"({tuple(probe.shape)}), not {got}: it receives the picture the network sees "
                "as pixel values in [0, 1] and returns the network's input"
            )
    return function


def make_preprocess(kind: PreprocessArg, input_shape: tuple[int, int, int]) -> Preprocess:
    """The app's :class:`Preprocess` for ``kind`` and an input of ``input_shape``."""
    channels, height, width = input_shape

    def fit(image: Image.Image) -> Image.Image:
        return fit_picture(image, channels, height, width)

    size = f"{height}×{width}"
    colour = "grayscale" if channels == 1 else "RGB"
    geometry = f"{colour}; the central {width}:{height} box, resized to {size} (bicubic)"
    if isinstance(kind, str):
        if kind == "imagenet":
            if channels != 3:
                raise ValueError('preprocess="imagenet" needs an RGB input (3 channels)')
            return Preprocess(
                f"{geometry}; values (v − mean) / std with ImageNet's mean "
                f"{_numbers(torch.tensor(IMAGENET_MEAN))} and std "
                f"{_numbers(torch.tensor(IMAGENET_STD))} (v in [0, 1])",
                fit,
                normalize(IMAGENET_MEAN, IMAGENET_STD, 3),
            )
        if kind == "mnist":
            if channels != 1:
                raise ValueError('preprocess="mnist" needs a grayscale input (1 channel)')
            resized = "" if (height, width) == (28, 28) else f", resized to {size}"
            return Preprocess(
                "grayscale, light on dark; the digit scaled to fit 20×20 and centred by its "
                f"centre of mass in 28×28 (as MNIST){resized}; pixel values in [0, 1]",
                lambda image: mnist_picture(image, height, width),
                unit_scale,
            )
        if kind == "unit":
            return Preprocess(f"{geometry}; pixel values in [0, 1]", fit, unit_scale)
        raise ValueError(f"unknown preprocessing {kind[:40]!r}: give {ACCEPTED}")
    mean: Any
    std: Any
    if isinstance(kind, Mapping):
        if set(kind) != {"mean", "std"}:
            raise ValueError('a preprocessing mapping has exactly the keys "mean" and "std"')
        mean, std = kind["mean"], kind["std"]
    elif isinstance(kind, Sequence) and len(kind) == 2:
        mean, std = kind[0], kind[1]
    elif callable(kind):
        name = getattr(kind, "__qualname__", type(kind).__name__)
        return Preprocess(
            f"{geometry}; then your function {name} of the pixel values in [0, 1]",
            fit,
            _checked(kind, input_shape),
        )
    else:
        raise ValueError(f"preprocess must be {ACCEPTED}")
    m, s = _per_channel(mean, channels, "mean"), _per_channel(std, channels, "std")
    return Preprocess(
        f"{geometry}; values (v − mean) / std with mean {_numbers(m)} and std {_numbers(s)} "
        "(v in [0, 1])",
        fit,
        normalize(mean, std, channels),
    )
