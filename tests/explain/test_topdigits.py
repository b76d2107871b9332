"""The nine digits that excite a channel most: against a brute-force search with plain torch."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from app.explain.topdigits import TOP, scan, top_digits
from app.nets.mnist import load_digits
from app.nets.registry import get_model, get_model_spec, get_network
from app.nets.training import as_inputs
from tests.utils.tolerance import approx, network_terms, tolerance


@pytest.fixture(scope="module")
def lenet_conv2_by_hand():
    """conv2 of LeNet-5 on all 5,000 digits with torch.nn.functional, no hooks."""
    model = get_model("lenet5")
    x = get_model_spec("lenet5").preprocess.scale(
        as_inputs(get_model_spec("lenet5"), load_digits())
    )
    with torch.inference_mode():
        pool1 = F.avg_pool2d(torch.tanh(F.conv2d(x, model.conv1.weight, model.conv1.bias)), 2)
        return F.conv2d(pool1, model.conv2.weight, model.conv2.bias)  # (5000, 16, 10, 10)


@pytest.mark.slow
@pytest.mark.parametrize("channel", [0, 3, 15])
def test_the_top_nine_are_the_digits_with_the_largest_activation(lenet_conv2_by_hand, channel):
    result = top_digits(get_network("lenet5"), "conv2", channel)
    maps = lenet_conv2_by_hand[:, channel]  # (5000, 10, 10)
    best = maps.flatten(1).amax(1)  # (5000,)
    expected = best.topk(TOP + 1)
    # float32 conv1 … conv2 in batches of the app's size against all 5,000 at once; the
    # products conv2 adds are at most |w|·1 (tanh, averaged), so Σ|w| + |b| bounds them
    model = get_model("lenet5")
    terms = network_terms(model, upto="conv2")
    scale = float(model.conv2.weight[channel].abs().sum() + model.conv2.bias[channel].abs())
    # the ranking is the rounding's to decide only where two scores are that close: here
    # none are, so the very order is asserted
    gaps = (expected.values[:-1] - expected.values[1:]).min()
    assert gaps > 2 * tolerance(torch.float32, scale=scale, terms=terms)["atol"]
    assert [d.index for d in result.digits] == expected.indices[:TOP].tolist()
    found = [d.activation for d in result.digits]
    assert found == approx(expected.values[:TOP].tolist(), terms=terms, scale=scale)
    labels = load_digits().labels
    for digit in result.digits:
        assert digit.label == int(labels[digit.index])
        row, col = digit.position
        value = float(maps[digit.index, row, col])
        assert value == approx(digit.activation, terms=terms, scale=scale)
        assert digit.box == (2 * row, 2 * col, 2 * row + 14, 2 * col + 14)  # 14×14 field, jump 2


@pytest.mark.slow
def test_every_conv_layer_is_scanned_once_and_kept():
    first = scan(get_network("simple-cnn"))
    assert set(first.values) == {"conv1", "conv2"}
    assert first.values["conv2"].shape == (16, TOP) and first.positions["conv2"].shape == (
        16,
        TOP,
        2,
    )
    assert (first.values["conv1"][:, :-1] >= first.values["conv1"][:, 1:]).all()  # largest first
    assert scan(get_network("simple-cnn")) is first
    seen = []
    assert scan(get_network("simple-cnn"), progress=seen.append) is first and seen == [1.0]


@pytest.mark.slow
def test_the_pictures_are_what_the_network_saw():
    result = top_digits(get_network("simple-cnn"), "conv1", 2)
    spec = get_model_spec("simple-cnn")
    digits = load_digits()
    for picture, digit in zip(result.pictures, result.digits, strict=True):
        expected = (as_inputs(spec, digits.subset(torch.tensor([digit.index])))[0] * 255).round()
        assert torch.equal(picture, expected.to(torch.uint8))
    strip = Image.open(io.BytesIO(result.png()))
    assert strip.size == (9 * 28 + 8 * 2, 28) and strip.mode == "L"
    assert set(result.to_dict()) == {"model", "layer", "channel", "digits", "size"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: top_digits(get_network("efficientnet-lite0"), "stem.conv", 0),
            "was not trained on MNIST",
        ),
        (
            lambda: top_digits(get_network("lenet5"), "fc1", 0),
            "fc1 is a Linear layer, not a convolution",
        ),
        (
            lambda: top_digits(get_network("lenet5"), "conv1", 6),
            "channel must be from 0 to 5 in conv1",
        ),
        (lambda: top_digits(get_network("lenet5"), "conv1", "2"), "channel must be a whole number"),
    ],
)
def test_bad_requests_are_refused_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()
