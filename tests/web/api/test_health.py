"""/healthz and /readyz: up, loading, ready; with Redis configured, degraded while it is out of
reach (still ready: a shared dependency must not take every replica out at once) unless the
probe asks for Redis itself."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.utils.redis_server import RedisServer
from tests.utils.server import free_port


def test_a_replica_alone_is_ready_once_its_models_are_loaded() -> None:
    app = create_app(Settings(device="cpu", preload_models=False))
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.headers["cache-control"] == "no-store"
        expected = {"status": "ready", "models": "loaded", "training_lab": "cold", "redis": None}
        assert ready.json() == expected
        lab = app.state.training  # the lab's digits: prepared in the background, then ready
        lab.warming = True
        assert client.get("/readyz").json()["training_lab"] == "warming"
        lab.warmed.set()
        assert client.get("/readyz").json()["training_lab"] == "warm"
        app.state.models_ready.clear()
        loading = client.get("/readyz")
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        assert client.get("/healthz").status_code == 200


def test_redis_out_of_reach_is_degraded_not_down(tmp_path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = Settings(device="cpu", preload_models=False, redis_url=url, redis_timeout_s=0.5)
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        body = ready.json()
        assert ready.status_code == 200 and body["status"] == "degraded"
        assert body["redis"]["reachable"] is False and "onnect" in body["redis"]["error"]
        assert client.get("/readyz?require=redis").status_code == 503
        # and it serves: a job of its own, answered here
        started = client.post("/api/models/lenet5/saliency/jobs?method=gradient",
                              files={"image_id": (None, "sample-mnist-3")})  # fmt: skip
        assert started.status_code == 202


def test_with_redis_reachable_it_is_ready(tmp_path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        settings = Settings(device="cpu", preload_models=False, redis_url=server.url)
        with TestClient(create_app(settings)) as client:
            body = client.get("/readyz?require=redis").json()
            assert body["status"] == "ready" and body["redis"]["reachable"] is True
            assert body["redis"]["url"] == server.url and body["redis"]["replica"]
    finally:
        server.stop()
