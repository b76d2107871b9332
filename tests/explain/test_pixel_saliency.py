"""Which input pixels decided one pixel's class (app/explain/segmentation.py): the saliency
methods on the U-Net seen from one output pixel, against Captum's on a forward function that
returns that pixel's logits, for the same target; and the segmentation's own numbers against
a plain forward pass."""

from __future__ import annotations

import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import Saliency
from hypothesis import given, settings
from hypothesis import strategies as st

from app.explain.saliency import IntegratedGradients, VanillaGradient
from app.explain.segmentation import (
    PixelLogits,
    check_pixel,
    is_segmenter,
    pixel_average,
    pixel_network,
    segment,
)
from app.nets.registry import get_network
from app.nets.unet import UNetDigits
from tests.explain.test_saliency import captum_input, in_our_layout, integrated_scale, two_passes
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close


@pytest.fixture(scope="module")
def network():
    return get_network("unet-digits")


@pytest.fixture(scope="module")
def scene(network):
    return network.preprocess(sample("scene-1.png"))[None]  # (1, 1, 64, 64)


def pixel_forward(model, row, col):  # type: ignore[no-untyped-def]
    """Captum's forward function for one pixel, on our memory layout (the same rounding)."""
    forward = in_our_layout(model)
    return lambda x: forward(x)[:, :, row, col]


def test_the_unet_segments_and_the_classifiers_do_not(network):
    assert is_segmenter(network)
    assert not is_segmenter(get_network("simple-cnn"))


def test_the_segmentation_is_the_forward_pass(network, scene):
    found = segment(network.module, scene[0])
    with torch.inference_mode():
        logits = network.module(scene)[0]
    assert torch.equal(found.logits, logits)
    assert torch.equal(found.mask, logits.argmax(0))
    assert_close(found.probabilities.sum(0), torch.ones(64, 64), terms=11, dtype=torch.float64)
    assert int(found.coverage().sum()) == 64 * 64
    assert len(found.mask.unique()) >= 3  # background and at least two of the scene's digits


@pytest.mark.parametrize(("row", "col"), [(12, 14), (40, 33), (0, 63)])
def test_the_pixels_gradient_is_captums_saliency(network, scene, row, col):
    model = network.module
    target = int(segment(model, scene[0]).mask[row, col])  # the pixel's own class
    ours = VanillaGradient(PixelLogits(model, row, col)).attribute(scene, target)
    theirs = Saliency(pixel_forward(model, row, col)).attribute(
        captum_input(scene), target=target, abs=False
    )
    assert_close(ours, theirs.detach(), terms=two_passes(model, scene))
    assert float(ours.abs().max()) > 0


def test_the_pixels_integrated_gradients_are_captums(network, scene):
    model = network.module
    row, col = 20, 20
    target = 4  # digit 3 (class 0 is background)
    pixel = PixelLogits(model, row, col)
    ours = IntegratedGradients(pixel, steps=12, batch_size=6).attribute(scene, target, baseline=0.0)
    theirs = CaptumIG(pixel_forward(model, row, col)).attribute(
        captum_input(scene), 0.0, target=target, n_steps=12, internal_batch_size=6
    )
    scale = integrated_scale(pixel, scene, 0.0, target, steps=12)
    assert_close(ours, theirs.detach(), terms=two_passes(model, scene) + 12 + 1, scale=scale)


@settings(max_examples=8)
@given(
    side=st.sampled_from([8, 12, 16]),
    row=st.integers(0, 7),
    col=st.integers(0, 7),
    target=st.integers(0, 10),
    seed=st.integers(0, 100),
)
def test_property_any_pixel_any_class_against_captum(side, row, col, target, seed):
    torch.manual_seed(seed)
    model = UNetDigits(widths=(4, 8, 8)).eval().requires_grad_(False)
    x = torch.rand(1, 1, side, side)
    ours = VanillaGradient(PixelLogits(model, row, col)).attribute(x, target)
    theirs = Saliency(pixel_forward(model, row, col)).attribute(
        captum_input(x), target=target, abs=False
    )
    assert_close(ours, theirs.detach(), terms=two_passes(model, x))


def test_a_pixel_outside_the_picture_is_refused(network):
    with pytest.raises(ValueError, match="row must be a whole number from 0 to 63"):
        check_pixel(network, 64, 0)
    with pytest.raises(ValueError, match="col must be a whole number from 0 to 63"):
        pixel_network(network, 0, -1)


def test_the_explorers_prediction_is_the_probabilities_averaged_over_the_pixels(network, scene):
    found = pixel_average(network, scene[0], 11)
    with torch.inference_mode():
        mean = torch.softmax(network.module(scene)[0].double(), dim=0).mean(dim=(1, 2))
    assert [p.index for p in found] == mean.argsort(descending=True).tolist()
    assert_close([p.probability for p in found], mean.sort(descending=True).values, terms=11)
    assert sum(p.probability for p in found) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="k must be a whole number from 1 to 11"):
        pixel_average(network, scene[0], 12)
