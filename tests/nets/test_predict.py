"""predict and explore: ordering, probabilities, k, and what the explorer gets."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from app.explain.hooks import leaf_layers
from app.nets.names import UnknownName
from app.nets.predict import classify, explore, predict, top_k
from app.nets.registry import get_model, get_model_spec, get_network
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, network_terms

LABELS = tuple("abcdefghij")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=10, max_size=10), st.integers(1, 10))
def test_top_k_is_sorted_and_matches_softmax(logits, k):
    x = torch.tensor(logits)
    found = top_k(x, LABELS, k)
    probabilities = torch.softmax(x.double(), 0)  # what top_k computes: the very numbers
    assert len(found) == k
    assert [p.probability for p in found] == sorted((p.probability for p in found), reverse=True)
    assert found[0].probability == float(probabilities.max())
    for p in found:
        assert p.label == LABELS[p.index]
        assert p.probability == float(probabilities[p.index])
    # 10 float64 probabilities (an exp, a sum of 10, a division each) and their sum
    total = sum(p.probability for p in top_k(x, LABELS, 10))
    assert total == approx(1.0, terms=10 + 2 + 10, dtype=torch.float64)


@pytest.mark.parametrize("k", [0, -1, 11, 2.5, True, "3"])
def test_k_out_of_range_is_refused(k):
    with pytest.raises(ValueError, match="k must be a whole number from 1 to 10"):
        top_k(torch.zeros(10), LABELS, k)


def test_predict_the_sample_digits():
    for name in ("lenet5", "simple-cnn"):
        spec = get_model_spec(name)
        right = 0
        for digit in range(10):
            found = classify(get_network(name), sample(f"mnist-{digit}.png"), k=3)
            right += found[0].label == str(digit) and found[0].index == digit
            assert str(digit) in [p.label for p in found], (name, digit)
        assert right >= 9, name  # SimpleCNN reads the looped 5 of mnist-5.png as a 3
    with pytest.raises(ValueError, match="from 1 to 10"):
        classify(get_network("lenet5"), sample("mnist-0.png"), k=11)
    with pytest.raises(UnknownName):
        classify(get_network("lenet6"), sample("mnist-0.png"))
    x = spec.preprocess(sample("mnist-2.png"))
    assert predict(get_model("simple-cnn"), x, spec.labels, k=1)[0].label == "2"


def test_explore_gives_every_layer_and_the_prediction():
    found = explore(get_network("lenet5"), sample("mnist-8.png"), k=4)
    model = get_model("lenet5")
    assert list(found.layers) == leaf_layers(model)
    assert [p.to_dict() for p in found.predictions] == [
        p.to_dict() for p in classify(get_network("lenet5"), sample("mnist-8.png"), k=4)
    ]
    assert found.predictions[0].label == "8"
    assert found.picture.size == (32, 32)
    assert found.input.shape == (1, 32, 32)
    total = float(found.probabilities.sum())  # float64, as in top_k
    assert total == approx(1.0, terms=10 + 2 + 10, dtype=torch.float64)
    conv2 = found.layers["conv2"]
    assert conv2.values.shape == (16, 10, 10)
    assert (conv2.minimum, conv2.maximum) == (float(conv2.values.min()), float(conv2.values.max()))
    strength = conv2.values.abs().mean(dim=(1, 2))
    assert_close(conv2.strength, strength, terms=10 * 10 + 1)  # float32 means of 100 |values|
    assert conv2.strength[conv2.order].tolist() == sorted(conv2.strength.tolist(), reverse=True)
    assert found.layers["fc2"].values.shape == (10,)
    with torch.inference_mode():
        logits = model(found.input[None])[0]
    assert_close(found.layers["fc2"].values, logits, terms=network_terms(model))


def test_explore_chosen_layers_of_efficientnet():
    found = explore(
        get_network("efficientnet-lite0"), sample("chelsea.png"), layers=["stem.act", "head.act"]
    )
    assert list(found.layers) == ["stem.act", "head.act"]
    assert found.layers["stem.act"].values.shape == (32, 112, 112)
    assert found.layers["stem.act"].minimum >= 0 and found.layers["stem.act"].maximum <= 6
    assert found.predictions[0].label == "Egyptian cat"
    with pytest.raises(UnknownName, match=r"Unknown layer 'stem\.relu'"):
        explore(get_network("efficientnet-lite0"), sample("chelsea.png"), layers=["stem.relu"])
