"""The shift demonstration: one-pixel shifts, and conv / max-pool outputs from torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from app.ops.invariance import D2L_EDGES, D2L_KERNEL, SEED_000_EDGE, change, shift, shift_demo

GRID = torch.arange(1, 7, dtype=torch.float64).reshape(2, 3)


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("right", [[0, 1, 2], [0, 4, 5]]),
        ("left", [[2, 3, 0], [5, 6, 0]]),
        ("down", [[0, 0, 0], [1, 2, 3]]),
        ("up", [[4, 5, 6], [0, 0, 0]]),
    ],
)
def test_shift_moves_one_pixel_and_lets_zeros_in(direction, expected):
    assert shift(GRID, direction).tolist() == expected


def test_unknown_direction():
    with pytest.raises(ValueError, match="unknown shift 'sideways'; use one of right, left"):
        shift(GRID, "sideways")


@pytest.mark.parametrize("direction", ["right", "left", "down", "up"])
@pytest.mark.parametrize(("size", "stride"), [(2, 1), (2, None), (3, None)])
def test_demo_stages_are_conv2d_and_max_pool2d(direction, size, stride):
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(0, 9, (9, 10), generator=gen).double()
    k = torch.randint(-2, 3, (3, 3), generator=gen).double()
    data = shift_demo(x, k, direction, size, stride)
    moved = shift(x, direction)
    for image, key in ((x, "before"), (moved, "after")):
        conv = F.conv2d(image[None, None], k[None, None])[0, 0]
        pooled = F.max_pool2d(conv[None], size, stride or size)[0]
        assert data["conv"][key] == conv.tolist()
        assert data["pooled"][key] == pooled.tolist()
    assert data["shifted"] == moved.tolist()


def test_the_d2l_edges_change_less_after_max_pooling():
    x = torch.tensor(D2L_EDGES, dtype=torch.float64)
    data = shift_demo(x, torch.tensor(D2L_KERNEL, dtype=torch.float64), "right", 2, 1)
    conv, pooled = data["conv"], data["pooled"]
    assert (conv["changed"], conv["total"]) == (30, 42)
    assert (pooled["changed"], pooled["total"]) == (10, 30)
    assert pooled["fraction"] == pytest.approx(1 / 3)
    assert pooled["fraction"] < conv["fraction"] == pytest.approx(30 / 42)
    assert pooled["relative"] < conv["relative"]


def test_seed_000s_own_example_gives_the_slides_output_and_pooling_keeps_its_edge():
    x = torch.tensor(SEED_000_EDGE, dtype=torch.float64)
    k = torch.tensor(D2L_KERNEL, dtype=torch.float64)
    data = shift_demo(x, k, "right", 2, 1)
    expected = F.conv2d(x[None, None], k[None, None])[0, 0]
    assert data["conv"]["before"] == expected.tolist() == [[0, 1, 0, 0]] * 4  # the slide's Y
    # one pixel to the right (zeros enter on the left: a falling edge at column 0 too), the
    # answer changes in 3 of 4 cells of each row; 2×2 max pooling (stride 1) still sees the
    # edge in its middle column
    assert data["conv"]["after"] == [[-1, 0, 1, 0]] * 4
    assert data["conv"]["changed"] == 12
    assert data["pooled"]["before"] == [[1, 1, 0]] * 3
    assert data["pooled"]["after"] == [[0, 1, 1]] * 3
    assert data["pooled"]["fraction"] < data["conv"]["fraction"]


def test_change_of_an_all_zero_map_has_no_relative_change():
    zeros = torch.zeros(2, 2, dtype=torch.float64)
    assert change(zeros, zeros + 1)["relative"] is None
    assert change(zeros + 2, zeros + 3)["relative"] == pytest.approx(0.5)


def test_refuses_what_the_engines_refuse():
    with pytest.raises(ValueError, match="larger than the padded input"):
        shift_demo(GRID, torch.ones(3, 3, dtype=torch.float64), "right")
    with pytest.raises(ValueError, match="window is larger than the padded input"):
        shift_demo(GRID, torch.ones(1, 1, dtype=torch.float64), "right", 3)
