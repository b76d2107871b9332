"""Activation maximisation: the channel's activation rises, the result is reproducible, the
shared model is untouched, progress and cancellation work, bad settings are refused."""

from __future__ import annotations

import pytest
import torch

from app.explain.maximize import (
    FourierImage,
    frequency_scale,
    maximize,
    maximize_channel,
    resolve_settings,
)
from app.explain.progress import Cancelled
from app.nets.registry import get_model, get_model_spec, get_network
from tests.utils.tolerance import assert_close


def test_the_objective_rises_well_above_where_it_started():
    result = maximize_channel(get_network("lenet5"), "conv2", 3, steps=48)
    assert result.picture.shape == (1, 32, 32) and result.picture.dtype == torch.uint8
    assert result.settings == {
        "steps": 48, "learning_rate": 0.05, "jitter": 1, "size": 32, "seed": 0,
        "objective": "centre",
    }  # fmt: skip
    assert len(result.curve) == 48
    assert result.activation > result.curve[0] + 1.0
    assert result.curve[-1] > result.curve[0]
    assert set(result.to_dict()) == {"layer", "channel", "settings", "curve", "activation", "size"}


def test_a_colour_network_gets_a_colour_picture_and_a_deep_channel_rises():
    network = get_network("efficientnet-lite0")
    result = maximize_channel(network, "blocks.10.expand", 37, steps=12, size=64, learning_rate=0.1)
    assert result.picture.shape == (3, 64, 64)
    assert result.settings["objective"] == "channel" and result.settings["jitter"] == 2
    assert result.activation > result.curve[0]
    channels = result.picture.float().flatten(1).mean(1)
    assert channels.max() - channels.min() > 1  # not gray: the colours were optimised too


def test_the_same_settings_give_the_same_picture():
    first = maximize_channel(get_network("simple-cnn"), "conv1", 2, steps=10, seed=5)
    again = maximize_channel(get_network("simple-cnn"), "conv1", 2, steps=10, seed=5)
    other = maximize_channel(get_network("simple-cnn"), "conv1", 2, steps=10, seed=6)
    assert torch.equal(first.picture, again.picture) and first.curve == again.curve
    assert not torch.equal(first.picture, other.picture)


def test_the_shared_model_is_left_as_it_was():
    model = get_model("simple-cnn")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    maximize_channel(get_network("simple-cnn"), "conv2", 1, steps=5)
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_frequency_parameterisation_is_lucids():
    scale = frequency_scale(8, 6)
    assert scale.shape == (8, 4)
    fy = torch.tensor([0, 1, 2, 3, -4, -3, -2, -1]) / 8
    fx = torch.tensor([0, 1, 2, 3]) / 6
    f = (fy[:, None] ** 2 + fx[None] ** 2).sqrt()
    # float32, value by value: two quotients, two squares, a sum, a square root, a power
    # and a quotient, each rounded once (no sums that could cancel)
    assert_close(scale, 48**0.5 / torch.clamp(f, min=1 / 8), terms=8)
    picture = FourierImage(3, 10, 12, torch.Generator().manual_seed(0))().detach()
    assert picture.shape == (1, 3, 10, 12)
    assert float(picture.min()) > 0 and float(picture.max()) < 1


def test_progress_every_step_and_cancellation():
    seen: list[float] = []
    maximize_channel(get_network("lenet5"), "conv1", 0, steps=6, progress=seen.append)
    assert seen == [0.0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0]

    def cancel(fraction: float) -> None:
        if fraction > 0.3:
            raise Cancelled

    with pytest.raises(Cancelled):
        maximize_channel(get_network("lenet5"), "conv1", 0, steps=100, progress=cancel)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: maximize_channel(get_network("lenet5"), "pool1", 0), "pool1 is a AvgPool2d layer"),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 16),
            "channel must be from 0 to 15 in conv2",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, steps=513),
            "steps must be a whole number from 1 to 512",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, size=8),
            "size must be a whole number from 16",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, jitter=40),
            "jitter must be a whole number from 0 to 32",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, size=20, jitter=20),
            "must be smaller than the picture",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, objective="max"),
            "objective must be one of channel, centre",
        ),
        (
            lambda: maximize_channel(get_network("lenet5"), "conv2", 1, blur=2),
            "blur is not a setting",
        ),
        (lambda: maximize_channel(get_network("resnet"), "conv2", 1), "Unknown model 'resnet'"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_maximize_takes_any_network_and_preprocessing():
    model = get_model("simple-cnn")
    spec = get_model_spec("simple-cnn")
    result = maximize(model, "conv1", 4, channels=1, preprocess=spec.preprocess, steps=3, size=20)
    assert result.picture.shape == (1, 20, 20)


def test_resolved_settings_fill_the_models_defaults_and_check_the_size_first():
    assert resolve_settings(get_network("efficientnet-lite0"), "stem", 0) == {
        "steps": 128, "learning_rate": 0.05, "jitter": 8, "size": 224, "seed": 0,
        "objective": "channel",
    }  # fmt: skip
    assert resolve_settings(get_network("lenet5"), "conv2", 3, size=56)["jitter"] == 2
    # an oversized picture is named as such, not through the jitter derived from it
    with pytest.raises(ValueError, match="size must be a whole number from 16 to 224"):
        resolve_settings(get_network("lenet5"), "conv2", 3, size=1024)
