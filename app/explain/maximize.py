"""What a channel responds to: activation maximisation, a picture optimised to excite one
channel of one convolution layer (Erhan, Bengio, Courville and Vincent 2009; Olah,
Mordvintsev and Schubert, "Feature Visualization", Distill 2017).

Gradient ascent on the pixels alone gives high-frequency noise that excites the channel
without looking like anything. Two regularisations from Olah et al. (their library Lucid's
``fft_image``, ``to_valid_rgb`` and ``jitter``) make the picture readable:

- **a frequency parameterisation**: the optimised variables are the picture's 2-D Fourier
  coefficients, each scaled by 1 / max(f, 1/side), so low frequencies dominate; for colour
  networks the three channels are also decorrelated with Lucid's ImageNet colour matrix;
  a sigmoid keeps every pixel in [0, 1];
- **jitter**: before each step the picture is rolled by a random shift of up to ``jitter``
  pixels, so no single pixel position can be exploited.

The objective is the mean of the channel's feature map over all positions (Lucid's
``channel``), or its one unit at the centre (Lucid's ``neuron``: a pattern the size of the
unit's receptive field, clearer for the small digit networks), computed by a forward pass
that stops at the layer (``layer_output(..., grad=True)``: nothing after the
layer runs). Adam, a fixed number of ``steps``, a seeded generator: the same settings give
the same picture (and a job can cache it). The shared model is not changed: only the
Fourier coefficients require grad. Progress is reported every step, so a cancelled job
stops within one step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from app.explain.convolutions import channels_of, feature_layer
from app.explain.hooks import layer_output
from app.explain.params import Param
from app.explain.progress import Progress, report
from app.images import convert
from app.nets.network import Network
from app.nets.preprocess import Preprocess

STEPS = Param("steps", int, 128, 1, 512, doc="optimisation steps")
LEARNING_RATE = Param("learning_rate", float, 0.05, 1e-4, 1.0, doc="Adam's step size")
JITTER = Param("jitter", int, 8, 0, 32, doc="largest random shift before each step (pixels)")
SIZE = Param("size", int, 224, 16, 224, doc="side of the optimised picture (pixels)")
SEED = Param("seed", int, 0, 0, 2**31 - 1, doc="seed of the start and of the shifts")
OBJECTIVE = Param(
    "objective",
    str,
    "channel",
    choices=("channel", "centre"),
    doc="maximise the channel's mean over all positions, or its unit at the centre",
)
PARAMS = (STEPS, LEARNING_RATE, JITTER, SIZE, SEED, OBJECTIVE)

#: Lucid's square root of the ImageNet colour correlation (``color_correlation_svd_sqrt``),
#: normalised by its largest column norm: decorrelated colours → RGB.
_COLOR = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = _COLOR / _COLOR.norm(dim=0).max()


def frequency_scale(height: int, width: int, decay: float = 1.0) -> torch.Tensor:
    """(H, W // 2 + 1) 1 / max(f, 1/side)^decay · √(HW): Lucid's ``fft_image`` scaling."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequencies = torch.sqrt(fy * fy + fx * fx)
    return (height * width) ** 0.5 / frequencies.clamp_min(1.0 / max(height, width)) ** decay


class FourierImage(nn.Module):
    """A picture in [0, 1] parameterised by its (scaled) Fourier coefficients."""

    scale: torch.Tensor  # a buffer: (H, W // 2 + 1), from frequency_scale

    def __init__(self, channels: int, height: int, width: int, generator: torch.Generator):
        super().__init__()
        self.shape = (channels, height, width)
        spectrum = torch.randn(2, channels, height, width // 2 + 1, generator=generator) * 0.01
        self.spectrum = nn.Parameter(spectrum)  # (re/im, C, H, W/2+1)
        self.register_buffer("scale", frequency_scale(height, width))

    def forward(self) -> torch.Tensor:
        """(1, C, H, W) in [0, 1]."""
        channels, height, width = self.shape
        coefficients = torch.complex(self.spectrum[0], self.spectrum[1]) * self.scale
        image = torch.fft.irfft2(coefficients, s=(height, width)) / 4.0  # (C, H, W)
        if channels == 3:  # decorrelated colours → RGB
            image = torch.einsum("ij,jhw->ihw", COLOR_CORRELATION.to(image), image)
        return torch.sigmoid(image)[None]


@dataclass(frozen=True)
class Maximized:
    """The picture that excites one channel, and how the optimisation went."""

    layer: str
    channel: int
    settings: dict[str, Any]
    picture: torch.Tensor = field(repr=False)  # (C, H, W) uint8
    curve: list[float] = field(repr=False)  # the objective at each step (jittered picture)
    activation: float  # the objective on the final picture (not jittered)

    @property
    def nbytes(self) -> int:
        return self.picture.numel() + 8 * len(self.curve)

    def png(self) -> bytes:
        return convert.encode_png(self.picture)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "channel": self.channel,
            "settings": self.settings,
            "curve": self.curve,
            "activation": self.activation,
            "size": list(self.picture.shape[1:]),
        }


def _objective(feature_map: torch.Tensor, objective: str) -> torch.Tensor:
    """The number the optimisation raises, from one channel's (h, w) feature map."""
    if objective == "centre":
        height, width = feature_map.shape
        return feature_map[height // 2, width // 2]
    return feature_map.mean()


def check_channel(model: nn.Module, layer: str, channel: int) -> int:
    """``channel`` if the layer has it, else a ``ValueError`` saying the range."""
    feature_layer(model, layer)
    count = channels_of(model, layer)
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < count:
        raise ValueError(f"channel must be from 0 to {count - 1} in {layer} (got {channel!r})")
    return channel


def maximize(
    model: nn.Module,
    layer: str,
    channel: int,
    *,
    channels: int,
    preprocess: Preprocess,
    steps: int = STEPS.default,
    learning_rate: float = LEARNING_RATE.default,
    jitter: int = JITTER.default,
    size: int = SIZE.default,
    seed: int = SEED.default,
    objective: str = OBJECTIVE.default,
    progress: Progress | None = None,
) -> Maximized:
    """A ``size``×``size`` picture (``channels`` of them: 1 for digits, 3 for photos) that
    maximises the mean of ``channel`` of the convolution layer ``layer``. ``preprocess``
    turns pixel values in [0, 1] into the network's input, as for a real image."""
    settings = {
        "steps": STEPS.check(steps),
        "learning_rate": LEARNING_RATE.check(learning_rate),
        "jitter": JITTER.check(jitter),
        "size": SIZE.check(size),
        "seed": SEED.check(seed),
        "objective": OBJECTIVE.check(objective),
    }
    check_channel(model, layer, channel)
    if jitter >= size:
        raise ValueError(f"jitter ({jitter}) must be smaller than the picture ({size} pixels)")
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    image = FourierImage(channels, size, size, generator).to(device)
    optimizer = torch.optim.Adam(image.parameters(), lr=learning_rate)
    curve = []
    for step in range(steps):
        report(progress, step / steps)
        shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        picture = torch.roll(image(), shifts=shift, dims=(2, 3))  # (1, C, H, W)
        features = layer_output(model, preprocess.scale(picture), layer, grad=True)
        score = _objective(features[0, channel], objective)
        optimizer.zero_grad(set_to_none=True)
        (-score).backward()
        optimizer.step()
        curve.append(score.item())
    report(progress, 1.0)
    with torch.no_grad():
        final = image()
    features = layer_output(model, preprocess.scale(final), layer)
    activation = float(_objective(features[0, channel], objective))
    pixels = (final[0] * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    return Maximized(layer, channel, settings, pixels, curve, activation)


def resolve_settings(network: Network, layer: str, channel: int, **settings: Any) -> dict[str, Any]:
    """Every setting of :func:`maximize_channel` for ``network``, defaults filled in and
    checked, without optimising anything: what a request is refused for (an unknown model,
    layer or setting, a channel out of range, a value over its cap) is refused here, and
    two requests that would draw the same picture get equal settings (a cache key).

    Defaults: the model's input size, a jitter of one pixel per 28 (8 at 224, 1 for a
    digit), the ``channel`` objective for photos and ``centre`` for digits (whose small
    networks, averaged over the whole picture, mostly reward large uniform areas)."""
    channels, _, side = network.input_shape
    unknown = sorted(set(settings) - {param.name for param in PARAMS})
    if unknown:
        known = ", ".join(param.name for param in PARAMS)
        raise ValueError(f"{unknown[0]} is not a setting of activation maximisation ({known})")
    size = SIZE.check(settings.setdefault("size", side))  # before its jitter
    settings.setdefault("jitter", max(1, size // 28))
    settings.setdefault("objective", "channel" if channels == 3 else "centre")
    resolved = {
        param.name: param.check(settings.get(param.name, param.default)) for param in PARAMS
    }
    check_channel(network.module, layer, channel)
    if resolved["jitter"] >= resolved["size"]:
        raise ValueError(
            f"jitter ({resolved['jitter']}) must be smaller than the picture "
            f"({resolved['size']} pixels)"
        )
    return resolved


def maximize_channel(
    network: Network,
    layer: str,
    channel: int,
    *,
    progress: Progress | None = None,
    **settings: Any,
) -> Maximized:
    """:func:`maximize` for ``network`` with the settings of :func:`resolve_settings`
    (defaults from the network)."""
    resolved = resolve_settings(network, layer, channel, **settings)
    return maximize(
        network.module, layer, channel, channels=network.input_shape[0],
        preprocess=network.preprocess, progress=progress, **resolved,
    )  # fmt: skip
