"""The classifier made fully convolutional, against plain forward passes.

- Where the architecture makes it exact (no convolution or pooling pads its input: LeNet-5,
  and random unpadded networks under Hypothesis), the one-pass map equals the sliding
  windows' logits at every position, windows of the input's size one network stride apart.
- For every network of the zoo, on an input of its own size, the rewritten head gives the
  classifier's logits (a 1×1 map).
- For padded networks (SimpleCNN, EfficientNet-Lite0), where the maps differ from the
  sliding windows', the rewritten head on a larger image equals the original head (global
  pool, flatten, dense) applied to every window of the larger image's feature maps: the
  dense layers really are 1×1 convolutions.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from app.explain import windows
from app.explain.fully_conv import NotConvertible, convert
from app.nets.registry import get_network
from tests.utils.tolerance import assert_close, network_terms


def sliding(model: nn.Module, x: torch.Tensor, side: int, stride: int) -> torch.Tensor:
    """(classes, rows, columns): each window's logits, one plain forward pass per window."""
    height, width = x.shape[-2:]
    rows = windows.starts(height, side, stride)
    cols = windows.starts(width, side, stride)
    with torch.inference_mode():
        out = [[model(x[None, :, r : r + side, c : c + side])[0] for c in cols] for r in rows]
    return torch.stack([torch.stack(row, dim=-1) for row in out], dim=-2)


def test_lenet_map_equals_the_sliding_windows_exactly():
    network = get_network("lenet5")
    fc = convert(network.module, network.input_shape)
    assert fc.exact and fc.stride == 4 and fc.padded_layers == []
    torch.manual_seed(0)
    x = torch.rand(1, 32 + 4 * 5, 32 + 4 * 9) * 1.275 - 0.1  # LeNet's value range
    with torch.inference_mode():
        one_pass = fc(x[None])[0]
    assert one_pass.shape == (10, 6, 10)
    expected = sliding(network.module, x, 32, 4)
    assert_close(one_pass, expected, terms=network_terms(network.module))
    # and through windows.score, the detector's batched path
    grid = windows.plan(x.shape[1], x.shape[2], [32], 4)
    (scored,) = windows.score(network.module, x, grid, (32, 32), batch_size=7)
    assert_close(scored.logits.permute(2, 0, 1), expected, terms=network_terms(network.module))


@st.composite
def unpadded_networks(draw):  # type: ignore[no-untyped-def]
    """A random chain of unpadded convolutions and poolings ending in dense layers, its
    input side and stride."""
    channels = draw(st.integers(1, 3))
    width1, width2 = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    k1, s1 = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    pool = draw(st.integers(1, 2))
    k2 = draw(st.integers(1, 3))
    final = draw(st.integers(1, 2))  # the classifier's own map is final × final
    pooling = draw(st.sampled_from([nn.MaxPool2d, nn.AvgPool2d]))
    global_pool = draw(st.booleans())
    side2 = final + k2 - 1
    side1 = side2 * pool
    side = (side1 - 1) * s1 + k1
    head: list[nn.Module] = []
    if global_pool:
        head += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width2, 5)]
    else:
        head += [nn.Flatten(), nn.Linear(width2 * final * final, 6), nn.Tanh(), nn.Linear(6, 5)]
    torch.manual_seed(draw(st.integers(0, 1000)))
    model = nn.Sequential(
        nn.Conv2d(channels, width1, k1, stride=s1), nn.ReLU(), pooling(pool),
        nn.Conv2d(width1, width2, k2), nn.Dropout(0.5), *head,
    ).double().eval()  # fmt: skip
    return model, (channels, side, side), s1 * pool


@settings(max_examples=30)
@given(unpadded_networks(), st.integers(1, 4), st.integers(1, 4), st.integers(0, 99))
def test_unpadded_networks_map_equals_the_sliding_windows(net, rows, cols, seed):
    model, shape, stride = net
    fc = convert(model, shape)
    assert fc.exact and fc.stride == stride
    channels, side, _ = shape
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(channels, side + stride * (rows - 1), side + stride * (cols - 1),
                    generator=generator, dtype=torch.float64)  # fmt: skip
    with torch.inference_mode():
        one_pass = fc(x[None])[0]
    assert one_pass.shape == (5, rows, cols)
    assert_close(one_pass, sliding(model, x, side, stride), terms=network_terms(model))


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn", "efficientnet-lite0"])
def test_on_its_own_input_size_the_head_gives_the_logits(name):
    network = get_network(name)
    fc = convert(network.module, network.input_shape)
    x = torch.randn(2, *network.input_shape, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        one_pass, logits = fc(x), network.module(x)
    assert one_pass.shape == (2, network.num_classes, 1, 1)
    assert_close(one_pass[..., 0, 0], logits, terms=network_terms(network.module))


@pytest.mark.parametrize(
    ("name", "head", "extra"),
    [("simple-cnn", ["flatten", "fc1", "relu3", "fc2", "relu4", "fc3"], (3, 5)),
     ("efficientnet-lite0", ["pool", "flatten", "dropout", "fc"], (1, 2))],
)  # fmt: skip
def test_padded_networks_head_is_the_dense_head_at_every_position(name, head, extra):
    network = get_network(name)
    model = network.module
    fc = convert(model, network.input_shape)
    assert not fc.exact and [r.layer for r in fc.rewrites] == head
    channels, side, _ = network.input_shape
    x = torch.randn(1, channels, side + fc.stride * extra[0], side + fc.stride * extra[1],
                    generator=torch.Generator().manual_seed(2))  # fmt: skip
    with torch.inference_mode():
        maps = fc.features(x)  # the larger image's feature maps, by the original layers
        one_pass = fc.head(maps)[0]
        own = maps.shape[-1] - extra[1]  # the classifier's own map side (7)
        expected = torch.empty_like(one_pass)
        for i in range(extra[0] + 1):
            for j in range(extra[1] + 1):
                window = maps[..., i : i + own, j : j + own]
                for layer in head:
                    window = model.get_submodule(layer)(window)
                expected[:, i, j] = window[0]
    assert_close(one_pass, expected, terms=network_terms(model))


def test_a_network_that_is_not_a_chain_is_refused():
    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3)
            self.b = nn.Conv2d(1, 2, 3)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(2 * 6 * 6, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.flatten(self.a(x) + self.b(x)))

    with pytest.raises(NotConvertible, match="does not run on the output of the layer before"):
        convert(Branches(), (1, 8, 8))


def test_a_strided_shortcut_counts_once_in_the_stride():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
            self.shortcut = nn.Conv2d(1, 2, 1, stride=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + self.shortcut(x)

    model = nn.Sequential(
        Block(), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3)
    ).eval()
    fc = convert(model, (1, 16, 16))
    assert fc.stride == 4 and fc.padded_layers == ["0.conv"]
    with torch.inference_mode():
        assert fc(torch.zeros(1, 1, 16 + 4 * 3, 16)).shape == (1, 3, 4, 1)
