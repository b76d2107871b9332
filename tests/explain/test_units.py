"""One activation's computation against torch.nn.functional and the forward pass."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from app.explain.pool_units import pool_unit
from app.explain.units import conv_unit, dense_unit, softmax_steps
from app.nets.registry import get_model, get_model_spec
from app.nets.summary import summarize
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, network_terms


def setup(name: str, image: str):
    spec = get_model_spec(name)
    model = get_model(name)
    return model, spec.preprocess(sample(image)), summarize(model, spec.input_shape)


def conv_bound(unit) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """A convolution unit's float32 sum: its window·kernel products and the bias (terms),
    and the magnitude they add up to (scale)."""
    products = (unit.window.double() * unit.kernel.double()).abs().sum()
    return unit.window.numel() + 1, float(products) + abs(unit.bias)


def batch_norm_bound(bn, channel: int, value: float) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Eval-mode BatchNorm of ``value``, (x − mean)·γ/√(var + ε) + β: var + ε, the root, the
    quotient, the products and sums (terms), and the magnitude of what they add up (scale)."""
    factor = abs(float(bn.weight[channel])) / float((bn.running_var[channel] + bn.eps).sqrt())
    mean, beta = abs(float(bn.running_mean[channel])), abs(float(bn.bias[channel]))
    return 8, (abs(value) + mean) * factor + beta


LENET = setup("lenet5", "mnist-3.png")
SIMPLE = setup("simple-cnn", "mnist-7.png")
EFFICIENTNET = setup("efficientnet-lite0", "chelsea.png")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 15), st.integers(0, 9), st.integers(0, 9))
def test_a_lenet_conv2_unit_is_its_window_times_its_kernel(channel, i, j):
    model, x, summary = LENET
    unit = conv_unit(model, x, summary, "conv2", (channel, i, j))
    with torch.inference_mode():
        pool1 = F.avg_pool2d(torch.tanh(model.conv1(x[None])), 2)[0]  # (6, 14, 14)
    assert torch.equal(unit.window, pool1[:, i : i + 5, j : j + 5])
    assert torch.equal(unit.kernel, model.conv2.weight[channel])
    assert unit.input_channels == tuple(range(6))
    assert torch.equal(unit.partials, (unit.window * unit.kernel).sum(dim=(1, 2)))
    terms, scale = conv_bound(unit)  # two float32 sums of the same 150 products and the bias
    assert unit.value == approx(unit.output, terms=terms, scale=scale)
    reference = F.conv2d(pool1[None], model.conv2.weight, model.conv2.bias)[0, channel, i, j]
    assert unit.output == approx(float(reference), terms=terms, scale=scale)
    assert [(s.layer, s.type) for s in unit.after] == [("tanh2", "Tanh")]
    # tanh moves no value further than its input moved, and rounds once more
    assert unit.after[0].value == approx(float(torch.tanh(reference)), terms=terms + 1, scale=scale)
    assert unit.receptive_field == (2 * i, 2 * j, 2 * i + 14, 2 * j + 14)


@pytest.mark.parametrize("position", [(0, 0, 0), (5, 111, 111), (31, 0, 111)])
def test_efficientnet_stem_units_with_tensorflow_padding(position):
    model, x, summary = EFFICIENTNET
    unit = conv_unit(model, x, summary, "stem.conv", position)
    channel, i, j = position
    padded = F.pad(x, (0, 1, 0, 1))  # SAME, stride 2 on 224: one zero row/column after
    assert torch.equal(unit.window, padded[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3])
    assert unit.window_origin == (2 * i, 2 * j)
    terms, scale = conv_bound(unit)
    assert unit.value == approx(unit.output, terms=terms, scale=scale)
    bn = model.stem.bn
    normalised = (unit.output - float(bn.running_mean[channel])) / float(
        (bn.running_var[channel] + bn.eps).sqrt()
    ) * float(bn.weight[channel]) + float(bn.bias[channel])
    assert [s.layer for s in unit.after] == ["stem.bn", "stem.act"]
    # the layer's BatchNorm of the very output (float32) against this one (float64)
    bn_terms, bn_scale = batch_norm_bound(bn, channel, unit.output)
    assert unit.after[0].value == approx(normalised, terms=bn_terms, scale=bn_scale)
    relu6 = min(max(normalised, 0), 6)  # moves no value further than its input moved
    assert unit.after[1].value == approx(relu6, terms=bn_terms, scale=bn_scale)
    numbers = unit.after[0].numbers  # what the page writes into (x − mean) / √(var + ε) · γ + β
    assert numbers == {
        "mean": float(bn.running_mean[channel]),
        "var": float(bn.running_var[channel]),
        "eps": bn.eps,
        "gamma": float(bn.weight[channel]),
        "beta": float(bn.bias[channel]),
    }
    written = (unit.output - numbers["mean"]) / (numbers["var"] + numbers["eps"]) ** 0.5
    written = written * numbers["gamma"] + numbers["beta"]
    assert written == approx(unit.after[0].value, terms=bn_terms, scale=bn_scale)
    assert unit.after[1].numbers is None
    trace = unit.trace()  # float64 from the float32 window and kernel
    assert trace.output.shape == (1, 1, 1)
    assert float(trace.output) == approx(unit.value, terms=terms, scale=scale)
    step = trace.to_dict()["steps"][0]
    per_channel = float((unit.window * unit.kernel).abs().sum(dim=(1, 2)).max())
    assert len(step["terms"]) == 27
    assert step["partials"] == approx(unit.partials.tolist(), terms=3 * 3, scale=per_channel)


def test_a_depthwise_unit_reads_one_channel():
    model, x, summary = EFFICIENTNET
    unit = conv_unit(model, x, summary, "blocks.4.depthwise.conv", (100, 10, 20))
    assert unit.input_channels == (100,) and unit.window.shape == (1, 5, 5)
    terms, scale = conv_bound(unit)
    assert unit.value == approx(unit.output, terms=terms, scale=scale)
    assert [s.layer for s in unit.after] == ["blocks.4.depthwise.bn", "blocks.4.depthwise.act"]


def test_bad_clicks_are_refused():
    model, x, summary = LENET
    with pytest.raises(ValueError, match="channel must be from 0 to 15 in conv2"):
        conv_unit(model, x, summary, "conv2", (16, 0, 0))
    with pytest.raises(ValueError, match="column must be from 0 to 9 in conv2"):
        conv_unit(model, x, summary, "conv2", (0, 0, 10))
    with pytest.raises(ValueError, match="pool1 is a AvgPool2d layer, not a convolution"):
        conv_unit(model, x, summary, "pool1", (0, 0, 0))
    with pytest.raises(ValueError, match="conv1 is a Conv2d layer, not a dense layer"):
        dense_unit(model, x, summary, "conv1", 0)
    with pytest.raises(ValueError, match="unit must be from 0 to 83 in fc1"):
        dense_unit(model, x, summary, "fc1", 84)


def test_a_dense_unit_of_lenet():
    model, x, summary = LENET
    unit = dense_unit(model, x, summary, "fc1", 7)
    with torch.inference_mode():
        flat = torch.tanh(
            model.conv3(
                F.avg_pool2d(
                    torch.tanh(model.conv2(F.avg_pool2d(torch.tanh(model.conv1(x[None])), 2))), 2
                )
            )
        ).flatten(1)[0]
    # float32 through every layer up to the flatten, maybe in other kernels
    assert_close(unit.inputs, flat, terms=network_terms(model, upto="flatten"))
    assert torch.equal(unit.products, unit.inputs * model.fc1.weight[7])  # the same products
    # the 120 products and the bias, after every earlier layer's roundings
    terms = network_terms(model, upto="fc1")
    scale = float((flat * model.fc1.weight[7]).abs().sum() + model.fc1.bias[7].abs())
    expected = float(F.linear(flat, model.fc1.weight, model.fc1.bias)[7])
    assert unit.value == approx(expected, terms=terms, scale=scale)
    assert unit.output == approx(unit.value, terms=120 + 1, scale=scale)  # the same inputs
    assert [s.layer for s in unit.after] == ["tanh4"]
    assert dense_unit(model, x, summary, "fc2", 3).after == ()


def test_softmax_written_out():
    logits = torch.tensor([2.0, -1.0, 0.5, 30.0])
    steps = softmax_steps(logits)
    assert steps["max"] == 30.0
    # float64: each probability an exp, a sum of 4 and a quotient; then their sum of 4
    assert sum(steps["probabilities"]) == approx(1.0, terms=4 + 2 + 4, dtype=torch.float64)
    expected = torch.softmax(logits.double(), 0).tolist()
    assert steps["probabilities"] == approx(expected, terms=4 + 2, dtype=torch.float64)
    total = sum(steps["exp"])  # 4 positive terms, summed in another order
    assert steps["exp"][3] == 1.0 and steps["sum"] == approx(total, terms=4, dtype=torch.float64)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 15), st.integers(0, 6), st.integers(0, 6))
def test_a_max_pool_unit_is_its_window_and_winner(channel, i, j):
    model, x, summary = SIMPLE
    unit = pool_unit(model, x, summary, "pool2", (channel, i, j))
    with torch.inference_mode():
        relu2 = F.relu(
            model.conv2(F.max_pool2d(F.relu(model.conv1(x[None])), 2))
        )  # (1, 16, 14, 14)
        pooled, indices = F.max_pool2d(relu2, 2, return_indices=True)
    assert torch.equal(unit.window, relu2[0, channel, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2])
    assert unit.kind == "max" and unit.window_origin == (2 * i, 2 * j)
    r, c = unit.winner
    assert (2 * i + r) * 14 + (2 * j + c) == int(indices[0, channel, i, j])  # torch's winner
    assert unit.value == float(pooled[0, channel, i, j]) == unit.output
    assert unit.receptive_field == summary.layer("pool2").receptive_field.box(i, j, 28, 28)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 5), st.integers(0, 13), st.integers(0, 13))
def test_an_average_pool_unit_is_the_mean_of_its_window(channel, i, j):
    model, x, summary = LENET
    unit = pool_unit(model, x, summary, "pool1", (channel, i, j))
    with torch.inference_mode():
        tanh1 = torch.tanh(model.conv1(x[None]))  # (1, 6, 28, 28)
        pooled = F.avg_pool2d(tanh1, 2)
    assert torch.equal(unit.window, tanh1[0, channel, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2])
    assert unit.kind == "average" and unit.winner is None and unit.divisor == 4
    # float64 against float32: a sum of 4 values that may cancel, and the division
    scale = float(unit.window.abs().mean())
    assert unit.value == approx(float(pooled[0, channel, i, j]), terms=4 + 1, scale=scale)
    assert unit.output == approx(unit.value, terms=4 + 1, scale=scale)


def test_the_global_average_pool_of_efficientnet():
    model, x, summary = EFFICIENTNET
    unit = pool_unit(model, x, summary, "pool", (100, 0, 0))
    with torch.inference_mode():
        head = model.head(model.blocks(model.stem(x[None])))  # (1, 1280, 7, 7)
    assert torch.equal(unit.window, head[0, 100])
    assert unit.divisor == 49 and unit.window_origin == (0, 0)
    expected = float(F.adaptive_avg_pool2d(head, 1)[0, 100, 0, 0])
    # float64 against float32: a mean of 49 values, a sum that may cancel, and the division
    scale = float(unit.window.abs().mean())
    assert unit.value == approx(expected, terms=49 + 1, scale=scale)
    assert unit.receptive_field == (0, 0, 224, 224)


def test_pool_units_refuse_other_layers():
    model, x, summary = LENET
    with pytest.raises(ValueError, match="Conv2d is not a pooling layer"):
        pool_unit(model, x, summary, "conv1", (0, 0, 0))
    with pytest.raises(ValueError, match="row must be from 0 to 13 in pool1"):
        pool_unit(model, x, summary, "pool1", (0, 14, 0))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2), st.data())
def test_a_dilated_unit_and_its_trace_match_conv2d(dh, dw, stride, padding, data):
    torch.manual_seed(dh * 100 + dw * 10 + stride)
    conv = torch.nn.Conv2d(2, 3, 3, stride=stride, padding=padding, dilation=(dh, dw))
    model = torch.nn.Sequential(conv, torch.nn.ReLU()).eval().requires_grad_(False)  # as the zoo
    x = torch.randn(2, 12, 12)
    summary = summarize(model, (2, 12, 12))
    _, rows, cols = summary.layer("0").output_shape
    position = (
        data.draw(st.integers(0, 2)),
        data.draw(st.integers(0, rows - 1)),
        data.draw(st.integers(0, cols - 1)),
    )
    unit = conv_unit(model, x, summary, "0", position)
    expected = float(
        F.conv2d(x[None], conv.weight, conv.bias, stride, padding, (dh, dw))[(0, *position)]
    )
    terms, scale = conv_bound(unit)
    assert unit.value == approx(expected, terms=terms, scale=scale)
    assert unit.window.shape == (2, 3, 3)  # the taps the kernel reads, every dilation-th pixel
    trace = unit.trace()
    assert float(trace.output) == approx(expected, terms=terms, scale=scale)
    assert len(trace.to_dict()["steps"][0]["terms"]) == 2 * 3 * 3


class _Block(torch.nn.Module):
    """A ResNet basic block's end: conv → BatchNorm → (+ shortcut) → the ReLU module,
    which also runs before the conv (one module, two calls)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 2, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(2).eval()
        self.relu = torch.nn.ReLU()
        self.head = torch.nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = self.relu(self.bn(self.conv(x)) + x)
        return self.head(y.mean(dim=(2, 3)))


def test_a_units_steps_stop_at_a_residual_sum():
    """conv's unit goes through bn and stops at the sum: the ReLU after it sees bn + shortcut,
    so listing it as the next step would show a value the steps do not explain."""
    torch.manual_seed(3)
    model = _Block().eval().requires_grad_(False)
    x = torch.randn(2, 6, 6)
    summary = summarize(model, (2, 6, 6))
    assert [row.name for row in summary.layers] == ["relu", "conv", "bn", "relu (2)", "head"]
    unit = conv_unit(model, x, summary, "conv", (1, 2, 3))
    assert [step.layer for step in unit.after] == ["bn"]
    with torch.inference_mode():
        shortcut = F.relu(x[None])
        expected = model.bn(model.conv(shortcut))[0, 1, 2, 3]
    assert unit.after[0].value == approx(float(expected), terms=30, scale=float(expected.abs()) + 1)
    assert torch.equal(unit.window, F.pad(shortcut[0], (1, 1, 1, 1))[:, 2:5, 3:6])
