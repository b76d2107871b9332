"""deploy/nginx.conf, run as it is (only its `listen` line and upstream address changed) by a
real nginx on a free loopback port, in front of a live convscope: pages and the API go
through, job events arrive one by one, an upload over the app's limit is 413 at the door,
a slowloris is cut off, and one address's connections are limited (429) while another's
are not.

`make test` installs nginx (scripts/ensure-nginx.sh). Without it these tests fail in CI
(CI=true) and are skipped elsewhere.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.main import create_app
from app.settings import ROOT, Settings
from app.web.jobs import Planned, job_endpoints
from tests.utils.jobs import Work
from tests.utils.server import (
    connect,
    free_port,
    response_head,
    running_server,
    wait_closed,
)

CONFIG = ROOT / "deploy" / "nginx.conf"
LISTEN = "listen 80;"
UPSTREAM = "server 127.0.0.1:8000;"


def nginx_binary() -> str:
    for candidate in (os.environ.get("CONVSCOPE_NGINX"), "/usr/sbin/nginx", shutil.which("nginx")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "nginx is not installed: `make test` installs it (scripts/ensure-nginx.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def directive(name: str) -> str:
    """The value of a directive that deploy/nginx.conf sets once."""
    values = re.findall(rf"^\s*{name}\s+([^;]+);", CONFIG.read_text(), re.MULTILINE)
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


# A job for the event stream, moved one step at a time by the test.
WORK: dict[str, Work] = {}
jobs_router = APIRouter()


@job_endpoints(
    jobs_router, "/test/steps/{name}", respond=lambda result: JSONResponse({"done": True}),
    summary="Steps", description="A test job", job_summary="Steps as a job",
    job_description="A test job, started",
)  # fmt: skip
async def steps(name: str) -> Planned:
    return Planned(("steps", name), WORK.setdefault(name, Work(steps=4)))


def render(tmp: Path, port: int, upstream: int) -> Path:
    """deploy/nginx.conf with the test's ports, included by a main config whose pid, logs
    and temporary files are in ``tmp``."""
    site = CONFIG.read_text()
    for placeholder in (LISTEN, UPSTREAM):
        assert site.count(placeholder) == 1, f"deploy/nginx.conf should say {placeholder!r} once"
    site = site.replace(LISTEN, f"listen 127.0.0.1:{port};")
    site = site.replace(UPSTREAM, f"server 127.0.0.1:{upstream};")
    (tmp / "convscope.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""  # workers write the temporary files here
    temp = "\n".join(
        f"    {kind}_temp_path {tmp}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp / "nginx.conf"
    main.write_text(
        f"""{user}
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {tmp}/access.log;
{temp}
    include {tmp}/convscope.conf;
}}
"""
    )
    return main


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """nginx with the repo's config in front of a live convscope; yields nginx's port."""
    nginx = nginx_binary()
    app = create_app(Settings(device="cpu", preload_models=False))
    app.include_router(jobs_router)
    tmp = tmp_path_factory.mktemp("nginx")
    with running_server(Settings(device="cpu", preload_models=False), app) as server:
        port = free_port()
        main = render(tmp, port, server.config.port)
        command = [nginx, "-p", str(tmp), "-c", str(main), "-e", str(tmp / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    connect(port).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "nginx did not start"
                    time.sleep(0.1)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            for work in WORK.values():
                work.go(10)


def request(port: int, method: str, path: str, **kwargs: Any) -> tuple[HTTPResponse, bytes]:
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, **kwargs)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


def test_pages_and_the_api_go_through(proxy: int):
    page, html = request(proxy, "GET", "/convolution")
    assert page.status == 200
    assert page.getheader("content-type", "").startswith("text/html")
    assert b"<html" in html
    assert page.getheader("server") == "nginx"  # no version

    body = json.dumps({"input": [[1, 2], [3, 4]], "kernel": [[1]]})
    headers = {"content-type": "application/json"}
    answer, data = request(proxy, "POST", "/api/convolution", body=body, headers=headers)
    assert answer.status == 200, data
    assert "output" in json.loads(data)

    # compressed once, by the app (nginx's gzip is off)
    big, data = request(proxy, "GET", "/convolution", headers={"accept-encoding": "gzip"})
    assert big.getheader("content-encoding") == "gzip"
    assert gzip.decompress(data) == html


def test_job_events_arrive_one_by_one(proxy: int):
    name = uuid.uuid4().hex
    started, data = request(proxy, "POST", f"/test/steps/{name}/jobs")
    assert started.status == 202, data
    job = json.loads(data)
    work = WORK[name]

    stream = HTTPConnection("127.0.0.1", proxy, timeout=30)
    stream.request("GET", job["events"])
    response = stream.getresponse()
    assert response.status == 200
    assert response.getheader("content-type", "").startswith("text/event-stream")

    def next_event() -> dict[str, Any] | None:
        while True:
            line = response.readline()
            if not line:
                return None  # the stream ends when the job has finished
            if line.startswith(b"data: "):
                assert response.readline() == b"\n"
                return json.loads(line[6:])

    # each step waits for the test, which lets it go only once an event has come through:
    # a proxy that held events back until the stream ended would never get past the first
    seen = []
    while (event := next_event()) is not None:
        seen.append((event["status"], event["progress"]))
        if event["status"] not in ("queued", "running"):
            break
        work.go(1)
    stream.close()
    progress = [p for status, p in seen if status == "running"]
    assert len([p for p in progress if 0 < p < 1]) >= 3, seen
    assert progress == sorted(progress)
    # (the stream may end without the final snapshot: app.runtime.jobs.Jobs.watch can see
    # the job finish between two snapshots; the job's status says it is done)
    _, data = request(proxy, "GET", job["url"])
    assert json.loads(data)["status"] == "done"


def test_an_upload_over_the_apps_limit_is_413_before_its_body_is_sent(proxy: int):
    limit = Settings().max_upload_bytes
    size = directive("client_max_body_size")
    assert size == f"{limit // 2**20}m" and limit % 2**20 == 0, "match CONVSCOPE_MAX_UPLOAD_BYTES"

    with connect(proxy) as sock:
        sock.sendall(
            b"POST /api/images HTTP/1.1\r\nHost: test\r\n"
            b"content-type: multipart/form-data; boundary=x\r\n"
            b"content-length: %d\r\n\r\n" % (limit + 1)
        )
        assert response_head(sock)[0] == 413

    # at the limit, the body reaches the app (which finds no image in it)
    body = b"--x\r\n" + b"0" * (limit - 10) + b"\r\n--x--\r\n"
    body = body[:limit]
    headers = {"content-type": "multipart/form-data; boundary=x"}
    answer, _ = request(proxy, "POST", "/api/images", body=body, headers=headers)
    assert answer.status != 413
    assert 400 <= answer.status < 500


@pytest.mark.slow
def test_a_slowloris_is_cut_off(proxy: int):
    timeout = directive("client_header_timeout")
    assert timeout == "10s"
    with connect(proxy) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n")
        took = wait_closed(sock, 60, trickle=b"X-Slow: 1\r\n")
    assert 5 < took < 60


def test_one_address_is_limited_in_connections_and_others_are_not(proxy: int):
    limit = int(directive("limit_conn convscope_conn"))
    assert directive("limit_conn_status") == "429"
    held = []
    try:
        for _ in range(limit):  # each holds a request open: headers sent, body held back
            sock = connect(proxy)
            held.append(sock)
            sock.sendall(b"POST /api/images HTTP/1.1\r\nHost: test\r\ncontent-length: 1000\r\n\r\n")
        deadline = time.monotonic() + 30
        statuses = []
        while not statuses or statuses[-1] != 429:  # once nginx has read all those headers
            assert time.monotonic() < deadline, statuses
            with connect(proxy) as probe:
                probe.sendall(b"GET /api/models HTTP/1.1\r\nHost: test\r\n\r\n")
                statuses.append(response_head(probe)[0])
            time.sleep(0.05)
        assert set(statuses) <= {200, 429}

        try:
            other = connect(proxy, source="127.0.0.2")
        except OSError:
            pytest.skip("this system has no 127.0.0.2")
        with other:
            other.sendall(b"GET /api/models HTTP/1.1\r\nHost: test\r\n\r\n")
            assert response_head(other)[0] == 200
    finally:
        for sock in held:
            sock.close()
