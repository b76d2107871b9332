"""The model registry: names, specs, unknown names, cached loading."""

from __future__ import annotations

import pytest
import torch

from app.nets.registry import (
    ModelSpec,
    UnknownName,
    build_model,
    get_model,
    get_model_spec,
    list_models,
    register_model,
)
from app.settings import ROOT
from tests.utils.samples import sample

NAMES = ["lenet5", "simple-cnn", "efficientnet-lite0", "unet-digits"]
#: The lectures' classic architectures, untrained (tests/nets/test_architectures.py).
CLASSICS = ["alexnet", "vgg16", "resnet18", "resnet50", "unet"]


def test_the_zoo_lists_its_trained_models_then_the_classics():
    assert list_models() == NAMES + CLASSICS
    assert [get_model_spec(n).trained for n in list_models()] == [True] * 4 + [False] * 5


def test_an_unknown_name_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="Unknown model 'vgg19'") as caught:
        get_model_spec("vgg19")
    assert isinstance(caught.value, UnknownName)
    assert caught.value.known == NAMES + CLASSICS
    assert str(caught.value) == (
        "Unknown model 'vgg19': the models are lenet5, simple-cnn, efficientnet-lite0, "
        "unet-digits, alexnet, vgg16, resnet18, resnet50, unet"
    )
    with pytest.raises(UnknownName):
        get_model("")
    with pytest.raises(UnknownName):
        get_model_spec(["lenet5"])  # type: ignore[arg-type]


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="already registered"):
        register_model(get_model_spec("lenet5"))


@pytest.mark.parametrize("name", NAMES)
def test_a_spec_agrees_with_its_model(name):
    spec = get_model_spec(name)
    assert isinstance(spec, ModelSpec) and spec.name == name
    model = get_model(name)
    assert spec.parameter_count == sum(p.numel() for p in model.parameters())
    for file in spec.samples:
        assert (ROOT / "static" / "samples" / file).is_file()
        x = spec.preprocess(sample(file))
        assert x.shape == spec.input_shape and x.dtype == torch.float32
    with torch.inference_mode():
        logits = model(spec.preprocess(sample(spec.samples[0]))[None])
    pixels = spec.input_shape[1:] if name == "unet-digits" else ()  # a class per pixel
    assert logits.shape == (1, spec.num_classes, *pixels) == (1, len(spec.labels), *pixels)
    assert spec.paper and spec.description and spec.title and spec.weights.source


def test_the_spec_as_json():
    spec = get_model_spec("lenet5").to_dict()
    assert set(spec) == {
        "name",
        "title",
        "description",
        "paper",
        "input_shape",
        "num_classes",
        "parameters",
        "accuracy",
        "accuracy_on",
        "weights",
        "trained",
        "preprocessing",
        "samples",
    }
    assert spec["input_shape"] == [1, 32, 32]
    assert (spec["num_classes"], spec["parameters"]) == (10, 61_706)
    assert get_model_spec("efficientnet-lite0").to_dict()["parameters"] == 4_652_008


def test_models_are_loaded_once_frozen_and_in_eval_mode():
    model = get_model("simple-cnn")
    assert get_model("simple-cnn", torch.device("cpu")) is model
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert build_model("simple-cnn") is not model  # a fresh one when asked for


def test_the_accuracies_shown():
    assert get_model_spec("lenet5").accuracy >= 0.96
    assert get_model_spec("simple-cnn").accuracy >= 0.96
    assert get_model_spec("efficientnet-lite0").accuracy == pytest.approx(0.751)
