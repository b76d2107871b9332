"""A user's own network made safe (the known traps) and preprocessed for any input shape:
against plain torch on the user's original module, and every refusal's sentence."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from torch import nn

import convscope
from app.nets.custom.prepare import NetworkError, prepare
from app.nets.custom.preprocessing import IMAGENET_MEAN, IMAGENET_STD, fit_picture
from tests.utils.own_networks import INPUT, SoftmaxDigits, tricky_module
from tests.utils.tolerance import assert_close, network_terms


def reference(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The user's module as they would run it for inference: an eval copy, no gradient."""
    with torch.no_grad():
        return copy.deepcopy(model).eval()(x)


def test_the_tricky_network_is_made_safe_and_computes_the_same():
    original = tricky_module()
    prepared = prepare(original, INPUT)
    assert original.training and original.relu.inplace  # the user's module is untouched
    model = prepared.module
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert not any(getattr(m, "inplace", False) for m in model.modules())
    assert prepared.num_classes == 5
    text = " ".join(prepared.notes)
    assert "train mode" in text and "relu" in text and "torch.fx" in text
    x = torch.randn(3, *INPUT)
    terms = network_terms(original, passes=1)
    assert_close(model(x), reference(original, x), terms=terms)
    # BatchNorm's output is what BatchNorm computed: the residual sum no longer changes it
    seen = {}
    model.bn.register_forward_hook(lambda m, a, out: seen.update(bn=out))
    model(x)
    conv = F.conv2d(F.relu(F.conv2d(x, original.stem.weight, original.stem.bias, padding=1)),
                    original.conv_a.weight, original.conv_a.bias, padding=1)  # fmt: skip
    bn = original.bn
    expected = F.batch_norm(conv, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps)
    assert_close(seen["bn"], expected, terms=terms)
    # gradients flow with backward hooks on every layer (what in-place ReLUs break)
    x.requires_grad_()
    handles = [
        m.register_full_backward_hook(lambda *a: None) for m in model.modules() if m is not model
    ]
    model(x)[:, 1].sum().backward()
    for handle in handles:
        handle.remove()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_a_final_softmax_is_replaced_and_the_probabilities_are_the_same():
    torch.manual_seed(0)
    original = SoftmaxDigits()
    prepared = prepare(original, (1, 28, 28))
    assert isinstance(prepared.module.classifier[3], nn.Identity)
    assert "Softmax" in " ".join(prepared.notes)
    x = torch.randn(4, 1, 28, 28)
    assert_close(
        torch.softmax(prepared.module(x), 1), reference(original, x), terms=network_terms(original)
    )


class Functional(nn.Module):
    """Probabilities from F.softmax, and a dropout left on by F.dropout's default."""

    def __init__(self, end: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 6)
        self.end = end

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.dropout(self.conv(x), 0.3).mean(dim=(2, 3))
        z = self.fc(z)
        return F.softmax(z, dim=1) if self.end == "softmax" else F.log_softmax(z, dim=1)


@pytest.mark.parametrize("end", ["softmax", "log_softmax"])
def test_functional_probabilities_and_a_dropout_left_on(end):
    torch.manual_seed(0)
    original = Functional(end).eval()
    prepared = prepare(original, (3, 16, 12))
    text = " ".join(prepared.notes)
    assert "dropout" in text
    assert ("probabilities" in text) == (end == "softmax")
    x = torch.randn(2, 3, 16, 12)
    logits = original.fc(original.conv(x).mean(dim=(2, 3)))
    assert_close(
        torch.softmax(prepared.module(x), 1),
        torch.softmax(logits, 1),
        terms=network_terms(original) + 6,
    )


class Outputs(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.kind = kind

    def forward(self, x: torch.Tensor):  # type: ignore[no-untyped-def]
        z = self.conv(x)
        if self.kind == "tuple":
            return z.mean((2, 3)), z
        if self.kind == "dict":
            return {"logits": z.mean((2, 3))}
        return z  # (N, 3, H, W): not class scores


@pytest.mark.parametrize(
    ("kind", "words"),
    [("tuple", "returns a tuple of 2"), ("dict", "returns a dict (keys 'logits')"),
     ("maps", "returns a tensor of shape 2×3×6×6")],
)  # fmt: skip
def test_outputs_that_are_not_class_scores_are_refused_naming_what_is_supported(kind, words):
    with pytest.raises(NetworkError) as error:
        prepare(Outputs(kind), (1, 8, 8))
    assert words in str(error.value)
    assert "one tensor of class scores" in str(error.value) and "(N, classes)" in str(error.value)


def test_a_network_that_fails_on_the_input_shape_says_so():
    with pytest.raises(NetworkError, match=r"fails on a batch of shape 2×3×8×8"):
        prepare(nn.Sequential(nn.Conv2d(1, 2, 3)), (3, 8, 8))


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv(x)
        if x.shape[-1] > 4:  # data-dependent Python control flow: torch.fx cannot trace it
            z.relu_()
        return z.mean((2, 3))


def test_in_place_operations_that_cannot_be_rewritten_are_refused_with_a_sentence():
    with pytest.raises(NetworkError, match=r"in-place operations on conv.*write them out of place"):
        prepare(Untraceable(), (1, 8, 8))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"name": "My Net"}, "lowercase letters, digits and dashes"),
        ({"name": "trained-1234"}, "training lab"),
        ({"input_shape": (2, 8, 8)}, "1 (gray) or 3 (RGB)"),
        ({"input_shape": (1, 8)}, "(C, H, W)"),
        ({"input_shape": (1, 2, 8)}, "from 4 to 1024"),
        ({"preprocess": "imagenet"}, "needs an RGB input"),
        ({"preprocess": "cifar"}, "unknown preprocessing 'cifar'"),
        ({"preprocess": (0.5, [0.2, 0.3])}, "has 2 numbers; the input has 1 channels"),
        ({"preprocess": {"mean": 0.5}}, 'exactly the keys "mean" and "std"'),
        ({"preprocess": (0.5, 0)}, "std must be positive"),
        ({"preprocess": lambda x: x[..., :4]}, "must return a tensor of the shape"),
        ({"module": "not a module"}, "torch.nn.Module"),
    ],
)
def test_descriptions_that_cannot_work_are_refused_with_a_sentence(fields, words):
    given_fields = {"module": tricky_module(), "name": "mine", "input_shape": INPUT, **fields}
    with pytest.raises(NetworkError) as error:
        convscope.Network(**given_fields)
    assert words in str(error.value)


def test_labels_must_match_the_outputs_and_default_to_class_numbers():
    wrong = convscope.Network(tricky_module(), name="mine", input_shape=INPUT, labels=["a", "b"])
    with pytest.raises(NetworkError, match="2 labels were given, but the network returns 5"):
        wrong.prepared  # noqa: B018
    plain = convscope.Network(tricky_module(), name="mine", input_shape=INPUT)
    assert plain.class_labels(plain.prepared.num_classes) == tuple(f"class {i}" for i in range(5))


@given(
    width=st.integers(1, 300), height=st.integers(1, 300),
    size=st.tuples(st.integers(4, 64), st.integers(4, 64)), channels=st.sampled_from([1, 3]),
)  # fmt: skip
def test_the_picture_is_the_central_box_of_the_input_aspect(width, height, size, channels):
    """Against a crop computed by hand: the central box with the input's aspect ratio."""
    rows, cols = size
    image = Image.effect_noise((width, height), 60).convert("RGB")
    picture = fit_picture(image, channels, rows, cols)
    assert picture.size == (cols, rows) and picture.mode == ("L" if channels == 1 else "RGB")
    scale = min(width / cols, height / rows)
    box_w, box_h = cols * scale, rows * scale
    left, top = (width - box_w) / 2, (height - box_h) / 2
    source = image.convert("L") if channels == 1 else image
    box = (max(left, 0), max(top, 0), min(left + box_w, width), min(top + box_h, height))
    expected = source.resize((cols, rows), Image.Resampling.BICUBIC, box=box)
    assert picture.tobytes() == expected.tobytes()


def test_imagenet_and_mean_std_scaling_against_plain_arithmetic():
    net = convscope.Network(
        nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        name="rgb", input_shape=(3, 10, 14), preprocess="imagenet",
    )  # fmt: skip
    unit = torch.rand(3, 10, 14)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    assert_close(net.preprocessing.scale(unit), (unit - mean) / std, terms=2)
    assert_close(net.preprocessing.scale(unit[None]), ((unit - mean) / std)[None], terms=2)
    custom = convscope.Network(
        nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        name="rgb", input_shape=(3, 10, 14), preprocess=lambda v: v * 2 - 1,
    )  # fmt: skip
    assert torch.equal(custom.preprocessing.scale(unit), unit * 2 - 1)
    assert "your function" in custom.preprocessing.description
