"""The classic architectures (AlexNet, VGG-16, ResNet-18/50, U-Net): parameter counts equal
to torchvision's, multiply-adds equal to PyTorch's own FLOP counter and within 1% of
torchvision's published GFLOPS, shapes equal to a real forward pass, receptive fields
against a gradient probe, and untrained weights that are reproducible and said to be."""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from app.explain.hooks import capture
from app.nets.classic.resnet import resnet18
from app.nets.classic.unet import UNet
from app.nets.registry import build_model, get_model_spec
from app.nets.summary import summarize
from tests.nets.test_summary import box_mask, influence, positive_copy

#: torchvision's model cards: parameters and GFLOPS (multiply-adds, 224×224).
TORCHVISION = {
    "alexnet": (61_100_840, 0.71),
    "vgg16": (138_357_544, 15.47),
    "resnet18": (11_689_512, 1.81),
    "resnet50": (25_557_032, 4.09),
}


@pytest.mark.parametrize("name", list(TORCHVISION))
def test_parameters_and_multiply_adds_equal_torchvision(name):
    spec = get_model_spec(name)
    parameters, gflops = TORCHVISION[name]
    summary = spec.summary
    assert spec.parameter_count == summary.total_parameters == parameters
    assert sum(row.parameters for row in summary.nodes) == parameters
    assert summary.total_macs == pytest.approx(gflops * 1e9, rel=0.01)
    assert summary.shapes_only  # traced on the meta device: no weights built
    assert not spec.trained


@pytest.mark.parametrize("name", [*TORCHVISION, "unet"])
def test_multiply_adds_equal_pytorchs_flop_counter(name):
    spec = get_model_spec(name)
    with torch.device("meta"):
        model = spec.builder()
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, *spec.input_shape, device="meta"))
    assert 2 * spec.summary.total_macs == counter.get_total_flops()  # a FLOP per add, per mul


def test_vgg16_keeps_its_parameters_in_the_dense_layers_and_its_compute_in_the_convolutions():
    rows = get_model_spec("vgg16").summary.nodes
    dense = sum(row.parameters for row in rows if row.type == "Linear")
    conv_macs = sum(row.macs for row in rows if row.type == "Conv2d")
    assert dense == 123_642_856  # 25088·4096 + 4096 + 4096·4096 + 4096 + 4096·1000 + 1000
    assert conv_macs / sum(row.macs for row in rows) > 0.99
    assert [row.output_shape for row in rows if row.type == "MaxPool2d"] == [
        (64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7),
    ]  # fmt: skip


def test_unet_as_in_the_paper():
    summary = get_model_spec("unet").summary
    rows = {row.name: row for row in summary.nodes}
    assert summary.total_parameters == sum(p.numel() for p in UNet().parameters()) == 31_030_658
    assert rows["down1.convs.relu2"].output_shape == (64, 568, 568)
    assert rows["bottom.convs.relu2"].output_shape == (1024, 28, 28)
    assert rows["up4.crop"].output_shape == (512, 56, 56)  # 64×64 cropped to 56×56
    assert rows["up4.concat"].hyperparameters["inputs"] == ["up4.crop", "up4.upconv"]
    assert rows["up4.crop"].inputs == ("down4.convs.relu2", "up4.upconv")
    assert rows["classes"].output_shape == (2, 388, 388)
    assert rows["up1.upconv"].macs == 128 * 196 * 196 * 64 * 2 * 2  # input elements × C_out·k²


@pytest.mark.parametrize("name", [*TORCHVISION, "unet"])
def test_rows_agree_with_a_real_forward_pass(name):
    """On a small input (the shapes do not depend on the weights' values)."""
    spec = get_model_spec(name)
    shape = (3, 64, 64) if name != "unet" else (1, 188, 188)
    if name in {"alexnet", "vgg16"}:
        shape = (3, 64, 64)  # AlexNet and VGG's adaptive pools take any size
    model = spec.builder().eval()
    summary = summarize(model, shape)
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))
    captured = capture(model, x)
    assert [row.name for row in summary.layers] == list(captured.activations)
    for row in summary.layers:
        assert row.output_shape == tuple(captured.activations[row.name].shape[1:])
        assert row.neurons == math.prod(row.output_shape)
        assert row.activation_bytes == 4 * row.neurons


def test_untrained_weights_are_reproducible_and_said_to_be():
    spec = get_model_spec("resnet18")
    assert spec.weights.source.startswith("none: untrained")
    assert spec.to_dict()["trained"] is False and spec.accuracy is None
    first, second = build_model("resnet18"), build_model("resnet18")
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first.state_dict()["stem.conv1.weight"], resnet18().stem.conv1.weight)
    assert get_model_spec("lenet5").trained


def test_resnet_receptive_fields_match_a_gradient_probe():
    model = resnet18()
    shape = (3, 64, 64)
    rows = {row.name: row for row in summarize(model, shape).layers}
    probe = positive_copy(model)
    units = [("stem.maxpool", (0, 5, 9)), ("layer1.1.add", (0, 3, 12)),
             ("layer2.0.add", (0, 4, 2)), ("layer2.0.downsample.1", (0, 7, 7))]  # fmt: skip
    for layer, unit in units:
        seen = influence(probe, shape, layer, unit)
        expected = box_mask(rows[layer].receptive_field.box(*unit[1:], 64, 64), 64, 64)
        assert torch.equal(seen, expected), layer


def test_unet_fields_hold_every_unit_after_going_up():
    """After an up-convolution the field is a box that contains each unit's true field."""
    model = UNet(widths=(1, 1, 1, 1), num_classes=1)
    shape = (1, 572, 572)
    rows = {row.name: row for row in summarize(model, shape).layers}
    probe = positive_copy(model)
    for layer, unit in [("down4.convs.conv2", (0, 3, 60)), ("up4.upconv", (0, 1, 0)),
                        ("up2.convs.conv1", (0, 5, 6)), ("classes", (0, 100, 37)),
                        ("classes", (0, 387, 0))]:  # fmt: skip
        seen = influence(probe, shape, layer, unit)
        field = rows[layer].receptive_field
        box = box_mask(field.box(*unit[1:], 572, 572), 572, 572)
        assert seen.any() and not (seen & ~box).any(), layer
        if field.slack == (0, 0):
            assert torch.equal(seen, box), layer
        else:  # no wider than the box's slack allows, on each axis
            for axis, slack in ((1, field.slack[0]), (0, field.slack[1])):
                wider = int(box.any(axis).sum() - seen.any(axis).sum())
                assert 0 <= wider <= 2 * slack + 1, layer
