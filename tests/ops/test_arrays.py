"""Nested lists to tensors: ragged, non-numeric and non-finite input is refused by name."""

from __future__ import annotations

import math

import pytest
import torch

from app.ops.arrays import to_tensor, to_vector


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1, 2], [3]], r"input\[1\] has 1 entries where 2 were expected"),
        ([[1, 2], [3, "a"]], r"input\[1\]\[1\] is the text 'a', not a number"),
        ([[1, None]], r"input\[0\]\[1\] is null, not a number"),
        ([[1, True]], r"input\[0\]\[1\] is the boolean true, not a number"),
        ([[1, math.nan]], r"input\[0\]\[1\] is nan: only finite numbers are allowed"),
        ([[1, math.inf]], r"input\[0\]\[1\] is inf: only finite numbers are allowed"),
        ([], "input is empty"),
        ([[]], "input is empty"),
        ([[1, 2], 3], r"input\[1\] is int where a list was expected"),
        ([[[[[1]]]]], "more than 3 levels of nesting"),
        ([1, 2], "input must be an H×W grid or a C×H×W stack; it has 1 levels"),
        ("12", "input must be a list of numbers, not the text '12'"),
        ({"a": 1}, "input must be a list of numbers, not an object"),
    ],
)
def test_bad_arrays_are_named(value, message):
    with pytest.raises(ValueError, match=message):
        to_tensor(value, "input", dims=(2, 3))


def test_good_arrays_become_float64():
    tensor = to_tensor([[[1, 2.5]], [[3, 4]]], "input", dims=(2, 3))
    assert tensor.dtype == torch.float64
    assert tensor.shape == (2, 1, 2)


def test_vectors_repeat_a_number_or_check_the_length():
    assert to_vector(2, "bias", 3).tolist() == [2.0, 2.0, 2.0]
    assert to_vector([1, 2], "bias", 2).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="bias has 3 values but there are 2 output channels"):
        to_vector([1, 2, 3], "bias", 2)
    with pytest.raises(ValueError, match="only finite numbers"):
        to_vector(math.nan, "bias", 1)
    with pytest.raises(ValueError, match="must be a number or a list"):
        to_vector("1", "bias", 1)
