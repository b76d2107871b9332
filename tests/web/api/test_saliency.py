"""POST /api/models/{name}/saliency and its job form: the answer's keys, PNG and json
formats against the computation (app.explain.saliency.service), every bad input the issue
lists, and sharing and cancellation through the HTTP layer; the methods and class search."""

from __future__ import annotations

import io
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import asynccontextmanager
from math import ceil
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from app.explain.saliency import METHODS, Occlusion
from app.explain.saliency.baselines import baseline_image
from app.main import create_app
from app.nets.registry import get_model, get_model_spec, get_network
from app.services.saliency import saliency
from app.settings import Settings
from tests.utils.jobs import wait_until
from tests.utils.samples import SAMPLES, sample
from tests.utils.server import live_server
from tests.utils.tolerance import approx, assert_close, network_terms

DIGIT = sample("mnist-3.png")
CAT = sample("chelsea.png")
KEYS = {
    "model", "method", "settings", "target", "predictions", "shape", "signed", "range", "limit",
    "colorscale", "completeness", "map",
}  # fmt: skip
JOB_KEYS = {"id", "status", "progress", "error", "url", "events", "result"}
#: Small settings per method, so that the digit's maps take milliseconds.
SMALL = {
    "gradient": {},
    "smoothgrad": {"samples": 4, "noise": 0.2, "seed": 3},
    "integrated-gradients": {"steps": 8, "baseline": "blur"},
    "grad-cam": {"layer": "conv2"},
    "occlusion": {"patch": 6, "stride": 3},
}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    """An app of its own with one worker, so that a long job visibly holds it."""
    app = create_app(Settings(device="cpu", preload_models=False, compute_workers=1))
    with TestClient(app) as client:
        yield client


def logits_of(name: str, images: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat([get_model(name)(part) for part in images.split(256)])


def bound(name: str, image, method: str, settings: dict[str, Any]) -> tuple[int, float | None]:  # type: ignore[no-untyped-def]
    """How far the engine's map may round otherwise when it runs again (another thread may
    split a sum otherwise): the roundings (terms) and, where it is not the map's largest
    value, the magnitude they are relative to (scale)."""
    model, spec = get_model(name), get_model_spec(name)
    x = spec.preprocess(image)[None]
    two_passes = network_terms(model, passes=2)  # forward and backward, or two forward
    if method == "smoothgrad":
        return two_passes + settings["samples"], None
    if method == "integrated-gradients":
        return two_passes + settings["steps"] + 1, None
    if method == "grad-cam":  # the gradient's mean over the layer, its channel sum, upsampling
        seen: list[torch.Size] = []
        layer = model.get_submodule(settings["layer"])
        handle = layer.register_forward_hook(lambda m, i, out: seen.append(out.shape))
        try:
            logits_of(name, x)
        finally:
            handle.remove()
        _, channels, height, width = seen[0]
        return two_passes + height * width + channels + 4, None
    if method == "occlusion":  # differences of two logits: as precise as the logits are
        patch, stride = settings["patch"], settings["stride"]
        rows, cols = Occlusion(model, patch=patch, stride=stride).positions(*x.shape[-2:])
        base = baseline_image(settings["baseline"], x, spec.preprocess)
        copies = [x]
        for row in rows:
            for col in cols:
                hidden = x.clone()
                window = (..., slice(row, row + patch), slice(col, col + patch))
                hidden[window] = base[window]
                copies.append(hidden)
        scale = float(logits_of(name, torch.cat(copies)).abs().max())
        return two_passes + ceil(patch / stride) ** 2, scale
    return two_passes, None


def post(client, name="lenet5", *, image_id="sample-mnist-3", jobs=False, **query: Any):
    path = f"/api/models/{name}/saliency" + ("/jobs" if jobs else "")
    return client.post(path, params=query, files={"image_id": (None, image_id)})


def test_json_is_the_services_map_for_every_method(api):
    for method, settings in SMALL.items():
        response = post(api, method=method, format="json", **settings)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        data = response.json()
        assert set(data) == KEYS
        expected = saliency(get_network("lenet5"), DIGIT, method, settings=settings)
        values = torch.tensor(data["map"], dtype=torch.float32)
        assert values.shape == (32, 32) and data["shape"] == [32, 32]  # the input's H×W
        terms, scale = bound("lenet5", DIGIT, method, expected.settings)
        assert_close(values, expected.map, terms=terms, scale=scale)
        # a probability p moves by at most 2p times the largest change of a logit
        x = get_model_spec("lenet5").preprocess(DIGIT)[None]
        p = expected.target.probability
        size = 2 * p * float(logits_of("lenet5", x).abs().max())
        probability = approx(p, terms=network_terms(get_model("lenet5")), scale=size)
        assert data["target"] == {"index": 3, "label": "3", "probability": probability}
        assert data["settings"] == expected.settings
        assert data["signed"] == METHODS[method].signed
        # a percentile of |map|: it moves no further than the map's values do
        scale = float(expected.map.abs().max()) if scale is None else scale
        assert data["limit"] == approx(expected.limit, terms=terms, scale=scale)


def test_png_is_the_services_overlay(api):
    response = post(api, method="gradient", target=8)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (32, 32) and picture.mode == "RGBA"
    expected = saliency(get_network("lenet5"), DIGIT, "gradient", target=8)
    assert response.content == expected.png()


def test_a_photo_on_efficientnet_for_a_chosen_class(api):
    response = post(
        api, "efficientnet-lite0", image_id="sample-chelsea", method="grad-cam", target=282,
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["shape"] == [224, 224] and data["target"]["label"] == "tiger cat"
    expected = saliency(get_network("efficientnet-lite0"), CAT, "grad-cam", target=282)
    terms, scale = bound("efficientnet-lite0", CAT, "grad-cam", expected.settings)
    values = torch.tensor(data["map"], dtype=torch.float32)
    assert_close(values, expected.map, terms=terms, scale=scale)


def test_an_uploaded_file_is_the_same_as_its_id(api):
    data = (SAMPLES / "mnist-7.png").read_bytes()
    response = api.post(
        "/api/models/lenet5/saliency",
        params={"method": "gradient", "format": "json"},
        files={"image": ("seven.png", data, "image/png")},
    )
    assert response.status_code == 200, response.text
    by_id = post(api, image_id=response.headers["x-image-id"], method="gradient", format="json")
    assert by_id.json()["map"] == response.json()["map"]
    assert response.json()["target"]["label"] == "7"


@pytest.mark.parametrize(
    ("name", "query", "detail"),
    [
        ("lenet5", {"method": "gradient", "target": 10},
         "the class index must be from 0 to 9 (got 10)"),
        ("lenet5", {"method": "gradient", "target": -1},
         "the class index must be from 0 to 9 (got -1)"),
        ("efficientnet-lite0", {"method": "gradient", "target": 1000},
         "the class index must be from 0 to 999 (got 1000)"),
        ("lenet5", {"method": "grad-cam", "layer": "conv9"},
         "Unknown layer 'conv9': the convolution layers are conv1, conv2, conv3"),
        ("lenet5", {"method": "grad-cam", "layer": "fc1"},
         "fc1 is a Linear layer, not a convolution"),
        ("lenet5", {"method": "smoothgrad", "samples": 101},
         "samples must be a whole number from 1 to 100 (got 101)"),
        ("lenet5", {"method": "integrated-gradients", "steps": 301},
         "steps must be a whole number from 1 to 300 (got 301)"),
        ("lenet5", {"method": "occlusion", "patch": 33},
         "patch must be a whole number from 1 to 32 (got 33)"),
        ("efficientnet-lite0", {"method": "occlusion", "patch": 113},
         "patch must be a whole number from 1 to 112 (got 113)"),
        ("lenet5", {"method": "smoothgrad", "noise": 2},
         "noise must be a number from 0 to 1 (got 2.0)"),
        ("lenet5", {"method": "integrated-gradients", "baseline": "purple"},
         "baseline must be one of black, gray, white, blur (got 'purple')"),
        ("lenet5", {"method": "gradient", "samples": 4},
         "samples is not a setting of gradient (its settings: none)"),
        ("lenet5", {"method": "grad-cam", "steps": 4},
         "steps is not a setting of grad-cam (its settings: layer)"),
        ("lenet5", {"method": "sharpen"}, "query.method: Input should be 'gradient', "),
        ("lenet5", {"method": "smoothgrad", "samples": "many"}, "query.samples"),
        ("lenet5", {}, "query.method is required"),
    ],
)  # fmt: skip
def test_bad_input_is_a_422_with_a_sentence(api, name, query, detail):
    for jobs in (False, True):  # refused before any job starts
        image_id = "sample-chelsea" if name == "efficientnet-lite0" else "sample-mnist-3"
        response = post(api, name, image_id=image_id, jobs=jobs, **query)
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]


def test_a_stride_beyond_the_patch_fails_in_the_job_with_its_sentence(api):
    sentence = "the stride (5) must not exceed the patch (4)"
    response = post(api, method="occlusion", patch=4, stride=5)
    assert response.status_code == 422 and sentence in response.json()["detail"]
    job = post(api, jobs=True, method="occlusion", patch=4, stride=5).json()
    wait_until(lambda: api.get(job["url"]).json()["status"] == "failed")
    result = api.get(job["result"])
    assert result.status_code == 422 and sentence in result.json()["detail"]


@pytest.mark.parametrize(
    ("path", "files", "status", "detail"),
    [
        ("/api/models/nope/saliency?method=gradient", {"image_id": (None, "sample-mnist-3")},
         404, "Unknown model 'nope'"),
        ("/api/models/lenet5/saliency?method=gradient", {"image_id": (None, "0" * 32)},
         404, "upload it again"),
        ("/api/models/lenet5/saliency?method=gradient", {"other": (None, "x")},
         422, "Send an image file in the field 'image'"),
        ("/api/models/lenet5/saliency?method=gradient",
         {"image_id": (None, "sample-mnist-3"), "image": ("a.png", b"x", "image/png")},
         422, "not both"),
        ("/api/models/lenet5/saliency?method=gradient", {"image": ("a.png", b"nope", "image/png")},
         415, ""),
    ],
)  # fmt: skip
def test_bad_images_and_models(api, path, files, status, detail):
    response = api.post(path, files=files)
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_the_job_form_answers_202_and_its_result_is_the_map(api):
    response = post(api, jobs=True, method="smoothgrad", samples=3, seed=5)
    assert response.status_code == 202
    job = response.json()
    assert set(job) == JOB_KEYS
    wait_until(lambda: api.get(job["url"]).json()["status"] == "done")
    expected = saliency(
        get_network("lenet5"), DIGIT, "smoothgrad", settings={"samples": 3, "seed": 5}
    )
    picture = api.get(job["result"], params={"format": "png"})
    assert picture.headers["content-type"] == "image/png" and picture.content == expected.png()
    data = api.get(job["result"]).json()
    assert data["settings"] == {"samples": 3, "noise": 0.15, "seed": 5}
    assert data["target"]["index"] == 3 and "map" not in data
    # The same request, defaults spelled out, is the same key: answered from the cache.
    again = post(api, jobs=True, method="smoothgrad", samples=3, seed=5, noise=0.15).json()
    assert again["status"] == "done" and again["id"] != job["id"]


def test_requests_share_a_running_job_and_cancelling_both_frees_the_worker(api):
    query = {"method": "smoothgrad", "samples": 100, "seed": 11}  # long: 13 batches of 8
    first = post(api, "efficientnet-lite0", image_id="sample-chelsea", jobs=True, **query).json()
    second = post(api, "efficientnet-lite0", image_id="sample-chelsea", jobs=True, **query).json()
    assert second["id"] != first["id"]  # a ticket for each client...
    assert api.app.state.jobs.active == 1  # ...on one computation for both
    wait_until(lambda: api.get(first["url"]).json()["progress"] > 0, timeout=60)
    for _ in range(3):  # however often one client cancels, the other still wants it
        assert api.delete(first["url"]).json()["status"] == "running"
    assert api.delete(second["url"]).status_code == 200
    wait_until(lambda: api.get(first["url"]).json()["status"] == "cancelled", timeout=30)
    pool = api.app.state.job_pool
    wait_until(lambda: pool.in_flight == 0, timeout=30)
    assert api.get(first["url"]).json()["progress"] < 1
    assert api.get(first["result"]).status_code == 409
    # The worker is free: a map is answered at once.
    assert post(api, method="gradient").status_code == 200


def test_the_methods_are_listed_in_openapi(api):
    schema = api.get("/openapi.json").json()
    operation = schema["paths"]["/api/models/{name}/saliency"]["post"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"method", "target", "format", "samples", "noise", "seed", "steps", "rule",
            "baseline", "layer", "patch", "stride"} <= set(parameters)  # fmt: skip
    reference = parameters["method"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][reference]["enum"] == list(METHODS)
    assert "/api/models/{name}/saliency/jobs" in schema["paths"]


def test_the_methods_endpoint(api):
    data = api.get("/api/models/lenet5/saliency/methods").json()
    assert set(data) == {"methods", "layers"}
    assert [m["name"] for m in data["methods"]] == list(METHODS)
    assert data["layers"] == ["conv1", "conv2", "conv3"]
    occlusion = {p["name"]: p for p in data["methods"][-1]["params"]}
    assert occlusion["patch"]["default"] == 4 and occlusion["patch"]["maximum"] == 32
    assert api.get("/api/models/nope/saliency/methods").status_code == 404


def test_class_search(api):
    dogs = api.get("/api/models/efficientnet-lite0/classes", params={"q": "dog", "limit": 200})
    found = dogs.json()["classes"]
    assert {c["index"] for c in found if c["rank"] == 1} == set(range(151, 269))
    assert found[0]["label"] == "Chihuahua"
    cats = api.get("/api/models/efficientnet-lite0/classes", params={"q": "cat"}).json()
    assert [c["label"] for c in cats["classes"][:5]] == [
        "tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"]  # fmt: skip
    tabby = api.get("/api/models/efficientnet-lite0/classes", params={"q": "Tabby"}).json()
    assert tabby["classes"][0] == {
        "index": 281, "label": "tabby", "names": "tabby, tabby cat", "rank": 0}  # fmt: skip
    seven = api.get("/api/models/lenet5/classes", params={"q": "7"}).json()
    assert seven["classes"] == [{"index": 7, "label": "7", "names": "7", "rank": 0}]
    empty = api.get("/api/models/lenet5/classes", params={"q": " "})
    assert empty.status_code == 422 and "Type part of a class name" in empty.json()["detail"]
    many = api.get("/api/models/lenet5/classes", params={"q": "1", "limit": 500})
    assert many.status_code == 422 and "limit must be from 1 to 200" in many.json()["detail"]


def test_the_app_overrides_no_dependency(api):
    """While an app has any dependency override, FastAPI analyses every dependency again on
    every request: the saliency query's eleven parameters cost ~8 ms a request that way."""
    assert api.app.dependency_overrides == {}
    assert api.get("/api/models/lenet5/saliency/methods").status_code == 200


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "convscope-test-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_client_that_hangs_up_frees_its_worker(monkeypatch):
    """The synchronous endpoint over a real connection: the client gives up after a second,
    the server notices, releases the claim, and the SmoothGrad stops at its next batch."""
    app = create_app(Settings(device="cpu", compute_workers=1))
    body, kind = multipart({"image_id": "sample-chelsea"})
    with live_server(app=app) as url:
        jobs = app.state.jobs
        claimed, claim = [], jobs.claim  # a request's ticket is not kept: note it here

        @asynccontextmanager
        async def noted(*args, **kwargs):  # type: ignore[no-untyped-def]
            async with claim(*args, **kwargs) as ticket:
                claimed.append(ticket)
                yield ticket

        monkeypatch.setattr(jobs, "claim", noted)
        query = "method=smoothgrad&samples=100&seed=23"
        request = urllib.request.Request(
            f"{url}/api/models/efficientnet-lite0/saliency?{query}",
            data=body,
            headers={"content-type": kind},
            method="POST",
        )
        with pytest.raises((TimeoutError, socket.timeout)):
            urllib.request.urlopen(request, timeout=1.5)  # 100 samples take seconds
        wait_until(lambda: jobs.active == 0 and app.state.job_pool.in_flight == 0, timeout=30)
        (ticket,) = claimed
        assert "smoothgrad" in ticket.key
        assert ticket.status == "cancelled" and ticket.progress < 1
