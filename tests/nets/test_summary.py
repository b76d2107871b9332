"""The architecture summary against a real forward pass and a gradient probe.

The probe finds the input pixels that can influence one output unit: on a copy of the
network whose weights are all positive (1/fan-in, zero bias, BatchNorm an identity, max
pools turned into average pools so that every pixel of a window passes gradient), the
gradient of the unit with respect to an all-ones input is non-zero exactly there.
"""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from app.explain.hooks import capture, hooked, leaf_layers
from app.nets.layers import Conv2dSame
from app.nets.names import UnknownName
from app.nets.registry import get_model_spec, get_network
from app.nets.summary import summarize


def positive_copy(model: nn.Module) -> nn.Module:
    probe = copy.deepcopy(model).double().eval()
    for name, module in list(probe.named_modules()):
        if isinstance(module, nn.MaxPool2d):
            parent = probe.get_submodule(name.rpartition(".")[0]) if "." in name else probe
            avg = nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
            setattr(parent, name.rpartition(".")[2], avg)
        elif isinstance(module, nn.Conv2d | nn.Linear):
            with torch.no_grad():
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.weight.fill_(1.0)
                module.bias.zero_()
                module.running_mean.zero_()
                module.running_var.fill_(1.0 - module.eps)
    return probe.requires_grad_(False)


def influence(probe: nn.Module, shape, layer: str, unit: tuple[int, ...]) -> torch.Tensor:
    """(H, W) bool: the input pixels whose gradient on ``layer``'s ``unit`` is non-zero."""
    x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    with hooked(probe, [layer]) as record:
        probe(x)
    (grad,) = torch.autograd.grad(record.outputs[layer][(0, *unit)], x)
    return grad[0].abs().sum(0) > 0


def box_mask(box, height, width) -> torch.Tensor:
    top, left, bottom, right = box
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[top:bottom, left:right] = True
    return mask


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn", "efficientnet-lite0"])
def test_parameters_and_shapes_agree_with_the_model(name):
    spec = get_model_spec(name)
    model = spec.builder().eval()
    summary = summarize(model, spec.input_shape)
    assert summary.total_parameters == sum(p.numel() for p in model.parameters())
    assert sum(row.parameters for row in summary.layers) == summary.total_parameters
    x = torch.randn(1, *spec.input_shape, generator=torch.Generator().manual_seed(0))
    captured = capture(model, x)
    assert [row.name for row in summary.layers] == list(captured.activations)
    for row in summary.layers:
        assert row.output_shape == tuple(captured.activations[row.name].shape[1:])
    assert summary.layers[-1].output_shape == (spec.num_classes,)
    modules = dict(model.named_modules())
    for row in summary.layers:
        assert row.type == type(modules[row.name]).__name__
        assert row.parameters == sum(p.numel() for p in modules[row.name].parameters())
    assert set(summary.to_dict()) == {
        "input_shape", "layers", "nodes", "total_parameters", "total_macs", "total_neurons",
        "total_activation_bytes",
    }  # fmt: skip


def test_lenet_as_in_the_paper():
    summary = summarize(get_model_spec("lenet5").builder(), (1, 32, 32))
    rows = {row.name: row for row in summary.layers}
    assert [row.output_shape for row in summary.layers[:7:3]] == [
        (6, 28, 28),
        (16, 10, 10),
        (120, 1, 1),
    ]
    assert [rows[n].parameters for n in ("conv1", "conv2", "conv3", "fc1", "fc2")] == [
        156,
        2416,
        48120,
        10164,
        850,
    ]
    assert rows["conv1"].macs == 28 * 28 * 6 * 25
    assert rows["conv2"].macs == 10 * 10 * 16 * 6 * 25
    assert rows["fc1"].macs == 120 * 84
    assert summary.total_macs == 416_520
    assert rows["conv3"].receptive_field.size == (32, 32)  # C5 sees the whole digit
    assert rows["pool2"].receptive_field.jump == (4, 4)
    assert rows["conv1"].hyperparameters == {
        "in_channels": 1,
        "out_channels": 6,
        "kernel": [5, 5],
        "stride": [1, 1],
        "padding": [0, 0],
        "dilation": [1, 1],
        "groups": 1,
        "bias": True,
    }
    assert rows["fc1"].receptive_field.is_global


def test_efficientnet_rows():
    summary = summarize(get_model_spec("efficientnet-lite0").builder(), (3, 224, 224))
    rows = {row.name: row for row in summary.layers}
    assert rows["stem.conv"].hyperparameters["padding"] == {"same": [0, 1, 0, 1]}
    assert rows["blocks.1.depthwise.conv"].hyperparameters["groups"] == 96
    assert rows["blocks.1.depthwise.conv"].macs == 56 * 56 * 96 * 9
    assert rows["blocks.2.add"].hyperparameters == {
        "inputs": ["blocks.2.project.bn", "blocks.1.project.bn"]
    }
    assert "blocks.1.add" not in rows  # stride 2: no shortcut
    assert rows["head.act"].output_shape == (1280, 7, 7)
    assert summary.total_macs == sum(row.macs for row in summary.layers)
    assert 380e6 < summary.total_macs < 410e6  # the paper's ~0.4 B multiply-adds


PROBES = {
    "lenet5": (
        (1, 32, 32),
        [("conv1", (2, 0, 0)), ("pool1", (0, 13, 6)), ("conv2", (5, 3, 9)), ("conv3", (7, 0, 0))],
    ),
    "simple-cnn": (
        (1, 28, 28),
        [("conv1", (0, 0, 0)), ("pool1", (1, 13, 13)), ("conv2", (2, 5, 0)), ("pool2", (3, 3, 6))],
    ),
    "efficientnet-lite0": (
        (3, 64, 64),
        [
            ("stem.conv", (0, 31, 31)),
            ("blocks.1.depthwise.conv", (0, 15, 15)),
            ("blocks.2.add", (0, 7, 3)),
            ("blocks.3.depthwise.act", (0, 0, 3)),
            ("blocks.5.project.bn", (0, 2, 2)),
        ],
    ),
}


@pytest.mark.parametrize("name", list(PROBES))
def test_receptive_fields_match_a_gradient_probe(name):
    shape, units = PROBES[name]
    model = get_model_spec(name).builder()
    rows = {row.name: row for row in summarize(model, shape).layers}
    probe = positive_copy(model)
    for layer, (channel, i, j) in units:
        seen = influence(probe, shape, layer, (channel, i, j))
        expected = box_mask(rows[layer].receptive_field.box(i, j, *shape[1:]), *shape[1:])
        assert torch.equal(seen, expected), f"{name} {layer} ({i}, {j})"


@st.composite
def stacks(draw):
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "same", "max", "avg"]))
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 3))
        if kind == "conv":
            p, d = draw(st.integers(0, 2)), draw(st.integers(1, 2))
            layers.append(nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d))
        elif kind == "same":
            layers.append(Conv2dSame(1, 1, k, stride=s, dilation=draw(st.integers(1, 2))))
        else:
            p = draw(st.integers(0, k // 2))
            pool = nn.MaxPool2d if kind == "max" else nn.AvgPool2d
            layers.append(pool(k, stride=s, padding=p))
    return nn.Sequential(*layers), draw(st.integers(6, 20)), draw(st.integers(6, 20))


@settings(max_examples=150, deadline=None)
@given(stacks(), st.data())
def test_receptive_fields_of_any_stack_match_the_probe(stack, data):
    model, height, width = stack
    try:
        out = model(torch.zeros(1, 1, height, width))
    except RuntimeError:
        assume(False)  # the stack does not fit the input
    assume(out.shape[-1] > 0 and out.shape[-2] > 0)
    rows = summarize(model, (1, height, width)).layers
    probe = positive_copy(model)
    last = rows[-1]
    i = data.draw(st.integers(0, out.shape[-2] - 1))
    j = data.draw(st.integers(0, out.shape[-1] - 1))
    seen = influence(probe, (1, height, width), last.name, (0, i, j))
    box = box_mask(last.receptive_field.box(i, j, height, width), height, width)
    assert not (seen & ~box).any()  # nothing outside the field can influence the unit
    gapless = all(_first(getattr(m, "dilation", 1)) == 1 and _k(m) >= _s(m) for m in model)
    # no holes (no dilation, no stride beyond the kernel) and no input rows dropped by a
    # floor division: then the field is exactly the box
    if gapless and tiles_exactly(model, height, width) and seen.any():
        assert torch.equal(seen, box)


def tiles_exactly(model: nn.Module, height: int, width: int) -> bool:
    """Whether every layer's windows end at the last row and column of its padded input.

    Otherwise (e.g. a 3×3 pool of stride 2 over 6 rows) the last rows are never read, and
    the clipped box of the recurrence includes pixels that influence nothing.
    """
    captured = capture(model, torch.zeros(1, 1, height, width), keep_inputs=True)
    for name, (x,) in captured.inputs.items():
        module = model.get_submodule(name)
        for axis in (0, 1):
            size = x.shape[2 + axis]
            k, s = _pair(module.kernel_size)[axis], _pair(module.stride)[axis]
            d = _pair(getattr(module, "dilation", 1))[axis]
            if isinstance(module, Conv2dSame):
                left, right, top, bottom = module.padding_for(x.shape[2], x.shape[3])
                padding = (top + bottom, left + right)[axis]
            else:
                padding = 2 * _pair(module.padding)[axis]
            if (size + padding - d * (k - 1) - 1) % s:
                return False
    return True


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _first(value):
    return value if isinstance(value, int) else value[0]


def _k(m):
    return _first(m.kernel_size)


def _s(m):
    return _first(m.stride)


def test_every_leaf_is_a_row_in_execution_order():
    model = get_model_spec("efficientnet-lite0").builder()
    names = [row.name for row in summarize(model, (3, 96, 96)).layers]
    assert names == leaf_layers(model)  # registered in the order they run
    assert len(names) == 144 and names[:4] == [
        "stem.conv",
        "stem.bn",
        "stem.act",
        "blocks.0.depthwise.conv",
    ]


def test_the_summary_of_a_registered_model_is_computed_once():
    first = get_network("simple-cnn").summary
    assert get_network("simple-cnn").summary is first
    assert first.total_parameters == get_model_spec("simple-cnn").parameter_count
    with pytest.raises(UnknownName):
        get_network("vgg19")
