"""The shipped sample images load as small tensors in [0, 1]."""

from __future__ import annotations

import pytest

from app.images.samples import SAMPLES, get_sample, load_sample


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_loads(name):
    assert get_sample(name).path.is_file()
    gray = load_sample(name, 32)
    assert gray.shape[0] == 1 and max(gray.shape[1:]) <= 32
    assert gray.min() >= 0 and gray.max() <= 1
    assert load_sample(name, 32, "RGB").shape[0] == 3


def test_shrinking_keeps_the_aspect_ratio():
    assert load_sample("chelsea", 64).shape == (1, 43, 64)  # 451×300
    assert load_sample("mnist-7", 64).shape == (1, 28, 28)  # never enlarged


def test_unknown_sample():
    with pytest.raises(ValueError, match="unknown image 'dog'; known: chelsea, coffee"):
        get_sample("dog")
