"""The training lab's API: a run started (202), followed as it learns (server-sent events
carrying the history), fetched, cancelled and refused; its network served as a network of
the app (the explorer's endpoints, filters, saliency) and its weights downloaded; every bad
setting a 422 with a sentence; trainings beyond the limit a 503."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load

from app.main import create_app
from app.nets.registry import get_network
from app.settings import Settings
from tests.utils.gate import Gate
from tests.utils.jobs import wait_until

START = "/api/training/jobs"
SMALL = {"digits": 200, "epochs": 1}  # a run of a second or two
TICKET_KEYS = {"id", "status", "progress", "error", "url", "events", "result"}
STARTED_KEYS = TICKET_KEYS | {
    "config", "title", "layers", "parameters", "steps_per_epoch", "total_steps",
}  # fmt: skip
RESULT_KEYS = {
    "network", "title", "config", "layers", "parameters", "seconds", "diverged",
    "heldout_accuracy", "history", "snapshots", "report", "explore", "weights",
}  # fmt: skip
ENTRY_KEYS = {"step", "epoch", "loss", "lr", "grad_norms", "update_ratios"}


def events(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[dict]:
    """Every event of a run's stream, until it ends."""
    found = []
    with client.stream("GET", url, headers=headers or {}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
    return found


def train(client: TestClient, **fields: Any) -> tuple[dict, dict]:
    """Start a run, follow it to its end, fetch its result: (the 202 answer, the result)."""
    response = client.post(START, json={**SMALL, **fields})
    assert response.status_code == 202, response.text
    started = response.json()
    assert events(client, started["events"])[-1]["status"] == "done"
    result = client.get(started["result"])
    assert result.status_code == 200, result.text
    return started, result.json()


@pytest.fixture(scope="module")
def lenet(client: TestClient) -> tuple[dict, dict]:
    return train(client, seed=11)


def test_the_lab_says_what_it_trains_its_defaults_and_limits(client):
    data = client.get("/api/training").json()
    assert set(data) == {"networks", "optimizers", "schedules", "defaults", "limits", "presets",
                         "watched", "titles"}  # fmt: skip
    assert [n["name"] for n in data["networks"]] == ["lenet5", "simple-cnn", "deep"]
    assert data["defaults"] == {
        "network": "lenet5", "batchnorm": False, "depth": 20, "residual": False,
        "optimizer": "adam", "lr": 0.004, "batch_size": 32, "epochs": 3, "augment": False,
        "seed": 0, "digits": 4000, "schedule": "cosine",
    }  # fmt: skip
    assert data["limits"]["epochs"] == [1, 20] and data["limits"]["depth"] == [4, 32]
    assert data["limits"]["active"] == 4
    assert [w["label"] for w in data["watched"]] == list(range(10))
    assert {p["name"] for p in data["presets"]} >= {"plain-vs-residual", "divergence"}


def test_a_run_starts_streams_its_history_and_ends_with_its_result(client, lenet):
    started, result = lenet
    assert set(started) == STARTED_KEYS
    assert started["url"] == f"/api/training/jobs/{started['id']}"
    assert started["layers"] == ["conv1", "conv2", "conv3", "fc1", "fc2"]
    assert started["parameters"] == 61706 and started["title"] == "LeNet-5"
    assert (started["steps_per_epoch"], started["total_steps"]) == (7, 7)
    assert started["config"] == {**client.get("/api/training").json()["defaults"],
                                 "depth": None, "seed": 11, **SMALL}  # fmt: skip
    assert set(result) == RESULT_KEYS
    assert result["network"].startswith("trained-") and result["diverged"] is None
    assert result["explore"] == f"/networks/{result['network']}"
    assert [e["step"] for e in result["history"]] == list(range(1, 8))
    assert all(set(e) >= ENTRY_KEYS for e in result["history"])
    assert set(result["history"][-1]) == ENTRY_KEYS | {"heldout_accuracy", "heldout_loss"}
    report = result["report"]
    assert set(report) == {"accuracy", "per_digit", "confusion", "mistakes"}
    assert result["heldout_accuracy"] == report["accuracy"]
    assert sum(map(sum, report["confusion"])) == 1000
    assert all(m["png"].startswith("data:image/png;base64,") for m in report["mistakes"])
    assert result["snapshots"][0]["step"] == 0 and result["snapshots"][-1]["step"] == 7


def test_the_stream_sends_every_entry_once_and_resumes_where_it_stopped(client, lenet):
    started, result = lenet
    streamed = events(client, started["events"])  # the finished run, sent again
    assert streamed[-1]["status"] == "done" and streamed[-1]["progress"] == 1
    history = [entry for event in streamed for entry in event["history"]]
    assert history == result["history"]
    assert [s for event in streamed for s in event["snapshots"]] == result["snapshots"]
    assert streamed[-1]["next"] == [len(result["history"]), len(result["snapshots"])]
    # a reconnecting browser sends the id of the last event it got: the rest only
    rest = events(client, started["events"], headers={"Last-Event-ID": "5.2"})
    assert rest[0]["from"] == 5
    assert [e for event in rest for e in event["history"]] == result["history"][5:]
    assert [s for event in rest for s in event["snapshots"]] == result["snapshots"][2:]
    whole = events(client, started["events"], headers={"Last-Event-ID": "nonsense"})
    assert [e for event in whole for e in event["history"]] == result["history"]


def test_the_same_run_again_is_the_same_result_at_once(client, lenet):
    started, result = lenet
    again = client.post(START, json={**SMALL, "seed": 11})
    assert again.status_code == 202 and again.json()["status"] == "done"
    assert again.json()["id"] != started["id"]  # a ticket of its own
    assert client.get(again.json()["result"]).json() == result


def test_the_trained_network_is_a_network_of_the_app(client, lenet):
    _, result = lenet
    name = result["network"]
    card = client.get(f"/api/models/{name}").json()
    assert card["name"] == name and card["title"] == "LeNet-5, trained here"
    assert card["accuracy"] == result["heldout_accuracy"] and card["parameters"] == 61706
    assert card["sample_ids"] == [f"sample-mnist-{d}" for d in range(10)]
    rows = client.get(f"/api/models/{name}/architecture").json()["layers"]
    assert [r["name"] for r in rows][:3] == ["conv1", "tanh1", "pool1"]
    predicted = client.post(
        f"/api/models/{name}/predict?k=3", files={"image_id": (None, "sample-mnist-7")}
    )
    assert predicted.status_code == 200 and len(predicted.json()["predictions"]) == 3
    maps = client.get(f"/api/models/{name}/layers/conv1/activations?image=sample-mnist-7")
    assert maps.status_code == 200 and maps.json()["shape"] == [6, 28, 28]
    layers = client.get(f"/api/models/{name}/filters").json()["layers"]
    assert [layer["name"] for layer in layers] == ["conv1", "conv2", "conv3"]
    saliency = client.post(
        f"/api/models/{name}/saliency?method=gradient&format=json",
        files={"image_id": (None, "sample-mnist-7")},
    )
    assert saliency.status_code == 200 and saliency.json()["shape"] == [32, 32]
    for page in ("", "/filters", "/saliency"):
        html = client.get(f"/networks/{name}{page}", headers={"accept": "text/html"})
        assert html.status_code == 200 and "LeNet-5, trained here" in html.text


def test_the_weights_download_as_safetensors_with_the_runs_settings(client, lenet):
    _, result = lenet
    response = client.get(result["weights"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert f'filename="{result["network"]}.safetensors"' in response.headers["content-disposition"]
    state = load(response.content)
    served = get_network(result["network"]).module.state_dict()
    assert state.keys() == served.keys()
    assert all(torch.equal(state[k], served[k].cpu()) for k in state)
    header_size = int.from_bytes(response.content[:8], "little")
    header = json.loads(response.content[8 : 8 + header_size])
    metadata = json.loads(header["__metadata__"]["convscope"])
    assert metadata["settings"]["seed"] == 11 and metadata["model"] == result["network"]
    assert metadata["held_out_accuracy"] == round(result["heldout_accuracy"], 4)


def test_a_deep_plain_and_a_residual_run_differ_in_their_first_layers_gradients(client):
    _, plain = train(client, network="deep", depth=20, digits=100)
    _, residual = train(client, network="deep", depth=20, residual=True, digits=100)
    assert plain["layers"] == residual["layers"] and len(plain["layers"]) == 20
    first = [r["history"][0]["grad_norms"] for r in (plain, residual)]
    assert first[0][0] / first[0][-1] < 1e-5 < 1e-3 < first[1][0] / first[1][-1]


def test_a_learning_rate_too_large_is_a_diverged_run_not_an_error(client):
    started, result = train(client, network="deep", depth=8, residual=True, optimizer="sgd",
                            lr=10.0, schedule="constant", digits=500)  # fmt: skip
    assert result["diverged"]["loss"] in ("nan", "inf")
    assert result["network"] is None and result["report"] is None
    assert result["explore"] is None and result["weights"] is None
    assert result["history"][-1]["loss"] is None
    assert client.get(started["url"]).json()["status"] == "done"


# --- refusals --------------------------------------------------------------------------------

BAD: list[tuple[dict[str, Any], str]] = [
    ({"network": "resnet50"}, "network is 'resnet50'; the lab trains lenet5, simple-cnn, deep"),
    ({"network": "deep", "depth": 21}, "depth is 21; it counts the stem, two convolutions"),
    ({"network": "deep", "depth": 2}, "depth is 2; it must be from 4 to 32"),
    ({"network": "deep", "depth": 34}, "depth is 34; it must be from 4 to 32"),
    ({"network": "lenet5", "depth": 20}, "depth and residual are settings of the deep network"),
    ({"network": "simple-cnn", "residual": True}, "SimpleCNN has a fixed architecture"),
    ({"optimizer": "rmsprop"}, "optimizer is 'rmsprop'; it must be adam or sgd"),
    ({"schedule": "step"}, "schedule is 'step'; it must be constant or cosine"),
    ({"lr": 0}, "lr is 0; it must be more than 0"),
    ({"lr": -0.1}, "lr is -0.1; it must be from 0 to 10"),
    ({"lr": 11}, "lr is 11; it must be from 0 to 10"),
    ({"epochs": 0}, "epochs is 0; it must be from 1 to 20"),
    ({"epochs": 21}, "epochs is 21; it must be from 1 to 20"),
    ({"batch_size": 4}, "batch_size is 4; it must be from 8 to 256"),
    ({"batch_size": 1000}, "batch_size is 1000; it must be from 8 to 256"),
    ({"seed": -1}, "seed is -1; it must be from 0 to 2,147,483,647"),
    ({"seed": 10**40}, "seed is 100000…0000 (41 digits); it must be from 0"),
    ({"digits": 50}, "digits is 50; it must be from 100 to 4,000"),
    ({"digits": 4010}, "digits is 4010; it must be from 100 to 4,000"),
    ({"digits": 105}, "digits is 105; it must be a multiple of 10"),
    ({"epochs": 2.5}, "epochs: Input should be a valid integer"),
    ({"lr": "0.1"}, "lr: Input should be a valid number"),
    ({"augment": "yes"}, "augment: Input should be a valid boolean"),
    ({"window": 3}, "Unknown field 'window'"),
]


@pytest.mark.parametrize(
    ("body", "sentence"), BAD, ids=[next(iter(b)) + str(i) for i, (b, _) in enumerate(BAD)]
)
def test_every_bad_setting_is_a_422_with_a_sentence(client, body, sentence):
    response = client.post(START, json=body)
    assert response.status_code == 422, response.text
    assert sentence in response.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ('{"lr": NaN}', "lr is nan; it must be from 0 to 10"),
        ('{"lr": 1e999}', "lr is inf; it must be from 0 to 10"),
        ("[1, 2]", "The request body must be a JSON object"),
        ('{"lr": ', "The request body is not valid JSON"),
    ],
)
def test_numbers_that_are_not_numbers_and_bodies_that_are_not_objects_are_refused(
    client, raw, sentence
):
    response = client.post(START, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert sentence in response.json()["detail"]


@pytest.mark.parametrize("name", ["network", "optimizer", "schedule"])
def test_a_name_thousands_of_characters_long_is_refused_without_being_echoed(client, name):
    response = client.post(START, json={name: "resnet" * 20_000})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == f"{name}: String should have at most 32 characters"


def test_a_body_over_the_limit_is_413_before_it_is_read(client, settings):
    big = b'{"network": "' + b"x" * settings.max_json_bytes + b'"}'
    response = client.post(START, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "too large" in response.json()["detail"]


def test_unknown_runs_and_networks_are_404_and_an_unfinished_result_409(client):
    missing = "0" * 32
    for url in (f"{START}/{missing}", f"{START}/{missing}/events", f"{START}/{missing}/result"):
        response = client.get(url)
        assert response.status_code == 404 and "no job" in response.json()["detail"]
    assert client.delete(f"{START}/{missing}").status_code == 404
    assert client.get(f"{START}/not-hex").status_code == 422
    gone = client.get("/api/training/networks/trained-00000000/weights")
    assert gone.status_code == 404
    assert (
        "is not kept on this server" in gone.json()["detail"]
        and "train it again" in gone.json()["detail"]
    )
    assert client.get("/api/models/trained-00000000").status_code == 404
    assert (
        client.get("/networks/trained-00000000", headers={"accept": "text/html"}).status_code == 404
    )
    lenet5 = client.get("/api/training/networks/lenet5/weights")
    assert lenet5.status_code == 404 and "'lenet5' is not kept" in lenet5.json()["detail"]


# --- a held run: cancel, 409, 503 ------------------------------------------------------------


@pytest.fixture
def small_lab(monkeypatch) -> Iterator[tuple[TestClient, Gate]]:
    """An app that trains one run at a time, whose runs wait at each step for the gate."""
    gate = Gate()
    gate.install(monkeypatch)
    settings = Settings(device="cpu", preload_models=False, training_max_active=1)
    with TestClient(create_app(settings)) as client:
        yield client, gate
        gate.open()


def test_a_held_run_is_409_until_done_and_a_second_run_beyond_the_limit_is_503(small_lab):
    client, gate = small_lab
    started = client.post(START, json={**SMALL, "seed": 21}).json()
    assert gate.reached.wait(60)  # running, held before its second step
    early = client.get(started["result"])
    assert early.status_code == 409 and "The run is running" in early.json()["detail"]
    other = client.post(START, json={**SMALL, "seed": 22})
    assert other.status_code == 503
    assert other.headers["retry-after"] == "2" and "busy" in other.json()["detail"]
    same = client.post(START, json={**SMALL, "seed": 21})  # the same run: one more follower
    assert same.status_code == 202 and same.json()["status"] == "running"
    client.delete(same.json()["url"])
    gate.open()
    wait_until(lambda: client.get(started["url"]).json()["status"] == "done", timeout=60)
    assert client.post(START, json={**SMALL, "seed": 22}).status_code == 202  # room again


def test_a_cancelled_run_stops_and_frees_its_place(small_lab):
    client, gate = small_lab
    started = client.post(START, json={**SMALL, "seed": 31}).json()
    assert gate.reached.wait(60)
    cancelled = client.delete(started["url"])
    assert cancelled.status_code == 200
    gate.open()
    wait_until(lambda: client.get(started["url"]).json()["status"] == "cancelled", timeout=60)
    assert client.delete(started["url"]).json()["status"] == "cancelled"  # harmless again
    response = client.get(started["result"])
    assert response.status_code == 409 and "cancelled" in response.json()["detail"]
    assert events(client, started["events"])[-1]["status"] == "cancelled"
    again = client.post(START, json={**SMALL, "seed": 32})
    assert again.status_code == 202


def test_a_forgotten_network_comes_back_when_its_result_is_fetched(monkeypatch):
    settings = Settings(device="cpu", preload_models=False, training_networks=1)
    with TestClient(create_app(settings)) as client:
        first_run, first = train(client, seed=41)
        _, second = train(client, seed=42)
        name = first["network"]
        gone = client.get(f"/api/models/{name}")
        assert gone.status_code == 404 and "is not kept on this server" in gone.json()["detail"]
        assert client.get(first_run["result"]).json()["network"] == name  # served again
        assert client.get(f"/api/models/{name}").status_code == 200
        assert client.get(f"/api/models/{second['network']}").status_code == 404
