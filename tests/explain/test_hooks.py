"""Activation capture: values equal a plain forward pass, hooks never outlive the helper."""

from __future__ import annotations

import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.explain.hooks import capture, hooked, layer_output, leaf_layers
from app.nets.names import UnknownName
from app.nets.registry import get_model, get_model_spec
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, network_terms


def hooks_left(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def lenet_by_hand(model, x):
    """LeNet-5's layers computed with torch.nn.functional, one by one."""
    out = {}
    out["conv1"] = F.conv2d(x, model.conv1.weight, model.conv1.bias)
    out["tanh1"] = torch.tanh(out["conv1"])
    out["pool1"] = F.avg_pool2d(out["tanh1"], 2)
    out["conv2"] = F.conv2d(out["pool1"], model.conv2.weight, model.conv2.bias)
    out["tanh2"] = torch.tanh(out["conv2"])
    out["pool2"] = F.avg_pool2d(out["tanh2"], 2)
    out["conv3"] = F.conv2d(out["pool2"], model.conv3.weight, model.conv3.bias)
    out["tanh3"] = torch.tanh(out["conv3"])
    out["flatten"] = out["tanh3"].flatten(1)
    out["fc1"] = F.linear(out["flatten"], model.fc1.weight, model.fc1.bias)
    out["tanh4"] = torch.tanh(out["fc1"])
    out["fc2"] = F.linear(out["tanh4"], model.fc2.weight, model.fc2.bias)
    return out


def test_lenet_activations_equal_the_functional_computation():
    model = get_model("lenet5")
    x = get_model_spec("lenet5").preprocess(sample("mnist-5.png"))[None]
    captured = capture(model, x)
    expected = lenet_by_hand(model, x)
    assert list(captured.activations) == list(expected)  # execution order
    for name, value in expected.items():  # the roundings of every layer up to this one
        terms = network_terms(model, upto=name)
        assert_close(captured.activations[name], value, terms=terms)
    assert_close(captured.output, expected["fc2"], terms=network_terms(model))
    assert hooks_left(model) == 0


def test_efficientnet_activations_equal_a_plain_forward():
    model = get_model("efficientnet-lite0")
    x = get_model_spec("efficientnet-lite0").preprocess(sample("coffee.png"))[None]
    captured = capture(model, x)
    with torch.inference_mode():
        plain = model(x)
        stem = model.stem(x)
        block2 = model.blocks[:3](stem)
        head = model.head(model.blocks(stem))
        expand = model.blocks[5].expand.conv(model.blocks[:5](stem))
    assert torch.equal(captured.output, plain)
    assert torch.equal(captured.activations["stem.act"], stem)
    assert torch.equal(captured.activations["blocks.2.add"], block2)  # after the residual sum
    assert torch.equal(captured.activations["head.act"], head)
    assert torch.equal(captured.activations["blocks.5.expand.conv"], expand)
    assert captured.activations["blocks.5.expand.conv"].shape == (1, 240, 28, 28)
    assert list(captured.activations) == leaf_layers(model)
    assert hooks_left(model) == 0


def test_chosen_layers_only():
    model = get_model("simple-cnn")
    x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    captured = capture(model, x, ["pool2", "conv1"])
    assert list(captured.activations) == ["conv1", "pool2"]  # execution order, not asked order
    assert captured.activations["pool2"].shape == (2, 16, 7, 7)


def test_no_hook_survives_an_error_in_the_forward_pass():
    model = get_model("lenet5")
    with pytest.raises(RuntimeError):
        capture(model, torch.zeros(1, 1, 20, 20))  # too small for conv3
    assert hooks_left(model) == 0
    with pytest.raises(ZeroDivisionError), hooked(model):
        model(torch.zeros(1, 1, 32, 32))
        1 / 0  # noqa: B018
    assert hooks_left(model) == 0


def test_no_hook_survives_an_unknown_layer():
    model = get_model("lenet5")
    with pytest.raises(UnknownName, match="Unknown layer 'conv9'") as caught:
        capture(model, torch.zeros(1, 1, 32, 32), ["conv1", "conv9"])
    assert caught.value.known == leaf_layers(model)
    assert "conv1, tanh1, pool1" in str(caught.value)
    assert hooks_left(model) == 0


def test_one_layer_stops_the_forward_pass_there():
    model = get_model("efficientnet-lite0")
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(1)) * 2 - 1
    ran = []
    handle = model.head.conv.register_forward_hook(lambda *args: ran.append("head"))
    try:
        value = layer_output(model, x, "blocks.3.depthwise.conv")
    finally:
        handle.remove()
    assert ran == []  # nothing after the layer was computed
    # the same modules on the same input, up to the layer
    assert torch.equal(value, capture(model, x).activations["blocks.3.depthwise.conv"])
    assert value.shape == (1, 144, 28, 28)  # 24 → 144 channels, stride 2: 56 → 28
    assert hooks_left(model) == 0
    with pytest.raises(UnknownName):
        layer_output(model, x, "blocks.99")


def test_a_container_can_be_captured_too():
    model = get_model("efficientnet-lite0")
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(2)) * 2 - 1
    block = layer_output(model, x, "blocks.4")
    with torch.inference_mode():
        assert torch.equal(block, model.blocks[:5](model.stem(x)))


def test_a_module_run_twice_is_recorded_twice():
    relu = nn.ReLU()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu)
    captured = capture(model, torch.randn(1, 3))
    assert list(captured.activations) == ["0", "1", "2", "1 (2)"]
    assert torch.equal(captured.activations["1 (2)"], captured.output)


def test_one_call_of_a_module_run_twice_can_be_asked_for_alone():
    relu = nn.ReLU()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), relu, nn.Linear(3, 3), relu, nn.Linear(3, 2))
    x = torch.randn(1, 3)
    with torch.inference_mode():
        second = relu(model[2](relu(model[0](x))))
    assert list(capture(model, x, ["1 (2)"]).activations) == ["1 (2)"]
    assert torch.equal(capture(model, x, ["1 (2)"]).activations["1 (2)"], second)
    assert list(capture(model, x, ["1"]).activations) == ["1"]  # the first call alone
    assert torch.equal(layer_output(model, x, "1 (2)"), second)
    for wrong in ("1 (3)", "1 (1)", "7 (2)", "1 (x)"):
        with pytest.raises(ValueError, match=r"did not run|Unknown layer"):
            layer_output(model, x, wrong)
    assert hooks_left(model) == 0


def test_concurrent_captures_on_one_model_do_not_mix():
    model = get_model("simple-cnn")
    inputs = [
        torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(6)
    ]
    expected = [capture(model, x).activations for x in inputs]
    results: dict[int, dict[str, torch.Tensor]] = {}
    barrier = threading.Barrier(len(inputs))

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(20):
            results[i] = capture(model, inputs[i]).activations

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, activations in results.items():
        assert list(activations) == list(expected[i])
        for name, value in activations.items():  # within rounding: another thread may split
            terms = network_terms(model, upto=name)  # a sum otherwise; another input: far off
            assert_close(value, expected[i][name], terms=terms, msg=f"{i} {name}")
    assert hooks_left(model) == 0


def test_a_leaf_output_stops_the_backward_pass_at_the_layer():
    model = get_model("lenet5")
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(3), requires_grad=True)
    with torch.enable_grad(), hooked(model, ["conv2"], as_leaf=True) as record:
        out = model(x)
        leaf = record.outputs["conv2"]
        assert leaf.is_leaf and leaf.requires_grad
        (grad,) = torch.autograd.grad(out[:, 3].sum(), leaf)
    with torch.enable_grad():
        features = F.avg_pool2d(torch.tanh(model.conv1(x.detach())), 2)
        conv2 = model.conv2(features).detach().requires_grad_()
        rest = model.fc2(model.tanh4(model.fc1(model.flatten(model.tanh3(model.conv3(
            model.pool2(model.tanh2(conv2))))))))  # fmt: skip
        (expected,) = torch.autograd.grad(rest[:, 3].sum(), conv2)
    assert_close(grad, expected, terms=network_terms(model, passes=2))  # forward and backward
    assert x.grad is None and hooks_left(model) == 0
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())


def test_layer_output_with_grad_can_be_differentiated():
    model = get_model("simple-cnn")
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(4), requires_grad=True)
    value = layer_output(model, x, "conv2", grad=True)
    (grad,) = torch.autograd.grad(value[0, 4].mean(), x)
    with torch.enable_grad():
        expected_value = model.conv2(model.pool1(model.relu1(model.conv1(x))))
        (expected,) = torch.autograd.grad(expected_value[0, 4].mean(), x)
    # forward to conv2 and back, and the mean over its 14·14 outputs
    terms = network_terms(model, passes=2, upto="conv2") + 14 * 14
    assert_close(grad, expected, terms=terms)
    assert not layer_output(model, x, "conv2").requires_grad  # inference by default
    assert hooks_left(model) == 0
