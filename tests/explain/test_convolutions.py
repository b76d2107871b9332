"""Which layers are convolutions, and the sentences for those that are not."""

from __future__ import annotations

import pytest

from app.explain.convolutions import (
    channels_of,
    conv_layers,
    conv_module,
    feature_layer,
    feature_layers,
)
from app.nets.registry import get_model


def test_the_convolutions_of_the_zoo():
    assert conv_layers(get_model("lenet5")) == ["conv1", "conv2", "conv3"]
    assert conv_layers(get_model("simple-cnn")) == ["conv1", "conv2"]
    efficientnet = conv_layers(get_model("efficientnet-lite0"))
    assert efficientnet[:3] == ["stem.conv", "blocks.0.depthwise.conv", "blocks.0.project.conv"]
    assert efficientnet[-1] == "head.conv" and len(efficientnet) == 49


def test_grad_cam_and_maximisation_also_take_blocks_and_what_follows_their_convolution():
    names = feature_layers(get_model("efficientnet-lite0"))
    for name in ("stem", "stem.conv", "stem.bn", "stem.act", "blocks.3.expand", "head", "head.act"):
        assert name in names
    for name in ("blocks.3", "blocks.3.add", "pool", "fc", "flatten", "blocks"):
        assert name not in names
    assert feature_layers(get_model("lenet5")) == ["conv1", "conv2", "conv3"]


@pytest.mark.parametrize(
    ("model", "layer", "count"),
    [
        ("lenet5", "conv2", 16),
        ("efficientnet-lite0", "head", 1280),
        ("efficientnet-lite0", "stem.act", 32),
    ],
)
def test_channels_of_a_layer(model, layer, count):
    assert channels_of(get_model(model), layer) == count


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("conv9", "Unknown layer 'conv9': the convolution layers are conv1, conv2, conv3"),
        ("pool2", "pool2 is a AvgPool2d layer, not a convolution: choose one of conv1"),
        ("tanh1", "tanh1 is a Tanh layer, not a convolution"),
        ("", "a layer name is needed"),
    ],
)
def test_layers_that_are_not_convolutions_are_refused_with_a_sentence(layer, message):
    with pytest.raises(ValueError, match=message):
        feature_layer(get_model("lenet5"), layer)


def test_long_lists_are_shortened_in_messages():
    with pytest.raises(ValueError, match=r"stem.conv, .*, …, head.conv \(49 in all\)"):
        conv_module(get_model("efficientnet-lite0"), "head")
