"""``GET /api/architecture/shrink``: the lecture's shrinking question, and every refusal as
a 422 with a sentence."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.architecture_figures import shrink


def test_the_lectures_question(client: TestClient):
    data = client.get("/api/architecture/shrink").json()  # 224, 5×5, stride 1, no padding, 4
    assert data["layers"] == 55 and data["exact"] and data["reached"] == 4
    assert data["sizes"][:3] == [224, 220, 216] and data["sizes"][44] == 48
    assert data["receptive_field"][55] == 1 + 55 * 4


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ("size=0", "size must be a whole number from 1 to 4096 (got 0)"),
        ("size=5000", "size must be a whole number from 1 to 4096 (got 5000)"),
        ("kernel=0", "kernel must be a whole number from 1 to 64 (got 0)"),
        ("stride=9", "stride must be a whole number from 1 to 8 (got 9)"),
        ("padding=-1", "padding must be a whole number from 0 to 32 (got -1)"),
        ("target=225", "target must be a whole number from 1 to 224 (got 225)"),
        ("kernel=abc", "kernel: Input should be a valid integer"),
        ("kernel=5&padding=2", "never shrinks its input"),
        ("size=10&kernel=30", "a 30×30 kernel does not fit a 10×10 input"),
    ],
)
def test_refusals(client: TestClient, query, sentence):
    response = client.get(f"/api/architecture/shrink?{query}")
    assert response.status_code == 422
    assert sentence in response.json()["detail"]


@settings(max_examples=60)
@given(st.integers(1, 300), st.integers(1, 9), st.integers(1, 4), st.integers(0, 3), st.data())
def test_sizes_follow_torchs_formula(size, kernel, stride, padding, data):
    """Against the output-size formula of nn.Conv2d's documentation, layer by layer."""
    target = data.draw(st.integers(1, size))
    try:
        found = shrink(size, kernel, stride, padding, target)
    except ValueError as error:
        stuck = "stops shrinking" in str(error)
        assert stuck or kernel > size + 2 * padding or (stride == 1 and kernel - 1 <= 2 * padding)
        return
    n = size
    for side in found["sizes"][1:]:
        assert n > target
        n = (n + 2 * padding - kernel) // stride + 1
        assert side == n
    assert n <= target or n + 2 * padding < kernel
    assert found["exact"] == (n == target)


def test_a_convolution_that_stops_shrinking_is_refused(client: TestClient):
    """Stride 2 with padding 3 and a 1×1 kernel: (7 + 6 − 1) // 2 + 1 = 7, for ever."""
    response = client.get("/api/architecture/shrink?size=20&kernel=1&stride=2&padding=3")
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "with stride 2 and padding 3, a 1×1 convolution stops shrinking at 7×7"
    )
