"""Preprocessing: MNIST-style digit normalisation, LeNet's 32×32 field, the ImageNet crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.nets.mnist import load_digits
from app.nets.preprocess import (
    IMAGENET_LITE,
    LENET,
    MNIST,
    centre_square,
    mnist_digit,
    to_unit_tensor,
)
from tests.utils.samples import sample
from tests.utils.tolerance import approx


def pixels(image: Image.Image) -> np.ndarray:
    return np.array(image)


def test_mnist_digits_come_out_as_they_went_in():
    digits = load_digits()
    unchanged = sum(
        np.array_equal(pixels(mnist_digit(digits.picture(i))), digits.images[i].numpy())
        for i in range(0, len(digits), 7)
    )
    assert unchanged >= len(range(0, len(digits), 7)) - 1  # one of the 5,000 is 19 px tall


def test_a_dark_on_light_drawing_is_inverted():
    digit = sample("mnist-3.png")
    inverted = Image.fromarray(255 - pixels(digit))
    assert torch.equal(MNIST(inverted), MNIST(digit))


def test_a_big_off_centre_drawing_is_scaled_and_centred_like_mnist():
    digit = sample("mnist-4.png")
    canvas = Image.new("L", (280, 200), 255)  # a white canvas, the digit drawn big in a corner
    big = Image.fromarray(255 - pixels(digit)).resize((84, 84), Image.Resampling.NEAREST)
    canvas.paste(big, (10, 100))
    normalised = pixels(mnist_digit(canvas)).astype(float)
    rows, cols = np.nonzero(normalised)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 == 20
    mass = normalised / normalised.sum()
    centre = ((mass.sum(1) * np.arange(28)).sum(), (mass.sum(0) * np.arange(28)).sum())
    assert centre == pytest.approx((14, 14), abs=0.5)  # shifted by whole pixels, not by rounding
    original = pixels(digit).astype(float)
    correlation = np.corrcoef(normalised.ravel(), original.ravel())[0, 1]
    assert correlation > 0.9


def test_transparent_pixels_are_paper():
    digit = pixels(sample("mnist-1.png"))
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = digit  # black ink whose opacity is the digit, on a transparent canvas
    assert torch.equal(MNIST(Image.fromarray(rgba, "RGBA")), MNIST(sample("mnist-1.png")))


@pytest.mark.parametrize("colour", [0, 255])
def test_an_empty_drawing_is_refused(colour):
    with pytest.raises(ValueError, match="the image is empty"):
        MNIST(Image.new("L", (200, 200), colour))


def test_lenet_takes_32_by_32_with_lecuns_scaling():
    x = LENET(sample("mnist-0.png"))
    assert x.shape == (1, 32, 32)
    border = torch.cat((x[0, :2].flatten(), x[0, -2:].flatten(), x[0, :, :2].flatten()))
    background = torch.zeros(1) * 1.275 - 0.1  # float32, as the preprocessing computes it
    assert (border == background).all()
    # float32: 1.275 and 0.1 rounded, a product and a difference
    assert float(x.min()) == approx(-0.1, terms=3) and float(x.max()) == approx(1.175, terms=3)
    assert torch.equal(x[0, 2:30, 2:30], MNIST(sample("mnist-0.png"))[0] * 1.275 - 0.1)


def test_imagenet_lite_takes_the_central_square_scaled_to_minus_one_one():
    photo = sample("chelsea.png")  # 451×300
    picture = IMAGENET_LITE.picture(photo)
    assert picture.size == (224, 224) and picture.mode == "RGB"
    crop = photo.convert("RGB").crop((75, 0, 375, 300)).resize((224, 224), Image.Resampling.BICUBIC)
    difference = np.abs(pixels(picture).astype(int) - pixels(crop).astype(int))
    assert difference.max() <= 2  # resizing from a box may read a pixel beyond its edge
    x = IMAGENET_LITE(photo)
    assert x.shape == (3, 224, 224)
    unit = to_unit_tensor(picture)
    assert torch.equal(x, (unit * 255 - 127) / 128)  # the same float32 operations
    assert float(x.min()) >= -127 / 128 and float(x.max()) <= 1.0


def test_grayscale_photos_become_rgb():
    assert IMAGENET_LITE(sample("camera.png")).shape == (3, 224, 224)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300))
def test_any_photo_size_gives_a_square(width, height):
    assert centre_square(Image.new("RGB", (width, height), (9, 99, 199)), 224).size == (224, 224)


def test_unit_tensor_refuses_other_modes():
    with pytest.raises(ValueError, match="mode CMYK"):
        to_unit_tensor(Image.new("CMYK", (2, 2)))
