"""Sliding-window detection end to end (app.services.detection): on a picture with a cat on
the left and an espresso cup on the right, EfficientNet-Lite0's best "Egyptian cat" box lies
in the left half and its best "espresso" box in the right half; the maps against plain
forward passes of the windows; the fully convolutional map equal to the sliding windows'
where the architecture makes it so (LeNet-5) and honestly different where it does not."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from app.images.scenes import digits
from app.nets.registry import get_network
from app.services import detection
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, network_terms

EGYPTIAN_CAT, ESPRESSO = 285, 967


def pixels(picture: Image.Image) -> torch.Tensor:
    array = torch.from_numpy(np.asarray(picture).copy())
    return array[None] if array.dim() == 2 else array.permute(2, 0, 1).contiguous()


@pytest.fixture(scope="module")
def cat_and_cup() -> torch.Tensor:
    """scikit-image's Chelsea (the shipped sample: the cat's head) on the left and its
    coffee photo (the cup) on the right, 192×192 each, composed here with other crops than
    the app's own scene."""
    cat = sample("chelsea.png").convert("RGB").resize((192, 192), box=(30, 10, 330, 300))
    cup = sample("coffee.png").convert("RGB").resize((192, 192), box=(80, 0, 470, 390))
    scene = Image.new("RGB", (384, 192))
    scene.paste(cat, (0, 0))
    scene.paste(cup, (192, 0))
    return pixels(scene)


def best_box(found: detection.Detection) -> dict:  # type: ignore[type-arg]
    return found.to_dict()["boxes"][0]


@pytest.mark.parametrize(("target", "half"), [(EGYPTIAN_CAT, "left"), (ESPRESSO, "right")])
def test_the_best_box_is_on_the_right_side(cat_and_cup, target, half):
    network = get_network("efficientnet-lite0")
    request = detection.settings(network, "192,144", 64, 0.05, 0.3, target)
    found = detection.detect(network, cat_and_cup, request)
    assert found.passes == 4 + 4  # 1×4 windows of 192, 1×4 of 144
    box = best_box(found)
    centre = box["x"] + box["width"] / 2
    assert (centre < 192) if half == "left" else (centre > 192), box
    assert box["score"] == max(float(m.scores.max()) for m in found.maps)
    assert found.target.label == ("Egyptian cat" if target == EGYPTIAN_CAT else "espresso")


def test_the_maps_are_each_windows_probability(cat_and_cup):
    network = get_network("efficientnet-lite0")
    request = detection.settings(network, "160", 112, 0.0, 0.5, ESPRESSO)
    found = detection.detect(network, cat_and_cup, request)
    (scale,) = found.maps
    assert scale.tops == [0.0] and scale.lefts == [0.0, 112.0, 224.0]
    x = detection.scene_tensor(network, cat_and_cup)
    assert_close(x, (cat_and_cup.float() - 127) / 128)  # EfficientNet-Lite's scaling
    crops = torch.stack([x[:, :160, left : left + 160] for left in (0, 112, 224)])
    resized = F.interpolate(crops, size=(224, 224), mode="bilinear", antialias=True)
    with torch.inference_mode():
        probabilities = torch.softmax(network.module(resized).double(), dim=1)
    terms = network_terms(network.module)
    assert_close(scale.scores[0], probabilities[:, ESPRESSO], terms=terms, scale=1.0)
    # what the classifier says about each window: its top class and that class's probability
    assert_close(scale.top_scores[0], probabilities.amax(1), terms=terms, scale=1.0)
    tops = probabilities.topk(2, dim=1)
    for k, index in enumerate(scale.top[0]):  # the top class, unless the first two tie
        close = float(tops.values[k, 0] - tops.values[k, 1]) < terms * 2e-7
        assert index == int(tops.indices[k, 0]) or close
    # every window is a candidate at threshold 0; suppression keeps non-overlapping ones
    assert len(found.candidates) == 3 and found.kept[0] == 0


def test_lenet_fully_convolutional_map_equals_the_windows():
    network = get_network("lenet5")
    request = detection.settings(network, "32", 4, 0.5, 0.3, 4)
    found = detection.detect(network, pixels(digits()), request)
    (windowed,) = found.maps
    (one_pass,) = found.fully.maps
    assert found.fully.available and found.fully.stride == 4 and one_pass.exact
    assert one_pass.scores.shape == windowed.scores.shape == (3, 23)
    assert one_pass.matched == 3 * 23 and one_pass.tops == windowed.tops
    assert_close(one_pass.scores, windowed.scores, terms=network_terms(network.module), scale=1.0)
    assert one_pass.max_difference <= 1e-5
    assert found.fully.to_dict()["exact"] and found.passes == 69


def test_efficientnet_maps_are_compared_where_they_coincide(cat_and_cup):
    network = get_network("efficientnet-lite0")
    request = detection.settings(network, "192", 64, 0.5, 0.3, EGYPTIAN_CAT)
    found = detection.detect(network, cat_and_cup, request)
    (one_pass,) = found.fully.maps
    # a 192-pixel window is the input once the image is scaled by 224/192: the map's
    # positions are 32·192/224 ≈ 27.4 pixels apart; those at 0 and 192 meet windows
    assert one_pass.stride == pytest.approx(32 * 192 / 224)
    assert one_pass.scaled == (224, 448) and not one_pass.exact
    assert one_pass.matched == 2  # lefts 0 and 192 (= 7 · 27.43), top 0
    assert [r.layer for r in found.fully.rewrites] == ["pool", "flatten", "dropout", "fc"]
    assert "stem.conv" in found.fully.padded


def test_only_classifiers_have_detection():
    from torch import nn

    from app.nets.network import Network

    lenet = get_network("lenet5")

    class Maps(nn.Module):  # one map per class, as a segmentation network gives
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.repeat(1, 10, 1, 1)

    maps = Network(lenet.spec, Maps())
    assert detection.is_classifier(lenet) and not detection.is_classifier(maps)
    with pytest.raises(ValueError, match="gives a map, not one score per class"):
        detection.settings(maps, "32", 4, 0.5, 0.3, None)
