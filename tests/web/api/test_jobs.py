"""The jobs API: start a job (202), follow it (poll, server-sent events), fetch its result,
cancel it and see its worker freed; the synchronous form, made from the same definition
(``app.web.jobs.job_endpoints``), shares and caches; clients sharing a job each hold a
ticket, and one client's cancel withdraws only its own claim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.web.jobs import Planned, job_endpoints
from tests.utils.jobs import Work, wait_until

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Result:
    """What a computation returns: numbers and a picture."""

    nbytes = 100

    def __init__(self, value: int) -> None:
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value}

    def png(self) -> bytes:
        return PNG_SIGNATURE + b"fake"


WORK: dict[str, Work] = {}


def work(name: str) -> Work:
    return WORK.setdefault(name, Work(steps=4, value=Result(len(name))))


def failing(progress) -> None:  # type: ignore[no-untyped-def]
    raise ValueError("patch must be at most 112 (it was 500)")


jobs_router = APIRouter()


def answer(result: Result) -> JSONResponse:
    return JSONResponse(result.to_dict())


@job_endpoints(
    jobs_router, "/test/{name}", respond=answer, summary="Test", description="A test job",
    job_summary="Test as a job", job_description="A test job, started",
)  # fmt: skip
async def plan(name: str) -> Planned:
    """One definition: ``POST /test/{name}`` waits, ``POST /test/{name}/jobs`` starts."""
    return Planned(("test", name), failing if name == "failing" else work(name))


@pytest.fixture(scope="module")
def jobs_client() -> Iterator[TestClient]:
    app = create_app(Settings(device="cpu", preload_models=False, compute_workers=1))
    app.include_router(jobs_router)
    with TestClient(app) as client:
        yield client
    for item in WORK.values():  # let any step still waiting finish
        item.go(10)


def status(client: TestClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200
    return response.json()


def test_a_started_job_answers_202_with_where_to_follow_it(jobs_client: TestClient) -> None:
    response = jobs_client.post("/test/started/jobs")
    assert response.status_code == 202
    job = response.json()
    assert set(job) == {"id", "status", "progress", "error", "url", "events", "result"}
    assert job["status"] in ("queued", "running")
    assert job["url"] == f"/api/jobs/{job['id']}"
    assert job["events"] == f"/api/jobs/{job['id']}/events"

    item = work("started")
    wait_until(item.started.is_set)
    item.go(2)
    wait_until(lambda: status(jobs_client, job["id"])["progress"] >= 0.5)
    early = jobs_client.get(job["result"])
    assert early.status_code == 409
    assert "running" in early.json()["detail"]

    item.go(2)
    wait_until(lambda: status(jobs_client, job["id"])["status"] == "done")
    assert status(jobs_client, job["id"])["progress"] == 1.0
    assert jobs_client.get(job["result"]).json() == {"value": len("started")}
    picture = jobs_client.get(job["result"], params={"format": "png"})
    assert picture.headers["content-type"] == "image/png"
    assert picture.content.startswith(PNG_SIGNATURE)

    again = jobs_client.post("/test/started/jobs").json()  # the cache answers at once
    assert again["status"] == "done" and again["id"] != job["id"]
    assert item.calls == 1


def test_the_event_stream_follows_the_job_to_its_end(jobs_client: TestClient) -> None:
    job = jobs_client.post("/test/streamed/jobs").json()
    item = work("streamed")
    item.go(4)
    with jobs_client.stream("GET", job["events"]) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    events = [json.loads(line.removeprefix("data: ")) for line in lines]
    assert all(line.startswith("data: ") for line in lines)
    assert events[-1]["status"] == "done" and events[-1]["progress"] == 1.0
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress)


def test_cancelling_stops_the_job_and_frees_the_worker(jobs_client: TestClient) -> None:
    job = jobs_client.post("/test/cancelled/jobs").json()
    item = work("cancelled")
    wait_until(item.started.is_set)
    answer = jobs_client.delete(job["url"])
    assert answer.status_code == 200
    item.go(1)  # the computation reaches its next step and sees nobody wants it
    wait_until(item.stopped.is_set)
    assert status(jobs_client, job["id"])["status"] == "cancelled"
    result = jobs_client.get(job["result"])
    assert result.status_code == 409
    assert "cancelled" in result.json()["detail"]

    # The single worker is free: another job runs to its end.
    other = jobs_client.post("/test/after-cancel/jobs").json()
    work("after-cancel").go(4)
    wait_until(lambda: status(jobs_client, other["id"])["status"] == "done")


def claims(client: TestClient, name: str) -> int:
    """How many clients hold a claim on the running job ``name`` (none: not running)."""
    job = client.app.state.jobs._active.get(("test", name))  # type: ignore[attr-defined]
    return 0 if job is None else job.claims


def test_one_clients_cancel_leaves_anothers_job_running(jobs_client: TestClient) -> None:
    """Issue 12: two clients, one computation; one DELETEs its ticket three times."""
    mine = jobs_client.post("/test/shared/jobs").json()
    theirs = jobs_client.post("/test/shared/jobs").json()
    assert mine["id"] != theirs["id"] and mine["url"] != theirs["url"]  # a ticket each
    assert claims(jobs_client, "shared") == 2
    item = work("shared")
    wait_until(item.started.is_set)
    item.go(1)
    wait_until(lambda: status(jobs_client, theirs["id"])["progress"] >= 0.25)
    for _ in range(3):
        answer = jobs_client.delete(mine["url"])
        assert answer.status_code == 200
        assert answer.json()["id"] == mine["id"] and answer.json()["status"] == "running"
    assert claims(jobs_client, "shared") == 1  # withdrawn once
    item.go(3)
    wait_until(lambda: status(jobs_client, theirs["id"])["status"] == "done")
    assert jobs_client.get(theirs["result"]).json() == {"value": len("shared")}
    assert status(jobs_client, mine["id"])["status"] == "done"  # the job's state, as it is
    assert item.calls == 1 and not item.stopped.is_set()


def test_a_synchronous_request_outlives_another_clients_cancel(jobs_client: TestClient) -> None:
    ticket = jobs_client.post("/test/together/jobs").json()
    item = work("together")
    with ThreadPoolExecutor(1) as thread:
        waiting = thread.submit(jobs_client.post, "/test/together")  # the same map, waited for
        wait_until(lambda: claims(jobs_client, "together") == 2)
        for _ in range(3):
            assert jobs_client.delete(ticket["url"]).status_code == 200
        assert claims(jobs_client, "together") == 1
        item.go(4)
        answer = waiting.result(timeout=10)
    assert answer.status_code == 200  # not 499 "Stopped"
    assert answer.json() == {"value": len("together")}
    assert item.calls == 1


def test_the_last_ticket_released_stops_the_worker(jobs_client: TestClient) -> None:
    first = jobs_client.post("/test/deserted/jobs").json()
    second = jobs_client.post("/test/deserted/jobs").json()
    item = work("deserted")
    wait_until(item.started.is_set)
    item.go(1)
    wait_until(lambda: status(jobs_client, first["id"])["progress"] >= 0.25)
    assert jobs_client.delete(first["url"]).json()["status"] == "running"
    assert jobs_client.delete(second["url"]).status_code == 200  # the last claim
    item.go(1)  # the computation reaches its next step and stops there
    wait_until(item.stopped.is_set)
    for ticket in (first, second):
        assert status(jobs_client, ticket["id"])["status"] == "cancelled"
        assert status(jobs_client, ticket["id"])["progress"] < 1
    assert jobs_client.app.state.jobs.active == 0  # type: ignore[attr-defined]
    again = jobs_client.delete(second["url"])  # harmless once it is over
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


def test_a_failed_job_answers_its_sentence(jobs_client: TestClient) -> None:
    job = jobs_client.post("/test/failing/jobs").json()
    wait_until(lambda: status(jobs_client, job["id"])["status"] == "failed")
    assert status(jobs_client, job["id"])["error"] == "patch must be at most 112 (it was 500)"
    result = jobs_client.get(job["result"])
    assert result.status_code == 422
    assert result.json()["detail"] == "patch must be at most 112 (it was 500)"
    sync = jobs_client.post("/test/failing")
    assert sync.status_code == 422
    assert "patch must be at most 112" in sync.json()["detail"]


def test_the_synchronous_form_waits_and_shares(jobs_client: TestClient) -> None:
    work("sync").go(4)
    assert jobs_client.post("/test/sync").json() == {"value": len("sync")}
    assert jobs_client.post("/test/sync").json() == {"value": len("sync")}
    assert work("sync").calls == 1


@pytest.mark.parametrize(
    ("path", "method", "code", "words"),
    [
        ("/api/jobs/0123abcd", "get", 404, "no job '0123abcd'"),
        ("/api/jobs/0123abcd/events", "get", 404, "no job"),
        ("/api/jobs/0123abcd/result", "get", 404, "no job"),
        ("/api/jobs/0123abcd", "delete", 404, "no job"),
        ("/api/jobs/" + "5e" * 16, "delete", 404, f"There is no job '{'5e' * 16}' on the server"),
        ("/api/jobs/not-hex!", "get", 422, "job_id"),
        ("/api/jobs/" + "a" * 65, "get", 422, "job_id"),
    ],
)
def test_unknown_and_malformed_job_ids(
    jobs_client: TestClient, path: str, method: str, code: int, words: str
) -> None:
    response = jobs_client.request(method.upper(), path)
    assert response.status_code == code
    assert words in response.json()["detail"]


def test_a_bad_format_is_a_422(jobs_client: TestClient) -> None:
    job = jobs_client.post("/test/formats/jobs").json()
    work("formats").go(4)
    wait_until(lambda: status(jobs_client, job["id"])["status"] == "done")
    response = jobs_client.get(job["result"], params={"format": "gif"})
    assert response.status_code == 422
    assert "json" in response.json()["detail"] and "png" in response.json()["detail"]


def test_the_jobs_endpoints_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"get", "delete"} <= set(paths["/api/jobs/{job_id}"])
    assert (
        "text/event-stream"
        in paths["/api/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]
    )
    assert "/api/jobs/{job_id}/result" in paths
