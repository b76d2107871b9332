"""The shared state's client: reaching Redis, losing it without waiting, finding it again
(and noticing that it restarted); keys the same in every replica; results as bytes and back,
bit for bit, without pickle; answers computed on one replica sent by another."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PIL import Image

from app.explain.maximize import Maximized
from app.explain.topdigits import ChannelTop, TopDigit
from app.nets.predict import Prediction
from app.runtime import codec
from app.runtime.state import SharedState, Unavailable, digest
from app.services.answers import Answers
from app.services.saliency import SaliencyMap
from tests.utils.redis_server import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_digests_are_stable_names_of_keys() -> None:
    key = ("saliency", "lenet5", "sample-mnist-3", "smoothgrad", None, (("noise", 0.15),))
    assert digest(key) == digest(tuple(key)) and len(digest(key)) == 32
    assert digest(key) != digest((*key[:-1], (("noise", 0.16),)))
    assert digest(("a", 1)) != digest(("a", "1"))


def test_losing_redis_costs_one_timeout_then_nothing_until_it_is_back(redis_server) -> None:
    state = SharedState(redis_server.url, timeout_s=1.0, lease_s=1.0, prefix="t")
    assert state.probe() and state.reachable and state.status()["reachable"]
    assert state.put(state.content_key("x"), b"1", 60)
    epoch = state.epoch
    redis_server.stop()
    assert state.fetch(state.content_key("x")) is None  # found out: unreachable
    assert not state.reachable and state.error
    started = time.monotonic()
    for _ in range(100):  # no call waits for an unreachable Redis
        with pytest.raises(Unavailable):
            state.call(lambda r: r.ping())
    assert time.monotonic() - started < 1.0
    assert state.status()["reachable"] is False
    redis_server.start()
    state.beat()  # the heartbeat tries again
    assert state.reachable and state.epoch != epoch and state.restarts == 1
    assert state.fetch(state.content_key("x")) is None  # nothing from before was kept


def test_a_stopped_replica_gives_up_its_lease(redis_server) -> None:
    a = SharedState(redis_server.url, lease_s=5.0, prefix="t")
    b = SharedState(redis_server.url, lease_s=5.0, prefix="t")
    a.start()
    b.start()
    assert b.alive(a.replica)
    a.stop()
    assert not b.alive(a.replica)  # at once, not after the lease
    b.stop()


def test_job_results_are_written_and_read_back_bit_for_bit() -> None:
    picture = Image.frombytes("RGB", (4, 3), bytes(range(36)))
    prediction = Prediction(285, "Egyptian cat", 0.38)
    saliency = SaliencyMap(
        model="efficientnet-lite0", method="smoothgrad", settings={"samples": 25, "noise": 0.15},
        target=prediction, predictions=[prediction, Prediction(282, "tiger cat", 0.33)],
        map=torch.randn(3, 4), signed=False, limit=float("inf"), picture=picture,
        completeness={"sum": 1.5, "difference": float("nan")}, image_id="sample-chelsea",
    )  # fmt: skip
    back = codec.decode(codec.encode(saliency))
    assert isinstance(back, SaliencyMap)
    assert torch.equal(back.map, saliency.map) and back.png() == saliency.png()
    assert back.picture.tobytes() == picture.tobytes() and back.target == prediction
    assert back.limit == float("inf") and back.completeness is not None
    assert back.completeness["difference"] != back.completeness["difference"]  # nan
    maximized = Maximized("conv2", 3, {"steps": 4, "seed": None}, torch.zeros(1, 8, 8,
                          dtype=torch.uint8), [0.1, 0.2], 0.5)  # fmt: skip
    again = codec.decode(codec.encode(maximized))
    assert again.to_dict() == maximized.to_dict() and again.png() == maximized.png()
    top = ChannelTop("lenet5", "conv1", 0, [TopDigit(1, 2, 0.5, (3, 4), (0, 0, 5, 5))],
                     torch.ones(1, 1, 2, 2, dtype=torch.uint8))  # fmt: skip
    assert codec.decode(codec.encode(top)).to_dict() == top.to_dict()


def test_only_the_apps_own_types_are_written_or_read() -> None:
    class Foreign:
        pass

    with pytest.raises(TypeError):
        codec.encode({"x": Foreign()})
    forged = codec.encode({"x": 1}).replace(b'"dict"', b'"dataclass","c":"os:system","f":{}')
    with pytest.raises(ValueError):
        codec.decode(forged)
    with pytest.raises(ValueError):
        codec.decode(b"not an encoded value")


def test_an_answer_computed_on_one_replica_is_sent_by_another(redis_server) -> None:
    a_state = SharedState(redis_server.url, prefix="t")
    b_state = SharedState(redis_server.url, prefix="t")
    assert a_state.probe() and b_state.probe()
    a, b = Answers(16, 1 << 20, shared=a_state), Answers(16, 1 << 20, shared=b_state)
    assert a.get(("maps", "lenet5", 1), lambda: (b'{"maps":[]}', "application/json")) == (
        b'{"maps":[]}',
        "application/json",
    )

    def never() -> tuple[bytes, str]:
        raise AssertionError("computed twice")

    assert b.get(("maps", "lenet5", 1), never) == (b'{"maps":[]}', "application/json")
    redis_server.stop()  # out of reach: each answers from its own memory, no error
    assert b.get(("maps", "lenet5", 2), lambda: (b"x", "image/png")) == (b"x", "image/png")
