"""POST /api/models/{name}/sliding-window and its job form: the answer's keys against the
service's result, the boxes on the app's cat-and-espresso scene, PNG, every bad input
refused with a 422 and a sentence before any job starts, and the scenes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from app.images.scenes import scene_png
from app.main import create_app
from app.nets.registry import get_network
from app.services import detection
from app.settings import Settings
from tests.utils.jobs import wait_until

KEYS = {
    "model", "settings", "target", "image", "maps", "boxes", "candidates", "nms", "passes",
    "seconds", "fully_convolutional", "labels",
}  # fmt: skip
BOX = {"x", "y", "width", "height", "score", "size"}
DIGITS = {"image": ("digits.png", scene_png("digits"), "image/png")}


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    app = create_app(Settings(device="cpu", preload_models=False))
    with TestClient(app) as client:
        yield client


def post(client, name="lenet5", *, files=None, image_id=None, jobs=False, **query: Any):  # type: ignore[no-untyped-def]
    path = f"/api/models/{name}/sliding-window" + ("/jobs" if jobs else "")
    files = files if image_id is None else {"image_id": (None, image_id)}
    return client.post(path, params=query, files=files or DIGITS)


def test_the_answer_is_the_services_detection(api):
    response = post(api, sizes="32,36", stride=4, threshold=0.5, target=7)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == KEYS
    assert data["settings"] == {"sizes": [32, 36], "stride": 4, "threshold": 0.5, "iou": 0.3,
                                "target": 7}  # fmt: skip
    picture = Image.open(io.BytesIO(scene_png("digits")))
    pixels = torch.from_numpy(np.asarray(picture).copy())[None]
    request = detection.settings(get_network("lenet5"), "32,36", 4, 0.5, 0.3, 7)
    expected = detection.detect(get_network("lenet5"), pixels, request).to_dict()
    for key in ("target", "boxes", "candidates", "nms", "passes", "labels"):
        assert data[key] == expected[key], key
    for key in ("scores", "top", "top_scores"):
        assert [m[key] for m in data["maps"]] == [m[key] for m in expected["maps"]], key
    assert set(data["labels"]) == {
        str(i) for m in data["maps"] for row in m["top"] for i in row
    } | {"7"}
    assert data["passes"] == 3 * 23 + 2 * 22 == sum(m["passes"] for m in data["maps"])
    assert all(set(box) == BOX for box in data["boxes"])
    assert [b["score"] for b in data["boxes"]] == sorted(
        (b["score"] for b in data["boxes"]), reverse=True
    )
    seven = data["boxes"][0]  # the 7 is pasted at x 46, y 4 (28×28)
    assert 46 - 8 <= seven["x"] <= 46 and seven["y"] <= 4
    fully = data["fully_convolutional"]
    assert fully["available"] and fully["exact"] and fully["passes"] == 2
    assert [m["exact"] for m in fully["maps"]] == [True, False]  # 36 is resized, 32 is not
    assert fully["rewrites"][1] == {
        "layer": "fc1", "was": "dense 120 → 84", "becomes": "1×1 convolution, 120 → 84 "
        "channels", "why": "at every position it mixes the 120 channels with the same weights",
    }  # fmt: skip
    assert response.headers["x-image-id"] == data["image"]["id"]


def test_the_cat_and_the_espresso_on_efficientnet(api):
    scene = api.get("/api/scenes/cat-and-espresso")
    assert scene.status_code == 200 and scene.headers["content-type"] == "image/png"
    files = {"image": ("scene.png", scene.content, "image/png")}
    boxes = {}
    for target in (285, 967):  # Egyptian cat, espresso
        response = post(api, "efficientnet-lite0", files=files, sizes="224", stride=32,
                        threshold=0.1, target=target)  # fmt: skip
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["passes"] == 8 and data["image"]["width"] == 448
        boxes[target] = data["boxes"][0]
        assert data["fully_convolutional"]["maps"][0]["matched"] == 8
    assert boxes[285]["x"] + 112 < 224 < boxes[967]["x"] + 112


def test_png_draws_the_boxes(api):
    response = post(api, sizes="32", stride=4, target=4, format="png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.size == (120, 40) and picture.mode == "RGB"
    assert (250, 204, 21) in {colour for _, colour in picture.getcolors(10_000)}


def test_the_job_form(api):
    response = post(api, jobs=True, sizes="28", stride=8, target=2)
    assert response.status_code == 202
    job = response.json()
    wait_until(lambda: api.get(job["url"]).json()["status"] == "done")
    assert api.get(job["url"]).json()["progress"] == 1
    data = api.get(job["result"]).json()
    assert data["settings"]["sizes"] == [28] and data["passes"] == 2 * 12
    same = post(api, sizes="28", stride=8, target=2).json()
    assert same["maps"] == data["maps"]


def big_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "query", "detail"),
    [
        ("lenet5", {"sizes": "abc"}, "sizes must be whole numbers of pixels separated by commas"),
        ("lenet5", {"sizes": " , "}, "sizes is empty"),
        ("lenet5", {"sizes": "32,-4"}, "(got '-4')"),
        ("lenet5", {"sizes": "4"}, "a window must be at least 8 pixels wide (got 4)"),
        ("lenet5", {"sizes": "41"}, "a window of 41 pixels does not fit in the 120×40 image"),
        ("lenet5", {"sizes": "32,32"}, "the window size 32 is given twice"),
        ("lenet5", {"sizes": "8,9,10,11,12,13,14"}, "7 window sizes were given; at most 6"),
        ("lenet5", {"stride": 0}, "stride must be a whole number from 1 to 1,024 (got 0)"),
        ("lenet5", {"stride": 5000}, "stride must be a whole number from 1 to 1,024"),
        ("lenet5", {"sizes": "8", "stride": 1}, "make 3,729 windows on the 120×40 image"),
        ("lenet5", {"threshold": 1.5}, "threshold must be a number from 0 to 1 (got 1.5)"),
        ("lenet5", {"iou": -0.1}, "iou must be a number from 0 to 1 (got -0.1)"),
        ("lenet5", {"target": 10}, "the class index must be from 0 to 9 (got 10)"),
        ("lenet5", {"target": -1}, "the class index must be from 0 to 9 (got -1)"),
        ("efficientnet-lite0", {"target": 1000}, "the class index must be from 0 to 999"),
        ("efficientnet-lite0", {"sizes": "8"},
         "a window of 8 pixels would need the image scaled to 3360×1120"),
        ("lenet5", {"stride": "two"}, "query.stride"),
        ("lenet5", {"sizes": "1" * 101}, "query.sizes"),
    ],
)  # fmt: skip
def test_bad_input_is_a_422_with_a_sentence(api, name, query, detail):
    for jobs in (False, True):  # refused before any job starts
        response = post(api, name, jobs=jobs, **query)
        assert response.status_code == 422, response.text
        assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "files", "status", "detail"),
    [
        ("nope", None, 404, "Unknown model 'nope'"),
        ("lenet5", {"image_id": (None, "0" * 32)}, 404, "upload it again"),
        ("lenet5", {"other": (None, "x")}, 422, "Send an image file in the field 'image'"),
        ("lenet5", {"image": ("a.png", b"nope", "image/png")}, 415, ""),
        ("lenet5", {"image": ("big.png", big_png(2100, 40), "image/png")}, 422,
         "the image is 2100×40 pixels; detection works on images up to 2,048 pixels"),
    ],
)  # fmt: skip
def test_bad_images_and_models(api, name, files, status, detail):
    response = post(api, name, files=files, sizes="32")
    assert response.status_code == status, response.text
    assert detail in response.json()["detail"]


def test_scenes(api):
    digits = Image.open(io.BytesIO(api.get("/api/scenes/digits").content))
    assert digits.size == (120, 40) and digits.mode == "L"
    unknown = api.get("/api/scenes/moon")
    assert unknown.status_code == 404
    assert (
        "Unknown scene 'moon': the scenes are cat-and-espresso, digits" in unknown.json()["detail"]
    )
    schema = api.get("/openapi.json").json()["paths"]
    assert {"/api/models/{name}/sliding-window", "/api/models/{name}/sliding-window/jobs"} <= set(
        schema
    )


def test_the_job_reports_progress_and_stops_when_cancelled(api, monkeypatch):
    from tests.utils.gate import Gate

    gate = Gate()
    gate.install(monkeypatch)
    try:
        # 3 sizes of windows on the digits, in batches: progress between the batches
        job = post(api, jobs=True, sizes="20,24,28", stride=2, target=1).json()
        assert gate.reached.wait(30)
        snapshot = api.get(job["url"]).json()
        assert snapshot["status"] == "running" and 0 < snapshot["progress"] < 1
        api.delete(job["url"])
        gate.open()
        wait_until(lambda: api.get(job["url"]).json()["status"] == "cancelled")
        assert api.get(job["result"]).status_code == 409
    finally:
        gate.open()
