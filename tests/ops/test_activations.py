"""Activation curves and derivatives against torch and the closed forms the page shows."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.ops import activations as act
from tests.utils.tolerance import assert_close

X = torch.tensor([k / 20 for k in range(-100, 101)], dtype=torch.float64)

# The closed forms written on the page (f, f'), with torch's choice at x = 0: the left slope.
CLOSED = {
    "relu": (lambda x, _: torch.clamp(x, min=0), lambda x, _: (x > 0).double()),
    "leaky_relu": (
        lambda x, a: torch.maximum(a * x, x),
        lambda x, a: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, a)),  # float64 a
    ),
    "elu": (
        lambda x, a: torch.where(x > 0, x, a * (torch.exp(x) - 1)),
        lambda x, a: torch.where(x > 0, torch.ones_like(x), a * torch.exp(x)),
    ),
    "sigmoid": (
        lambda x, _: 1 / (1 + torch.exp(-x)),
        lambda x, _: torch.sigmoid(x) * (1 - torch.sigmoid(x)),
    ),
    "tanh": (lambda x, _: torch.tanh(x), lambda x, _: 1 - torch.tanh(x) ** 2),
}
TORCH = {
    "relu": lambda x, _: F.relu(x),
    "leaky_relu": lambda x, a: F.leaky_relu(x, a),
    "elu": lambda x, a: F.elu(x, a),
    "sigmoid": lambda x, _: torch.sigmoid(x),
    "tanh": lambda x, _: torch.tanh(x),
}


@pytest.mark.parametrize("name", list(act.ACTIVATIONS))
@settings(max_examples=25, deadline=None)
@given(value=st.floats(0, 1))
def test_curve_is_torchs_function_and_autograds_derivative_equals_the_closed_form(name, value):
    function = act.ACTIVATIONS[name]
    setting = value if function.parameter == "negative_slope" else value * act.MAX_ALPHA
    if function.parameter is None:
        setting = 0.0
    data = act.curve(function, setting)
    x = torch.tensor(data["x"], dtype=torch.float64)
    assert torch.equal(x, X)
    assert 0.0 in data["x"]  # the kink is sampled
    y = torch.tensor(data["y"], dtype=torch.float64)
    dy = torch.tensor(data["derivative"], dtype=torch.float64)
    assert torch.equal(y, TORCH[name](X, setting))
    f, df = CLOSED[name]
    # float64 on both sides: an exponential (within an ulp), then a sum, a product and a
    # quotient at most, in another order than torch's kernels
    assert_close(y, f(X, setting), terms=4)
    assert_close(dy, df(X, setting), terms=4)


def test_autograd_takes_the_left_slope_at_the_kink():
    zero = torch.zeros(1, dtype=torch.float64)
    assert act.derivative(act.ACTIVATIONS["relu"], zero, 0).item() == 0
    assert act.derivative(act.ACTIVATIONS["leaky_relu"], zero, 0.1).item() == pytest.approx(0.1)
    assert act.derivative(act.ACTIVATIONS["elu"], zero, 2.0).item() == pytest.approx(2.0)


def test_all_curves_use_each_functions_own_setting():
    curves = act.all_curves(0.2, 3.0)
    assert set(curves) == {"relu", "leaky_relu", "elu", "sigmoid", "tanh"}
    assert curves["leaky_relu"]["setting"] == 0.2
    assert curves["elu"]["setting"] == 3.0
    assert curves["relu"]["setting"] is None
    assert curves["leaky_relu"]["y"][0] == pytest.approx(-1.0)  # 0.2 · (−5)
    assert curves["elu"]["y"][0] == pytest.approx(3.0 * (math.exp(-5) - 1))


def test_apply_to_a_feature_map():
    before = torch.tensor([[-5.0, -4, 0, 8], [-10, -2, 2, 3]], dtype=torch.float64)
    data = act.apply(act.ACTIVATIONS["relu"], 0.0, before)
    assert data["after"] == [[0, 0, 0, 8], [0, 0, 2, 3]]
    assert data["changed"] == 4
    hist = data["histogram"]
    assert len(hist["edges"]) == act.HISTOGRAM_BINS + 1
    assert hist["edges"][0] == -10 and hist["edges"][-1] == 8
    assert sum(hist["before"]) == sum(hist["after"]) == 8
    counts = torch.histc(torch.tensor(data["after"]).double(), act.HISTOGRAM_BINS, -10, 8)
    assert hist["after"] == counts.long().tolist()
    assert data["stats"]["before"]["negative"] == pytest.approx(4 / 8)
    assert data["stats"]["after"]["zero"] == pytest.approx(5 / 8)
    assert data["stats"]["after"]["min"] == 0


def test_a_constant_map_still_gets_a_histogram():
    data = act.apply(act.ACTIVATIONS["relu"], 0.0, torch.zeros(2, 2, dtype=torch.float64))
    assert data["after"] == [[0, 0], [0, 0]]
    assert data["histogram"]["after"][act.HISTOGRAM_BINS // 2] == 4
    assert data["histogram"]["edges"][0] < 0 < data["histogram"]["edges"][-1]


def test_maxout_worked_example():
    data = act.maxout_example()
    w = torch.tensor(act.MAXOUT_W, dtype=torch.float64)
    z = w @ torch.tensor(act.MAXOUT_X, dtype=torch.float64) + torch.tensor(act.MAXOUT_B)
    assert [piece["value"] for piece in data["pieces"]] == z.tolist() == [1.5, -3, -0.5]
    assert data["value"] == 1.5 and data["winner"] == 0
    curve = data["curve"]
    grid = torch.tensor(curve["x"], dtype=torch.float64)
    lines = torch.stack([s * grid + c for s, c in act.MAXOUT_LINES])
    assert torch.equal(torch.tensor(curve["y"], dtype=torch.float64), lines.max(0).values)


@pytest.mark.parametrize(
    ("name", "slope", "alpha", "message"),
    [
        ("leaky_relu", -0.1, 1, "negative_slope must be between 0 and 1 (got -0.1)"),
        ("leaky_relu", math.nan, 1, "negative_slope is nan: only finite numbers are allowed"),
        ("leaky_relu", "0.1", 1, "negative_slope must be a number"),
        ("elu", 0.1, 6, "alpha must be between 0 and 5 (got 6)"),
        ("elu", 0.1, math.inf, "alpha is inf"),
    ],
)
def test_settings_are_validated(name, slope, alpha, message):
    with pytest.raises(ValueError) as error:
        act.setting(act.ACTIVATIONS[name], slope, alpha)
    assert message in str(error.value)


def test_settings_of_other_functions_are_ignored():
    assert act.setting(act.ACTIVATIONS["relu"], "anything", None) == 0.0


def test_unknown_function():
    with pytest.raises(ValueError, match="unknown function 'swish'; known: relu, leaky_relu"):
        act.get_activation("swish")
