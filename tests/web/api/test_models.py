"""/api/models: keys, answers against the computation, and every bad input the issue lists."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient

from app.images import convert
from app.main import create_app
from app.nets.predict import classify
from app.nets.registry import get_model, get_network
from app.settings import Settings
from tests.utils import images as corpus
from tests.utils.samples import sample
from tests.utils.tolerance import approx

#: The trained networks, then the classic architectures (untrained: random weights).
MODELS = ["lenet5", "simple-cnn", "efficientnet-lite0", "unet-digits"]
CLASSICS = ["alexnet", "vgg16", "resnet18", "resnet50", "unet"]
MODEL_KEYS = {
    "name", "title", "description", "paper", "input_shape", "num_classes", "parameters",
    "accuracy", "accuracy_on", "weights", "trained", "preprocessing", "samples", "sample_ids",
}  # fmt: skip
UNKNOWN_MODEL = (
    "Unknown model 'nope': the models are lenet5, simple-cnn, efficientnet-lite0, unet-digits, "
    "alexnet, vgg16, resnet18, resnet50, unet"
)


def png(pixels: torch.Tensor) -> bytes:
    return convert.encode_png(pixels.to(torch.uint8))


def predict(client, name="lenet5", k=None, **parts):
    files = {
        key: value if isinstance(value, tuple) else (None, value) for key, value in parts.items()
    }
    query = "" if k is None else f"?k={k}"
    return client.post(f"/api/models/{name}/predict{query}", files=files)


def test_the_list_of_models(client):
    response = client.get("/api/models")
    assert response.status_code == 200
    models = response.json()
    assert [m["name"] for m in models] == MODELS + CLASSICS
    for m in models:
        assert set(m) == MODEL_KEYS
        assert m["trained"] is (m["name"] in MODELS)
    lenet = models[0]
    assert lenet["input_shape"] == [1, 32, 32] and lenet["num_classes"] == 10
    assert lenet["parameters"] == sum(p.numel() for p in get_model("lenet5").parameters())
    assert models[2]["parameters"] == 4_652_008 and models[2]["num_classes"] == 1000
    assert lenet["sample_ids"][3] == "sample-mnist-3"
    assert client.get("/api/models/simple-cnn").json() == models[1]


def test_unknown_models_are_404_naming_the_models(client):
    for url in (
        "/api/models/nope",
        "/api/models/nope/architecture",
        "/api/models/nope/input?image=sample-chelsea",
        "/api/models/nope/layers/conv1/activations?image=sample-chelsea",
        "/api/models/nope/layers/conv1/unit?image=sample-chelsea&index=0",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"detail": UNKNOWN_MODEL}
    response = predict(client, "nope", image_id="sample-mnist-3")
    assert response.status_code == 404 and response.json()["detail"] == UNKNOWN_MODEL


def test_the_architecture(client):
    data = client.get("/api/models/lenet5/architecture").json()
    assert set(data) == {
        "model", "input_shape", "layers", "nodes", "total_parameters", "total_macs",
        "total_neurons", "total_activation_bytes", "shapes_only",
    }  # fmt: skip
    assert data["total_parameters"] == 61_706 and data["input_shape"] == [1, 32, 32]
    conv2 = data["layers"][3]
    assert set(conv2) == {
        "name", "type", "hyperparameters", "text", "output_shape", "parameters",
        "receptive_field", "macs", "kind", "call", "neurons", "activation_bytes", "inputs",
        "group",
    }  # fmt: skip
    assert conv2["name"] == "conv2" and conv2["output_shape"] == [16, 10, 10]
    assert conv2["parameters"] == 6 * 16 * 25 + 16 and conv2["macs"] == 16 * 100 * 6 * 25
    assert conv2["receptive_field"] == {
        "size": [14, 14],
        "jump": [2, 2],
        "start": [0, 0],
        "global": False,
    }


def test_predict_a_sample_by_id_and_a_file(client):
    response = predict(client, k=3, image_id="sample-mnist-3")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"model", "image", "k", "num_classes", "predictions"}
    assert data["image"] == "sample-mnist-3" and data["k"] == 3
    assert [set(p) for p in data["predictions"]] == [{"index", "label", "probability"}] * 3
    expected = [p.to_dict() for p in classify(get_network("lenet5"), sample("mnist-3.png"), k=3)]
    assert data["predictions"] == expected
    probabilities = [p["probability"] for p in data["predictions"]]
    assert (
        probabilities == sorted(probabilities, reverse=True)
        and data["predictions"][0]["label"] == "3"
    )
    with open("static/samples/mnist-7.png", "rb") as file:
        sent = predict(client, image=("seven.png", file.read(), "image/png"))
    assert sent.status_code == 200
    assert sent.json()["predictions"][0]["label"] == "7" and len(sent.json()["predictions"]) == 5
    kept = sent.json()["image"]  # the file is kept under its content hash: explore it next
    assert client.get(f"/api/images/{kept}").status_code == 200
    assert predict(client, image_id=kept).json()["predictions"] == sent.json()["predictions"]


def test_the_imagenet_model_over_http(client):
    cat = predict(client, "efficientnet-lite0", k=3, image_id="sample-chelsea").json()
    assert cat["predictions"][0]["label"] == "Egyptian cat"
    coffee = predict(client, "efficientnet-lite0", k=1, image_id="sample-coffee").json()
    assert [p["label"] for p in coffee["predictions"]] == ["espresso"]


@pytest.mark.parametrize(
    ("k", "detail"),
    [
        (0, "k must be a whole number from 1 to 10 (got 0)"),
        (11, "k must be a whole number from 1 to 10 (got 11)"),
        (-3, "k must be a whole number from 1 to 10 (got -3)"),
    ],
)
def test_k_out_of_range_is_422(client, k, detail):
    response = predict(client, k=k, image_id="sample-mnist-3")
    assert response.status_code == 422
    assert response.json()["detail"] == detail


def test_k_must_be_a_number(client):
    response = predict(client, k="many", image_id="sample-mnist-3")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query.k: Input should be a valid integer")
    assert (
        predict(client, "efficientnet-lite0", k=1000, image_id="sample-camera").status_code == 200
    )


def test_bad_images_are_4xx_with_a_sentence(client):
    empty = predict(client, image=("drawing.png", png(torch.zeros(1, 280, 280)), "image/png"))
    assert empty.status_code == 422
    assert empty.json()["detail"] == "the image is empty: there is no digit in it (draw one)"
    white = predict(client, image=("paper.png", png(torch.full((3, 50, 50), 255)), "image/png"))
    assert white.status_code == 422 and "empty" in white.json()["detail"]
    text = predict(client, image=("notes.jpg", b"just some text, not a picture", "image/jpeg"))
    assert text.status_code == 415
    assert "upload a PNG, JPEG, WebP, GIF or BMP image" in text.json()["detail"]
    broken = predict(client, image=("cut.png", corpus.truncated("PNG"), "image/png"))
    assert broken.status_code == 422 and "truncated" in broken.json()["detail"]
    bomb = predict(client, image=("bomb.png", corpus.png_header_bomb(), "image/png"))
    assert bomb.status_code == 413


def test_expired_or_unknown_image_ids_are_404_saying_to_upload_again(client):
    gone = "0123456789abcdef0123456789abcdef"
    for response in (
        predict(client, image_id=gone),
        client.get(f"/api/models/lenet5/input?image={gone}"),
        client.get(f"/api/models/lenet5/layers/conv1/activations?image={gone}"),
        client.get(f"/api/models/lenet5/layers/conv1/unit?image={gone}&channel=0&row=0&col=0"),
    ):
        assert response.status_code == 404
        assert response.json()["detail"].endswith("upload it again")
        assert gone in response.json()["detail"]


def test_what_predict_needs(client):
    neither = predict(client, other="x")
    assert neither.status_code == 422
    assert neither.json()["detail"].startswith("Send an image file in the field 'image'")
    with open("static/samples/mnist-7.png", "rb") as file:
        both = predict(client, image=("a.png", file.read(), "image/png"), image_id="sample-mnist-3")
    assert both.status_code == 422
    assert (
        both.json()["detail"]
        == "Send either an image file (field 'image') or an image_id, not both"
    )
    json_body = client.post("/api/models/lenet5/predict", json={"image_id": "sample-mnist-3"})
    assert json_body.status_code == 415
    assert "multipart/form-data" in json_body.json()["detail"]


def test_the_picture_the_network_sees(client):
    response = client.get("/api/models/lenet5/input?image=sample-mnist-3")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "private, max-age=3600"
    from io import BytesIO

    from PIL import Image

    picture = Image.open(BytesIO(response.content))
    assert picture.size == (32, 32) and picture.mode == "L"
    photo = Image.open(
        BytesIO(client.get("/api/models/efficientnet-lite0/input?image=sample-rocket").content)
    )
    assert photo.size == (224, 224) and photo.mode == "RGB"


def test_one_layer_s_maps(client):
    response = client.get(
        "/api/models/lenet5/layers/conv2/activations?image=sample-mnist-3&per_page=4&page=1"
    )
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "model", "layer", "type", "image", "kind", "shape", "min", "max", "color", "stops",
        "order", "scale", "page", "per_page", "pages", "maps", "values",
    }  # fmt: skip
    assert data["kind"] == "maps" and data["shape"] == [16, 10, 10] and data["pages"] == 4
    assert len(data["maps"]) == 4 and len(data["values"]) == 4
    assert set(data["maps"][0]) == {"channel", "min", "max", "strength", "color", "png"}
    strengths = [m["strength"] for m in data["maps"]]
    assert strengths == sorted(strengths, reverse=True)
    vector = client.get("/api/models/lenet5/layers/fc2/activations?image=sample-mnist-3").json()
    assert vector["kind"] == "vector" and len(vector["values"]) == 10
    assert max(range(10), key=lambda i: vector["values"][i]) == 3


def test_a_wide_layer_is_paged_pictures_not_megabytes(client):
    response = client.get(
        "/api/models/efficientnet-lite0/layers/blocks.1.expand.act/activations?image=sample-chelsea",
        headers={"accept-encoding": "gzip"},
    )
    assert response.status_code == 200
    data = response.json()
    assert data["shape"] == [96, 112, 112] and data["pages"] == 6 and len(data["maps"]) == 16
    assert "values" not in data
    assert len(response.content) < 400_000  # 16 maps of 112×112 as PNG; as JSON: ~2 MB
    # JSON of PNGs is not gzipped again; numbers are
    assert response.headers["content-type"] == "application/vnd.convscope.pictures+json"
    assert "content-encoding" not in response.headers
    small = client.get(
        "/api/models/lenet5/layers/conv2/activations?image=sample-mnist-3",
        headers={"accept-encoding": "gzip"},
    )
    assert small.headers["content-type"] == "application/json"
    assert small.headers["content-encoding"] == "gzip"


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("per_page=0", "per_page must be from 1 to 64 (got 0)"),
        ("per_page=100", "per_page must be from 1 to 64 (got 100)"),
        ("per_page=4&page=4", "page must be from 0 to 3 for 16 maps (got 4)"),
        ("page=-1", "page must be from 0 to 0 for 16 maps (got -1)"),
        ("order=random", "query.order: Input should be 'strength' or 'index'"),
        ("scale=global", "query.scale: Input should be 'layer' or 'map'"),
    ],
)
def test_bad_activation_settings_are_422(client, query, detail):
    response = client.get(
        f"/api/models/lenet5/layers/conv2/activations?image=sample-mnist-3&{query}"
    )
    assert response.status_code == 422
    assert response.json()["detail"] == detail


def test_unknown_layers_are_404_naming_the_layers(client):
    for url in (
        "/api/models/lenet5/layers/conv9/activations?image=sample-mnist-3",
        "/api/models/lenet5/layers/conv9/unit?image=sample-mnist-3&index=0",
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["detail"] == (
            "Unknown layer 'conv9': the layers are conv1, tanh1, pool1, conv2, tanh2, pool2, "
            "conv3, tanh3, flatten, fc1, tanh4, fc2"
        )
    assert client.get("/api/models/lenet5/layers/conv1/activations").status_code == 422  # no image
    huge = client.get(f"/api/models/lenet5/layers/{'x' * 5000}/activations?image=sample-mnist-3")
    assert huge.status_code == 404 and len(huge.json()["detail"]) < 200
    assert huge.json()["detail"].startswith("Unknown layer 'xxxxxxxx")
    long_model = client.get(f"/api/models/{'m' * 5000}")
    assert long_model.status_code == 404 and len(long_model.json()["detail"]) < 200


def test_one_unit(client):
    url = "/api/models/lenet5/layers/conv2/unit?image=sample-mnist-3&channel=3&row=4&col=5"
    response = client.get(url)
    assert response.status_code == 200
    data = response.json()
    assert {"model", "layer", "type", "image", "position", "value", "input_size",
            "receptive_field", "kind", "conv"} <= set(data)  # fmt: skip
    assert data["receptive_field"]["box"] == [8, 10, 22, 24]
    conv = data["conv"]
    assert len(conv["window"]) == 6 and len(conv["window"][0]) == 5
    # the value adds the 6 float32 partials and the bias in float32; here in float64
    size = sum(abs(p) for p in conv["partials"]) + abs(conv["bias"])
    assert sum(conv["partials"]) + conv["bias"] == approx(data["value"], terms=6 + 1, scale=size)
    dense = client.get("/api/models/lenet5/layers/fc2/unit?image=sample-mnist-3&index=3").json()
    assert dense["kind"] == "dense" and len(dense["softmax"]["rows"]) == 10


GIVE = "Give channel, row and col for a unit of a feature map, or index alone"
NOT_INT = "query.col: Input should be a valid integer, unable to parse string as an integer"


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("channel=0&row=0", 422, GIVE),
        ("channel=0&row=0&col=0&index=1", 422, GIVE),
        ("", 422, GIVE),
        ("index=2", 422, "conv2 has outputs of shape [16, 10, 10]: give channel, row and col"),
        ("channel=16&row=0&col=0", 422, "channel must be from 0 to 15 in conv2 (got 16)"),
        ("channel=0&row=-1&col=0", 422, "row must be from 0 to 9 in conv2 (got -1)"),
        ("channel=0&row=0&col=x", 422, NOT_INT),
    ],
)
def test_bad_units_are_422(client, query, status, detail):
    response = client.get(f"/api/models/lenet5/layers/conv2/unit?image=sample-mnist-3&{query}")
    assert response.status_code == status
    assert response.json()["detail"] == detail


def test_a_full_pool_is_503_at_once_and_pages_are_still_served():
    settings = Settings(
        device="cpu", compute_workers=1, compute_queue=0, retry_after_s=7, preload_models=False
    )
    with TestClient(create_app(settings)) as client:
        client.app.state.pool._in_flight = 1  # as if a model were running
        for response in (
            predict(client, image_id="sample-mnist-3"),
            client.get("/api/models/lenet5/layers/conv1/activations?image=sample-mnist-3"),
            client.get("/api/models/lenet5/layers/conv1/unit?image=sample-mnist-3&index=0"),
            client.get("/api/models/lenet5/input?image=sample-mnist-3"),
        ):
            assert response.status_code == 503
            assert response.headers["retry-after"] == "7"
            assert "busy" in response.json()["detail"]
        assert client.get("/networks").status_code == 200
        assert client.get("/networks/lenet5").status_code == 200
        assert client.get("/api/models").status_code == 200
        client.app.state.pool._in_flight = 0


def test_the_endpoints_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/models",
        "/api/models/{name}",
        "/api/models/{name}/architecture",
        "/api/models/{name}/predict",
        "/api/models/{name}/input",
        "/api/models/{name}/layers/{layer}/activations",
        "/api/models/{name}/layers/{layer}/unit",
    ):
        assert path in paths, path
    body = paths["/api/models/{name}/predict"]["post"]["requestBody"]["content"]
    assert set(body["multipart/form-data"]["schema"]["properties"]) == {"image", "image_id"}
    parameters = {p["name"] for p in paths["/api/models/{name}/predict"]["post"]["parameters"]}
    assert {"name", "k"} <= parameters
