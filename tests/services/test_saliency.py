"""One saliency map for a network and an image: defaults, targets, settings, the
completeness check, the coloured overlay, and every bad input the endpoint will see."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.explain.saliency import METHODS, GradCam, VanillaGradient
from app.explain.saliency.baselines import baseline_image, gaussian_blur
from app.nets.registry import get_model, get_model_spec, get_network
from app.services.saliency import (
    display_limit,
    explain,
    explain_many,
    methods,
    request_key,
    saliency,
    upper_quantile,
)
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, network_terms

DIGIT = sample("mnist-3.png")
CAT = sample("chelsea.png")
KEYS = {
    "model", "method", "settings", "target", "predictions", "shape", "signed", "range", "limit",
    "colorscale", "completeness",
}  # fmt: skip


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_on_a_digit(method):
    result = saliency(get_network("lenet5"), DIGIT, method)
    data = result.to_dict(values=True)
    assert set(data) == KEYS | {"map"}
    assert data["target"]["index"] == 3 and data["target"]["label"] == "3"  # the top prediction
    assert data["predictions"][0] == data["target"] and len(data["predictions"]) == 5
    assert data["shape"] == [32, 32] and data["map"].shape == (32, 32)
    assert data["signed"] == METHODS[method].signed
    assert data["range"] == [float(result.map.min()), float(result.map.max())]
    assert 0 < data["limit"] <= float(result.map.abs().max())
    assert (data["completeness"] is not None) == (method == "integrated-gradients")
    picture = Image.open(io.BytesIO(result.png()))
    assert picture.size == (32, 32) and picture.mode == "RGBA"


def test_the_map_is_the_methods_own():
    spec, model = get_model_spec("lenet5"), get_model("lenet5")
    x = spec.preprocess(DIGIT)[None]
    result = saliency(get_network("lenet5"), DIGIT, "gradient", target=8)
    terms = network_terms(model, passes=2)  # a forward and a backward pass, maybe split otherwise
    expected = VanillaGradient.to_map(VanillaGradient(model).attribute(x, 8))[0]
    assert_close(result.map, expected, terms=terms)
    assert result.target.index == 8 and result.target.probability < 0.01
    cam = saliency(get_network("lenet5"), DIGIT, "grad-cam", settings={"layer": "conv1"})
    # and Grad-CAM's mean over 28·28 gradients, its sum over 6 channels, the upsampling
    expected = GradCam(model, "conv1").attribute(x, 3)[0, 0]
    assert_close(cam.map, expected, terms=terms + 28 * 28 + 6 + 4)


@pytest.mark.slow
def test_two_classes_of_the_cat_give_two_maps():
    egyptian = saliency(get_network("efficientnet-lite0"), CAT, "grad-cam")
    tiger = saliency(get_network("efficientnet-lite0"), CAT, "grad-cam", target=282)
    assert egyptian.target.label == "Egyptian cat" and tiger.target.label == "tiger cat"
    assert egyptian.settings == {"layer": "head"}
    assert egyptian.map.shape == (224, 224)
    terms = network_terms(get_model("efficientnet-lite0"), passes=2) + 7 * 7 + 1280 + 4
    with pytest.raises(AssertionError):  # not the same map up to rounding
        assert_close(egyptian.map, tiger.map, terms=terms)


def test_integrated_gradients_reports_completeness():
    result = saliency(get_network("lenet5"), DIGIT, "integrated-gradients", settings={"steps": 64})
    check = result.completeness
    assert check is not None
    # the same 32·32 signed values (one channel) summed in two shapes: they cancel
    size = float(result.map.abs().sum())
    assert check["sum"] == approx(float(result.map.sum()), terms=32 * 32, scale=size)
    assert abs(check["delta"]) < 0.01 * abs(check["expected"])
    model = get_model("lenet5")
    with torch.inference_mode():
        x = get_model_spec("lenet5").preprocess(DIGIT)[None]
        ends = model(torch.cat([x, torch.full_like(x, -0.1)]))
    gap = float(ends[0, 3] - ends[1, 3])
    # expected is Σ map − (Σ map − gap): two sums of the map (32·32 each) and the difference
    # of two logits, computed in another batch
    terms = 2 * 32 * 32 + 2 * network_terms(model)
    scale = max(size, float(ends.abs().max()))
    assert check["expected"] == approx(gap, terms=terms, scale=scale)


def test_defaults_depend_on_the_model():
    digits, photos = get_network("simple-cnn"), get_network("efficientnet-lite0")
    occlusion, cam = METHODS["occlusion"], METHODS["grad-cam"]
    assert occlusion.resolve(digits, {}) == {"patch": 4, "stride": 2, "baseline": "black"}
    assert occlusion.resolve(photos, {}) == {"patch": 32, "stride": 16, "baseline": "gray"}
    assert cam.resolve(digits, {}) == {"layer": "conv2"}
    assert cam.resolve(photos, {}) == {"layer": "head"}
    assert METHODS["integrated-gradients"].resolve(photos, {"steps": 8}) == {
        "steps": 8, "rule": "gausslegendre", "baseline": "black",
    }  # fmt: skip
    smoothgrad = {"samples": 25, "noise": 0.15, "seed": 0}
    assert METHODS["smoothgrad"].resolve(photos, {}) == smoothgrad
    assert METHODS["gradient"].resolve(photos, {}) == {}
    assert [p.name for p in occlusion.settings_for(digits)] == ["patch", "stride", "baseline"]


def test_methods_list_their_settings_for_the_model():
    listed = methods(get_network("simple-cnn"))
    assert [m["name"] for m in listed] == list(METHODS)
    occlusion = next(m for m in listed if m["name"] == "occlusion")
    assert [(p["name"], p["default"]) for p in occlusion["params"]] == [
        ("patch", 4), ("stride", 2), ("baseline", "black"),
    ]  # fmt: skip
    assert occlusion["params"][0]["maximum"] == 28


def test_a_request_is_known_by_its_resolved_settings():
    lenet = get_network("lenet5")

    def key(target, settings):  # type: ignore[no-untyped-def]
        return request_key(lenet, "sample-mnist-3", "smoothgrad", target, settings)

    same = key(None, {})
    assert same == key(None, {"samples": 25})
    assert same != key(4, {})
    assert same != key(None, {"seed": 1})
    with pytest.raises(ValueError, match="samples must be"):
        key(None, {"samples": 0})


def test_baselines():
    lenet, photos = get_model_spec("lenet5"), get_model_spec("efficientnet-lite0")
    x = lenet.preprocess(DIGIT)[None]
    assert torch.equal(baseline_image("black", x, lenet.preprocess), torch.full_like(x, -0.1))
    # float32 1·1.275 − 0.1: 1.275 and 0.1 rounded, then the difference
    assert baseline_image("white", x, lenet.preprocess).unique().tolist() == approx(
        [1.175], terms=3
    )
    cat = photos.preprocess(CAT)[None]
    assert baseline_image("gray", cat, photos.preprocess).unique().tolist() == [
        0.5 / 128
    ]  # dyadic: exact
    blurred = baseline_image("blur", cat, photos.preprocess)
    assert blurred.shape == cat.shape
    assert float(blurred.std()) < float(cat.std())
    flat = torch.full((1, 3, 20, 20), 0.3)
    # two passes of a 19-tap kernel (radius ⌈3σ⌉ = 9) that sums to 1 up to its 19 float32
    # weights, their sum and the division by it
    assert_close(gaussian_blur(flat, 3.0), flat, terms=2 * (19 + 19 + 1))


def test_the_gradient_colours_stop_at_the_99th_percentile():
    values = torch.arange(1000, dtype=torch.float32)
    # float64: 989 + 0.01·(990 − 989), through the percentile's quotient and interpolation
    assert display_limit(METHODS["gradient"], values) == approx(
        989.01, terms=4, dtype=torch.float64
    )
    assert display_limit(METHODS["grad-cam"], values) == 999.0
    assert display_limit(METHODS["occlusion"], torch.zeros(4)) == 1.0


def test_the_overlay_is_transparent_where_the_map_is_zero():
    result = saliency(get_network("lenet5"), DIGIT, "grad-cam")
    rgba = np.asarray(Image.open(io.BytesIO(result.png())))
    zero = (result.map == 0).numpy()
    assert zero.any() and (rgba[..., 3][zero] == 0).all()
    top = np.unravel_index(int(result.map.argmax()), result.map.shape)
    assert rgba[top][3] == 255
    # made once: every student asking for this map is answered with the same bytes, and
    # the results' cache counts them
    assert result.png() is result.png() and result.nbytes > len(result.png())


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("saliency", {}, "Unknown method 'saliency': the methods are gradient, smoothgrad"),
        ("gradient", {"target": 10}, r"class index must be from 0 to 9 \(got 10\)"),
        ("gradient", {"target": -2}, "class index must be from 0 to 9"),
        (
            "gradient",
            {"settings": {"steps": 5}},
            r"steps is not a setting of gradient \(its settings: none\)",
        ),
        (
            "smoothgrad",
            {"settings": {"samples": 1000}},
            "samples must be a whole number from 1 to 100",
        ),
        ("smoothgrad", {"settings": {"noise": -0.1}}, "noise must be a number from 0 to 1"),
        (
            "integrated-gradients",
            {"settings": {"steps": 10_000}},
            "steps must be a whole number from 1 to 300",
        ),
        (
            "integrated-gradients",
            {"settings": {"baseline": "noise"}},
            "baseline must be one of black, gray",
        ),
        ("occlusion", {"settings": {"patch": 40}}, "patch must be a whole number from 1 to 32"),
        ("occlusion", {"settings": {"patch": 2, "stride": 3}}, "must not exceed the patch"),
        ("occlusion", {"settings": {"patch": 1, "stride": 1}}, None),
        ("grad-cam", {"settings": {"layer": "conv9"}}, "Unknown layer 'conv9'"),
        ("grad-cam", {"settings": {"layer": "fc1"}}, "fc1 is a Linear layer, not a convolution"),
        ("grad-cam", {"settings": {"layer": 3}}, "a layer name is needed"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(method, options, message):
    if message is None:  # 1,024 positions on 32×32: within the cap
        assert saliency(get_network("lenet5"), DIGIT, method, **options).map.shape == (32, 32)
        return
    with pytest.raises(ValueError, match=message):
        saliency(get_network("lenet5"), DIGIT, method, **options)


def test_too_many_occlusion_positions_on_a_photo():
    with pytest.raises(
        ValueError, match="needs 50,176 positions on a 224×224 image; at most 4,096"
    ):
        saliency(
            get_network("efficientnet-lite0"), CAT, "occlusion", settings={"patch": 1, "stride": 1}
        )


def test_a_digits_map_does_not_end_in_the_inks_white():
    """Issue 14: over an MNIST digit (white strokes) the strongest values are not white,
    so they stay visible on the strokes; a photo keeps Hot (black, red, yellow, white)."""
    digit = saliency(get_network("lenet5"), DIGIT, "gradient")
    stops = digit.to_dict()["colorscale"]
    assert stops[-1][1].lower() != "#ffffff"
    rgba = np.asarray(Image.open(io.BytesIO(digit.png())).convert("RGBA")).astype(int)
    strongest = np.unravel_index(int(digit.map.argmax()), tuple(digit.map.shape))
    red, green, blue, alpha = rgba[strongest]
    assert alpha == 255 and min(red, green, blue) < 200, "the strongest pixel is not white"
    cat = saliency(get_network("efficientnet-lite0"), CAT, "gradient")
    assert cat.to_dict()["colorscale"][-1][1].lower() == "#ffffff"


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 3000),
    q=st.floats(0.5, 0.999),
    seed=st.integers(0, 2**31 - 1),
    ties=st.booleans(),
)
def test_the_upper_quantile_is_torchs_quantile(size, q, seed, ties):
    generator = torch.Generator().manual_seed(seed)
    values = torch.rand(size, generator=generator, dtype=torch.float64)
    if ties:
        values = (values * 8).floor()
    expected = torch.quantile(values, q)
    assert upper_quantile(values, q) == approx(float(expected), terms=4, dtype=torch.float64)


@pytest.mark.parametrize("method", ["gradient", "grad-cam"])
def test_a_batch_of_images_gives_each_images_own_map(method):
    """Jobs of one pass are computed together (``explain_many``): each image's map, class
    and predictions are those of the image alone, a class asked for or the top one."""
    network, model = get_network("lenet5"), get_model("lenet5")
    digits = [sample(f"mnist-{d}.png") for d in (3, 7, 1)]
    pictures = [network.preprocess.picture(d) for d in digits]
    targets = (None, 2, None)
    images = [(p, network.preprocess.tensor(p), t) for p, t in zip(pictures, targets, strict=True)]
    together = explain_many(network, images, method)
    terms = network_terms(model, passes=2) + (28 * 28 + 6 + 4 if method == "grad-cam" else 0)
    for (picture, x, target), found in zip(images, together, strict=True):
        alone = explain(network, picture, x, method, target=target)
        assert found.target.index == alone.target.index
        assert target is None or found.target.index == target
        assert [p.index for p in found.predictions] == [p.index for p in alone.predictions]
        assert_close(found.map, alone.map, terms=terms)
