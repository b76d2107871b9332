"""Three convscope replicas behind nginx (deploy/nginx.conf), sharing their state through a real
redis-server, all on loopback ports (:class:`bench.cluster.Cluster`), checked through the
balancer and on each replica directly: an upload through one is used through another; a
job started on one is followed (server-sent events), polled, fetched and cancelled through
the others; a replica killed mid-job (SIGKILL) has its job picked up by a replica whose
client follows it, and the client sees a result; Redis stopped, every replica keeps
answering (never a 5xx) and says so, and once Redis is back nothing from before is served
as true; and a short lecture load through the balancer has no errors.

`make test` installs redis-server and nginx (scripts/ensure-redis.sh, ensure-nginx.sh).
Without them these tests fail in CI (CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from PIL import Image

from bench import load
from bench.cluster import Cluster, Missing
from tests.utils.loops import run_in_fresh_loop

LEASE_S = 2.0
DEADLINE_S = 240.0
SMOOTHGRAD = "/api/models/efficientnet-lite0/saliency"
CAT = {"image_id": (None, "sample-chelsea")}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = {"CONVSCOPE_DEVICE": "cpu", "CONVSCOPE_REDIS_LEASE_S": str(LEASE_S)}
    try:
        made = Cluster(tmp_path_factory.mktemp("replicas"), 3, env=env)
    except Missing as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    with made:
        yield made


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60)


def until(condition: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """``condition()``'s first true value, checked every 0.1 s; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.1)


def png(seed: int) -> bytes:
    rng = random.Random(seed)
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 40), rng.randbytes(48 * 40 * 3)).save(out, format="PNG")
    return out.getvalue()


def events(url: str, path: str) -> list[dict[str, Any]]:
    """A job's server-sent events, read until the stream ends."""
    seen = []
    with (
        httpx.Client(base_url=url, timeout=DEADLINE_S) as http,
        http.stream("GET", path) as stream,
    ):
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
    return seen


def fresh() -> int:
    """A seed no earlier run used: a job that is not in the shared cache yet."""
    return time.time_ns() % 2_000_000_000


def smoothgrad(seed: int, samples: int = 100) -> str:
    return f"{SMOOTHGRAD}/jobs?method=smoothgrad&samples={samples}&seed={seed}"


def test_an_upload_through_one_replica_is_used_through_another(cluster: Cluster) -> None:
    data = png(1)
    with client(cluster.replica_url(0)) as a, client(cluster.replica_url(1)) as b:
        uploaded = a.post("/api/images", files={"image": ("mine.png", data, "image/png")})
        assert uploaded.status_code == 200, uploaded.text
        image_id = uploaded.json()["id"]
        assert b.get(f"/api/images/{image_id}").json() == uploaded.json() | {
            "view": {"width": 48, "height": 40}
        }
    with client(cluster.replica_url(2)) as c:
        predicted = c.post("/api/models/lenet5/predict", files={"image_id": (None, image_id)})
        assert predicted.status_code == 200, predicted.text
    with client(cluster.url) as balancer:  # round-robin: every replica knows it
        for _ in range(6):
            assert balancer.get(f"/api/images/{image_id}/png?size=16").status_code == 200


def test_a_job_started_on_one_replica_is_followed_polled_and_fetched_on_the_others(
    cluster: Cluster,
) -> None:
    start = f"/api/models/lenet5/saliency/jobs?method=smoothgrad&samples=60&seed={fresh()}"
    with client(cluster.replica_url(0)) as a:
        job = a.post(start, files={"image_id": (None, "sample-mnist-3")}).json()
    seen = events(cluster.replica_url(1), job["events"])
    assert seen[-1]["status"] == "done" and seen[-1]["id"] == job["id"]
    with client(cluster.replica_url(2)) as c, client(cluster.url) as balancer:
        assert c.get(job["url"]).json()["status"] == "done"
        picture = c.get(f"{job['result']}?format=png")
        assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
        numbers = balancer.get(f"{job['result']}?format=json")
        assert numbers.status_code == 200 and numbers.json()["method"] == "smoothgrad"
        again = balancer.post(start, files={"image_id": (None, "sample-mnist-3")}).json()
        assert again["status"] == "done"  # the shared result cache, whichever replica


def test_a_job_started_on_one_replica_is_cancelled_through_another(cluster: Cluster) -> None:
    with client(cluster.replica_url(0)) as a, client(cluster.replica_url(1)) as b:
        job = a.post(smoothgrad(fresh()), files=CAT).json()
        until(lambda: b.get(job["url"]).json()["progress"] > 0, "the job running")
        cancelled = b.delete(job["url"])
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] in ("running", "cancelled")
    with client(cluster.replica_url(2)) as c:
        until(lambda: c.get(job["url"]).json()["status"] == "cancelled", "stopped on replica 0")
        assert c.get(job["result"]).status_code == 409
        assert c.delete(job["url"]).status_code == 200  # again: harmless


def test_a_replica_killed_mid_job_has_its_job_picked_up_and_the_student_sees_a_result(
    cluster: Cluster,
) -> None:
    with client(cluster.replica_url(0)) as a, client(cluster.replica_url(1)) as b:
        job = a.post(smoothgrad(fresh(), samples=64), files=CAT).json()
        until(lambda: 0 < b.get(job["url"]).json()["progress"] < 1, "the job half-way")
        try:
            cluster.kill_replica(0)  # SIGKILL mid-job
            with client(cluster.url) as balancer:  # the balancer skips the dead replica
                for _ in range(6):
                    assert balancer.get("/api/models").status_code == 200
            seen = events(cluster.replica_url(1), job["events"])  # replica 1 follows it
            assert seen[-1]["status"] == "done", seen[-3:]
            with client(cluster.url) as balancer:
                result = balancer.get(f"{job['result']}?format=png")
                assert result.status_code == 200 and result.content.startswith(b"\x89PNG")
            assert "picking up job" in cluster.log(1)
        finally:
            cluster.start_replica(0)


def test_redis_stopped_and_started_again(cluster: Cluster) -> None:
    with client(cluster.replica_url(0)) as a:
        before = a.post(smoothgrad(fresh(), samples=8), files=CAT).json()
    cluster.stop_redis()
    try:
        with client(cluster.url) as balancer:
            statuses = []
            for seed in range(6):  # pages, traces, uploads, predictions and jobs go on
                statuses.append(balancer.get("/convolution").status_code)
                body = {"input": [[1, 2], [3, 4]], "kernel": [[1]]}
                statuses.append(balancer.post("/api/convolution", json=body).status_code)
                image = {"image": ("x.png", png(100 + seed), "image/png")}
                statuses.append(
                    balancer.post("/api/models/lenet5/predict", files=image).status_code
                )
                started = balancer.post(smoothgrad(seed, samples=4), files=CAT)
                statuses.append(started.status_code)
                if started.status_code == 202:  # another replica does not know it: 404
                    statuses.append(balancer.get(started.json()["url"]).status_code)
            assert all(status in (200, 202, 404) for status in statuses), statuses
            assert statuses.count(404) <= statuses.count(202)
        for index in range(3):
            with client(cluster.replica_url(index)) as replica:
                ready = until(lambda: replica.get("/readyz").json()["status"] == "degraded" and
                              replica.get("/readyz"), "degraded")  # fmt: skip
                assert ready.status_code == 200 and ready.json()["redis"]["reachable"] is False
                assert replica.get("/readyz?require=redis").status_code == 503
            assert "is unreachable" in cluster.log(index)
    finally:
        cluster.start_redis()
    for index in range(3):
        with client(cluster.replica_url(index)) as replica:
            until(lambda: replica.get("/readyz").json()["status"] == "ready", "ready again")
        assert "restarted" in cluster.log(index)
    with client(cluster.replica_url(1)) as b, client(cluster.replica_url(2)) as c:
        assert b.get(before["url"]).status_code == 404  # its state went with that Redis
        uploaded = b.post("/api/images", files={"image": ("y.png", png(7), "image/png")})
        assert c.get(f"/api/images/{uploaded.json()['id']}").status_code == 200  # shared again


def test_a_short_lecture_through_the_balancer_has_no_errors(cluster: Cluster) -> None:
    for index in range(3):
        cluster.wait_ready(index)
    level = load.Level(students=24, seconds=20, ramp=5, seed=1)
    # in a loop of its own: a session's browser may hold this thread's
    stats, *_ = run_in_fresh_loop(lambda: load._level(cluster.url, level, None), timeout=120)
    assert sum(stats.attempts.values()) > 100
    assert not stats.errors, stats.errors
    assert not stats.evicted  # every upload usable through every replica
