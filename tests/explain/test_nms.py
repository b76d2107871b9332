"""Non-maximum suppression against brute force: IoU against areas counted pixel by pixel,
and the boxes kept against the one subset, found by trying every subset, that greedy NMS
defines (a box is kept exactly when no better box that is kept overlaps it too much)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.explain.nms import Box, iou, ranked, suppress

CANVAS = 24


def boxes_strategy(most: int) -> st.SearchStrategy[list[Box]]:
    one = st.tuples(
        st.integers(0, CANVAS - 1), st.integers(0, CANVAS - 1), st.integers(1, 12),
        st.integers(1, 12), st.integers(0, 20),
    ).map(lambda t: Box(t[0], t[1], t[2], t[3], t[4] / 20, 0))  # fmt: skip
    return st.lists(one, min_size=0, max_size=most)


def mask(box: Box) -> np.ndarray:
    grid = np.zeros((CANVAS + 12, CANVAS + 12), dtype=bool)
    grid[int(box.y) : int(box.y + box.height), int(box.x) : int(box.x + box.width)] = True
    return grid


def counted_iou(a: Box, b: Box) -> float:
    """IoU by counting the pixels of the two boxes' masks."""
    first, second = mask(a), mask(b)
    union = np.logical_or(first, second).sum()
    return float(np.logical_and(first, second).sum() / union) if union else 0.0


def brute_force(boxes: list[Box], threshold: float) -> list[int]:
    """The subset S (indices, in rank order) with: i ∈ S exactly when every j ∈ S ranked
    before i has IoU(i, j) ≤ threshold. Found by trying all 2ⁿ subsets; exactly one fits."""
    fitting = []
    n = len(boxes)
    for chosen in itertools.product((False, True), repeat=n):
        subset = [i for i in range(n) if chosen[i]]
        ok = all(
            chosen[i] == all(counted_iou(boxes[i], boxes[j]) <= threshold for j in subset if j < i)
            for i in range(n)
        )
        if ok:
            fitting.append(subset)
    assert len(fitting) == 1
    return fitting[0]


@given(boxes_strategy(2))
def test_iou_is_the_counted_overlap(pair):
    if len(pair) == 2:
        assert iou(*pair) == pytest.approx(counted_iou(*pair), abs=1e-12)
        assert iou(pair[0], pair[1]) == iou(pair[1], pair[0])
        assert iou(pair[0], pair[0]) == 1.0


@given(boxes_strategy(8), st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 1.0]))
def test_suppression_keeps_the_brute_force_subset(boxes, threshold):
    order = ranked(boxes)
    kept, steps = suppress(order, threshold)
    assert kept == brute_force(order, threshold)
    # the record: one step per kept box; every box is kept or removed exactly once
    assert [step.kept for step in steps] == kept
    removed = [index for step in steps for index, _, gone in step.compared if gone]
    assert sorted(kept + removed) == list(range(len(order)))
    for step in steps:
        for index, overlap, gone in step.compared:
            assert overlap == pytest.approx(counted_iou(order[step.kept], order[index]))
            assert gone == (overlap > threshold)


def test_ranked_is_best_first_and_stable():
    a, b, c = Box(0, 0, 1, 1, 0.5, 8), Box(1, 1, 1, 1, 0.9, 8), Box(2, 2, 1, 1, 0.5, 16)
    assert ranked([a, b, c]) == [b, a, c]


def test_a_bad_threshold_is_refused():
    with pytest.raises(ValueError, match="iou must be a number from 0 to 1"):
        suppress([], 1.5)
