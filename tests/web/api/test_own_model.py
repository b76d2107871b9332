"""A user's own network served through the Python API (``convscope.Network`` and the zoo's
registry): the tricky network of ``tests/utils/own_networks.py`` (a residual sum written in
place, a concatenation, in-place ReLUs, a dropout, train mode, a grayscale 24×40 input) and
a digit network that ends in a softmax. Predict, the explorer's maps and units, the
filters and activation maximisation, and all five saliency methods against Captum on the
user's own module (an eval copy with its ReLUs out of place, independent of convscope's)."""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from captum.attr import (
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from fastapi.testclient import TestClient
from torch import nn

from app.main import create_app
from app.nets.custom import serving
from app.nets.custom.preprocessing import fit_picture
from app.settings import Settings
from tests.explain.test_saliency import (
    grad_cam_bound,
    integrated_scale,
    occlusion_scale,
    occlusion_terms,
    smoothgrad_scale,
    two_passes,
)
from tests.utils.own_networks import DIGITS, INPUT, LABELS, tricky, tricky_module
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, network_terms

warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
warnings.filterwarnings("ignore", message="Setting forward, backward hooks")

IMAGE = "sample-astronaut"


@pytest.fixture(scope="module")
def own() -> Iterator[TestClient]:
    with (
        serving.serving(tricky(), DIGITS),
        TestClient(create_app(Settings(device="cpu", preload_models=False))) as client,
    ):
        yield client


def reference() -> nn.Module:
    """The user's module as an independent reference: an eval copy, ReLUs out of place."""
    model = copy.deepcopy(tricky_module()).eval()
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return model


def reference_input() -> torch.Tensor:
    """The photo as the network sees it, computed here: the central 40:24 box in gray,
    values (v − 0.5) / 0.25."""
    picture = fit_picture(sample("astronaut.png"), *INPUT)
    unit = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8).float() / 255
    return ((unit.view(*INPUT) - 0.5) / 0.25)[None]


def post(client: TestClient, path: str, **params):  # type: ignore[no-untyped-def]
    return client.post(path, params=params, files={"image_id": (None, IMAGE)})


def test_listed_beside_the_zoo_with_its_labels_and_what_was_changed(own):
    models = {m["name"]: m for m in own.get("/api/models").json()}
    assert {"tricky", "softmax-digits", "lenet5"} <= set(models)
    card = models["tricky"]
    assert card["title"] == "Tricky shapes" and card["input_shape"] == [1, 24, 40]
    assert card["num_classes"] == 5 and card["weights"] == "your own: loaded by your code"
    assert card["parameters"] == sum(p.numel() for p in tricky_module().parameters())
    assert "train mode" in card["description"] and "torch.fx" in card["description"]
    assert models["softmax-digits"]["sample_ids"][3] == "sample-mnist-3"
    assert "Softmax" in models["softmax-digits"]["description"]
    page = own.get("/networks")
    assert page.status_code == 200 and "Tricky shapes" in page.text


def test_predict_matches_the_users_module(own):
    answer = post(own, "/api/models/tricky/predict", k=5).json()
    with torch.no_grad():
        logits = reference()(reference_input())
    probabilities = torch.softmax(logits.double(), 1)[0]
    top = torch.argsort(probabilities, descending=True)
    assert [p["label"] for p in answer["predictions"]] == [LABELS[i] for i in top]
    assert_close(
        torch.tensor([p["probability"] for p in answer["predictions"]], dtype=torch.float64),
        probabilities[top].float(),
        terms=network_terms(tricky_module(), passes=1),
    )
    digits = post(own, "/api/models/softmax-digits/predict", k=10).json()
    assert abs(sum(p["probability"] for p in digits["predictions"]) - 1) < 1e-5


def test_feature_maps_show_each_layer_before_the_in_place_operations(own):
    model, x = reference(), reference_input()
    stem = F.conv2d(x, model.stem.weight, model.stem.bias, padding=1)
    conv_a = F.conv2d(F.relu(stem), model.conv_a.weight, model.conv_a.bias, padding=1)
    bn = model.bn
    expected = {
        "stem": stem,  # not its ReLU, which ran in place on it
        "bn": F.batch_norm(conv_a, bn.running_mean, bn.running_var, bn.weight, bn.bias,
                           eps=bn.eps),  # not the residual sum added to it in place
    }  # fmt: skip
    terms = network_terms(model, passes=1)
    for layer, values in expected.items():
        found = own.get(
            f"/api/models/tricky/layers/{layer}/activations",
            params={"image": IMAGE, "per_page": 16},
        ).json()
        assert found["shape"] == [6, 24, 40]
        channels = [m["channel"] for m in found["maps"]]
        assert sorted(channels) == list(range(6))
        assert_close(torch.tensor(found["values"]), values[0, channels], terms=terms)
    unit = own.get(
        "/api/models/tricky/layers/conv_a/unit",
        params={"image": IMAGE, "channel": 2, "row": 5, "col": 30},
    ).json()
    assert unit["kind"] == "conv"
    assert_close(torch.tensor(unit["value"]), conv_a[0, 2, 5, 30], terms=terms)


def test_a_module_called_twice_has_a_row_for_each_call_and_both_answer(own):
    """``self.relu`` runs after the stem and again after conv_c: rows ``relu`` and
    ``relu (2)``; each call's maps and units are its own, and a unit's steps follow the
    graph, so the residual sum after ``bn`` is never hidden behind a later layer."""
    model, x = reference(), reference_input()
    with torch.no_grad():
        stem = model.stem(x)
        y = model.bn(model.conv_a(F.relu(stem)))
        y = F.relu(y + F.relu(stem))
        conv_c = model.conv_c(model.pool(torch.cat([y, model.conv_b(y)], dim=1)))
    terms = network_terms(model, passes=1)
    rows = [row["name"] for row in own.get("/api/models/tricky/architecture").json()["layers"]]
    assert rows.count("relu") == 1 and rows.index("relu (2)") == rows.index("conv_c") + 1
    for layer, expected in (("relu", F.relu(stem)), ("relu (2)", F.relu(conv_c))):
        found = own.get(
            f"/api/models/tricky/layers/{layer}/activations",
            params={"image": IMAGE, "per_page": 16},
        )
        assert found.status_code == 200, found.text
        maps = found.json()
        channels = [m["channel"] for m in maps["maps"]]
        assert maps["shape"] == list(expected.shape[1:]) and maps["layer"] == layer
        assert_close(torch.tensor(maps["values"]), expected[0, channels], terms=terms)
    unit = own.get(
        "/api/models/tricky/layers/relu (2)/unit",
        params={"image": IMAGE, "channel": 5, "row": 3, "col": 7},
    ).json()
    assert unit["kind"] == "conv" and unit["via"] == "conv_c"
    assert [step["layer"] for step in unit["conv"]["after"]] == ["relu (2)"]
    assert_close(torch.tensor(unit["conv"]["value"]), conv_c[0, 5, 3, 7], terms=terms)
    assert_close(torch.tensor(unit["value"]), F.relu(conv_c)[0, 5, 3, 7], terms=terms)
    after_bn = own.get(
        "/api/models/tricky/layers/conv_a/unit",
        params={"image": IMAGE, "channel": 1, "row": 2, "col": 2},
    ).json()["conv"]["after"]
    assert [step["layer"] for step in after_bn] == ["bn"]  # then the sum: not a module step
    missing = own.get("/api/models/tricky/layers/relu (3)/activations", params={"image": IMAGE})
    assert missing.status_code == 404 and "relu (2)" in missing.json()["detail"]


def test_filters_and_activation_maximisation(own):
    layers = own.get("/api/models/tricky/filters").json()["layers"]
    assert [layer["name"] for layer in layers] == ["stem", "conv_a", "conv_b", "conv_c"]
    weights = own.get("/api/models/tricky/filters/conv_c/3").json()["weights"]
    assert torch.equal(torch.tensor(weights), tricky_module().conv_c.weight[3])
    result = own.post(
        "/api/models/tricky/layers/conv_c/channels/1/maximize", json={"steps": 4, "seed": 1}
    )
    assert result.status_code == 200, result.text
    assert len(result.json()["curve"]) >= 4


def saliency_map(client: TestClient, method: str, **settings) -> torch.Tensor:  # type: ignore[no-untyped-def]
    answer = post(client, "/api/models/tricky/saliency", method=method, target=2,
                  format="json", **settings)  # fmt: skip
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["shape"] == [24, 40] and data["target"]["label"] == LABELS[2]
    return torch.tensor(data["map"], dtype=torch.float32)


def test_every_saliency_method_matches_captum(own):
    model, x = reference(), reference_input()

    def captum_x() -> torch.Tensor:
        return x.clone().requires_grad_()

    terms = two_passes(model, x)
    theirs = Saliency(model).attribute(captum_x(), target=2)[0, 0]
    assert_close(saliency_map(own, "gradient"), theirs, terms=terms)

    torch.manual_seed(5)
    stdevs = 0.2 * float(x.max() - x.min())
    theirs = NoiseTunnel(Saliency(model)).attribute(
        captum_x(), nt_type="smoothgrad", nt_samples=6, nt_samples_batch_size=6,
        stdevs=stdevs, target=2, abs=False,
    )[0, 0].abs()  # fmt: skip
    scale = smoothgrad_scale(model, x, 2, samples=6, batch=6, stdevs=stdevs, seed=5)
    ours = saliency_map(own, "smoothgrad", samples=6, noise=0.2, seed=5)
    assert_close(ours, theirs, terms=terms + 6, scale=scale)

    black = torch.full_like(x, (0 - 0.5) / 0.25)
    theirs = IntegratedGradients(model).attribute(
        captum_x(), black, target=2, n_steps=16, method="gausslegendre"
    )[0, 0]
    scale = integrated_scale(model, x, black, 2, steps=16)
    ours = saliency_map(own, "integrated-gradients", steps=16, baseline="black")
    assert_close(ours, theirs, terms=terms + 17, scale=scale)

    for layer in ("stem", "conv_b", "conv_c"):  # Grad-CAM on any convolution
        cam = LayerGradCam(model, model.get_submodule(layer)).attribute(
            x, target=2, relu_attributions=True
        )
        theirs = LayerAttribution.interpolate(cam, (24, 40), "bilinear")[0, 0]
        extra, scale = grad_cam_bound(model, layer, x, 2)
        assert_close(saliency_map(own, "grad-cam", layer=layer), theirs, terms=terms + extra,
                     scale=scale)  # fmt: skip

    theirs = Occlusion(model).attribute(
        x, sliding_window_shapes=(1, 6, 6), strides=3, baselines=black[0, 0, 0, 0].item(),
        target=2,
    )[0, 0]  # fmt: skip
    scale = occlusion_scale(model, x, patch=6, stride=3, baseline=float(black.flatten()[0]))
    ours = saliency_map(own, "occlusion", patch=6, stride=3, baseline="black")
    assert_close(ours, theirs, terms=occlusion_terms(model, x, 6, 3), scale=scale)


@pytest.mark.parametrize(
    "page",
    ["/networks/tricky", "/networks/tricky/filters", "/networks/tricky/saliency",
     "/networks/softmax-digits"],
)  # fmt: skip
def test_its_pages(own, page):
    answer = own.get(page)
    assert answer.status_code == 200
    assert "Tricky shapes" in answer.text or "softmax-digits" in answer.text


def renamed(name: str, **fields):  # type: ignore[no-untyped-def]
    """The tricky network under another name (the module's fixture serves "tricky")."""
    return dataclasses.replace(tricky(), name=name, **fields)


def test_taken_out_again_and_names_are_one_model_each():
    with serving.serving(renamed("taken-out")):
        assert "taken-out" in serving.served()
        serving.add(renamed("taken-out"))  # the same model again: nothing
        other = renamed("taken-out")
        other.module.stem.bias.data += 1
        with pytest.raises(ValueError, match="another network has been served as 'taken-out'"):
            serving.add(other)
        assert serving.fresh_name(other) == "taken-out-2"
        relabelled = renamed("taken-out", labels=list("vwxyz"))
        with pytest.raises(ValueError, match="another network has been served"):
            serving.add(relabelled)
    assert "taken-out" not in serving.served()
    with pytest.raises(ValueError, match="another network has been served"):
        serving.add(other)  # a name is one model for the process's life (answers by name)
    with pytest.raises(ValueError, match="name of a network of the zoo"):
        serving.add(renamed("lenet5"))
    trained = renamed("grown")
    with serving.serving(trained):
        trained.module.head.bias.data += 1  # the same object, trained further in a notebook
        with pytest.raises(ValueError, match="another network has been served"):
            serving.add(trained)
        assert serving.fresh_name(trained) == "grown-2"


def test_your_own_sample_images(tmp_path):
    picture = tmp_path / "shapes.png"
    sample("camera.png").crop((100, 50, 300, 170)).save(picture)
    net = renamed("with-samples", samples=[str(picture), "mnist-3"])
    with (
        serving.serving(net),
        TestClient(create_app(Settings(device="cpu", preload_models=False))) as client,
    ):
        card = client.get("/api/models/with-samples").json()
        assert card["sample_ids"] == ["sample-own-with-samples-1", "sample-mnist-3"]
        answer = client.post(
            "/api/models/with-samples/predict",
            files={"image_id": (None, "sample-own-with-samples-1")},
        )
        assert answer.status_code == 200 and len(answer.json()["predictions"]) == 5
        listed = [s["id"] for s in client.get("/api/images/samples").json()]
        assert "sample-own-with-samples-1" in listed
    assert "sample-own-with-samples-1" not in serving.SAMPLES  # taken out with the network
    bad = renamed("bad-samples", samples=[str(tmp_path / "missing.png")])
    with pytest.raises(ValueError, match="neither an image file nor a shipped sample"):
        serving.add(bad)


def test_explore_serves_it_on_a_background_thread_and_returns_its_url():
    import httpx2 as httpx

    import convscope

    try:
        url = convscope.explore(renamed("explored"), device="cpu")
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/networks/explored", url)
        page = httpx.get(url, timeout=60)
        assert page.status_code == 200 and "Tricky shapes" in page.text
        assert convscope.explore(renamed("explored")) == url  # the same model: the same page
        other = renamed("explored")
        other.module.head.bias.data += 1  # a changed model under the same name: a fresh one
        assert convscope.explore(other) == url.replace("explored", "explored-2")
    finally:
        convscope.stop()
    assert "explored" not in serving.served() and "explored-2" not in serving.served()
