"""The traced graph of any network (app.nets.graph) and the table built on it: residual
sums and concatenations written inline, a module called twice, functional calls, in-place
operations, data-dependent control flow, fields after going up."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from app.explain.hooks import capture
from app.nets.graph import meta_copy, trace
from app.nets.summary import summarize
from tests.nets.test_summary import box_mask, influence, positive_copy


class Functional(nn.Module):
    """A residual sum and a concatenation written inline, a convolution used twice, an
    in-place ReLU, a functional pool and flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act(self.stem(x))
        b = self.conv(self.conv(a))
        y = a + b
        z = torch.cat([y, F.relu(b)], dim=1)
        z = F.max_pool2d(z, 2)
        return self.fc(torch.flatten(z, 1))


class Branchy(Functional):
    """The same with a test on the data (cannot run on the meta device)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.abs().sum() >= 0:
            x = x * 1.0
        return super().forward(x)


@pytest.mark.parametrize("cls", [Functional, Branchy])
def test_functional_calls_are_rows_with_their_inputs(cls):
    model = cls()
    summary = summarize(model, (1, 12, 20))
    rows = {row.name: row for row in summary.nodes}
    assert [row.name for row in summary.nodes] == [
        *(["mul()"] if cls is Branchy else []),
        "stem", "act", "conv", "conv (2)", "add()", "relu()", "cat()", "max_pool2d()",
        "flatten()", "fc",
    ]  # fmt: skip
    assert summary.shapes_only is (cls is Functional)  # the test on data: a pass on zeros
    assert rows["add()"].inputs == ("act", "conv (2)") and rows["add()"].kind == "function"
    assert rows["cat()"].hyperparameters == {"inputs": ["add()", "relu()"], "dim": 1}
    assert rows["cat()"].output_shape == (8, 12, 20)
    assert rows["conv"].parameters == 148 and rows["conv (2)"].parameters == 0  # counted once
    assert rows["conv (2)"].macs == rows["conv"].macs == 12 * 20 * 4 * 4 * 9
    assert sum(row.parameters for row in summary.nodes) == summary.total_parameters
    assert [row.name for row in summary.layers] == ["stem", "act", "conv", "conv (2)", "fc"]
    # fields: two 3×3 after the stem's 3×3; the sum is the union; the pool doubles the jump
    assert rows["conv (2)"].receptive_field.size == (7, 7)
    assert rows["add()"].receptive_field.size == (7, 7)
    assert rows["max_pool2d()"].receptive_field.size == (8, 8)
    assert rows["max_pool2d()"].receptive_field.jump == (2, 2)
    assert rows["fc"].receptive_field.is_global
    captured = capture(model, torch.randn(1, 1, 12, 20))
    for row in summary.layers:
        assert row.output_shape == tuple(captured.activations[row.name].shape[1:])


def test_the_network_itself_is_neither_hooked_nor_changed():
    model = Functional()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace(model, (1, 12, 20))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.device.type == "cpu" for p in model.parameters())
    copy = meta_copy(model)
    assert all(p.device.type == "meta" for p in copy.parameters())


@st.composite
def stacks(draw):
    """Down and up: convolutions, pools, transposed convolutions and upsampling."""
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "max", "transposed", "nearest", "bilinear"]))
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        if kind == "conv":
            layers.append(nn.Conv2d(1, 1, k, stride=s, padding=draw(st.integers(0, 1))))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, stride=s, padding=draw(st.integers(0, k // 2))))
        elif kind == "transposed":
            p = draw(st.integers(0, (k - 1) // 2))
            layers.append(nn.ConvTranspose2d(1, 1, k, stride=s, padding=p))
        else:
            layers.append(nn.Upsample(scale_factor=s, mode=kind))
    return nn.Sequential(*layers), draw(st.integers(5, 14)), draw(st.integers(5, 14))


@settings(max_examples=80, deadline=None)
@given(stacks(), st.data())
def test_every_unit_lies_inside_its_field_going_down_and_up(stack, data):
    model, height, width = stack
    try:
        out = model(torch.zeros(1, 1, height, width))
    except RuntimeError:
        assume(False)
    assume(0 < out.shape[-1] <= 40 and 0 < out.shape[-2] <= 40)
    last = summarize(model, (1, height, width)).layers[-1]
    i = data.draw(st.integers(0, out.shape[-2] - 1))
    j = data.draw(st.integers(0, out.shape[-1] - 1))
    seen = influence(positive_copy(model), (1, height, width), last.name, (0, i, j))
    box = box_mask(last.receptive_field.box(i, j, height, width), height, width)
    assert not (seen & ~box).any()
