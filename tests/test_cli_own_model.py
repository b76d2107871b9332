"""`convscope serve --model`: users' own networks served by the real command in a process of
its own, on a loopback port: one named by its file's path, one by its module, the weights
loaded by the user's code from a safetensors file; and the refusals of a bad ``--model``
(in this process: nothing is served)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
import torch
from safetensors.torch import save_file

from app import cli
from app.settings import ROOT
from tests.utils.own_networks import INPUT, LABELS, tricky_module
from tests.utils.server import free_port
from tests.utils.tolerance import assert_close, network_terms

CONVSCOPE = str(Path(sys.executable).parent / "convscope")
pytestmark = pytest.mark.slow


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "CONVSCOPE_PRELOAD_MODELS": "false", **extra}
    env.pop("CONVSCOPE_REDIS_URL", None)
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    weights = tmp_path_factory.mktemp("weights") / "tricky.safetensors"
    save_file({k: v.contiguous() for k, v in tricky_module(seed=3).state_dict().items()},
              str(weights))  # fmt: skip
    port = free_port()
    command = [
        CONVSCOPE, "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
        "--model", "tests/utils/own_networks.py:tricky",
        "--model", "tests.utils.own_networks:DIGITS",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment(TRICKY_WEIGHTS=str(weights)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"convscope stopped: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("convscope did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"your network: {url}/networks/tricky" in output
    flagged = re.search(r"in-place modules made out of place: ([\w., ]+)", output)
    assert flagged is not None and flagged[1].split(", ") == ["relu"]  # one module, called twice


def get(url: str, **params: object) -> httpx.Response:
    return httpx.get(url, params=params, timeout=60)  # type: ignore[arg-type]


def post(url: str, path: str, **params: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", params=params, files={"image_id": (None, "sample-coffee")},
                      timeout=60)  # fmt: skip


def test_both_networks_are_served_beside_the_zoo(served):
    names = [m["name"] for m in get(f"{served}/api/models").json()]
    assert {"lenet5", "tricky", "softmax-digits"} <= set(names)
    for page in ("/networks", "/networks/tricky", "/networks/tricky/filters",
                 "/networks/tricky/saliency", "/networks/softmax-digits"):  # fmt: skip
        assert get(f"{served}{page}").status_code == 200, page


def test_the_weights_are_the_ones_the_users_code_loaded(served):
    weights = get(f"{served}/api/models/tricky/filters/stem/4").json()["weights"]
    assert torch.equal(torch.tensor(weights), tricky_module(seed=3).stem.weight[4])
    model = tricky_module(seed=3).eval()
    picture = get(f"{served}/api/models/tricky/input", image="sample-coffee")
    from io import BytesIO

    from PIL import Image

    seen = Image.open(BytesIO(picture.content))
    assert seen.size == (40, 24) and seen.mode == "L"
    unit = torch.frombuffer(bytearray(seen.tobytes()), dtype=torch.uint8).float() / 255
    with torch.no_grad():
        logits = model((unit.view(*INPUT)[None] - 0.5) / 0.25)
    probabilities = torch.softmax(logits.double(), 1)[0]
    answer = post(served, "/api/models/tricky/predict", k=5).json()["predictions"]
    assert answer[0]["label"] == LABELS[int(probabilities.argmax())]
    assert_close(
        torch.tensor([p["probability"] for p in answer], dtype=torch.float64).sort().values,
        probabilities.sort().values.float(),
        terms=network_terms(model, passes=1),
    )


def test_saliency_filters_and_explorer_over_http(served):
    for method, extra in [("gradient", {}), ("smoothgrad", {"samples": 4}),
                          ("integrated-gradients", {"steps": 8}), ("grad-cam", {"layer": "conv_b"}),
                          ("occlusion", {"patch": 6, "stride": 6})]:  # fmt: skip
        answer = post(served, "/api/models/tricky/saliency", method=method, format="json", **extra)
        assert answer.status_code == 200, answer.text
        assert answer.json()["shape"] == [24, 40]
    maps = get(f"{served}/api/models/tricky/layers/conv_c/activations", image="sample-coffee")
    maps = maps.json()
    assert maps["shape"] == [8, 12, 20]
    best = httpx.post(
        f"{served}/api/models/tricky/layers/conv_a/channels/0/maximize", json={"steps": 2},
        timeout=60,
    )  # fmt: skip
    assert best.status_code == 200, best.text


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("nowhere_at_all:net", "no module 'nowhere_at_all'"),
        ("tests/utils/own_networks.py:LABELS", "is a tuple; it must be a convscope.Network"),
        ("tests/utils/own_networks.py:missing", "has no attribute 'missing'"),
        ("tests/utils/no_such_file.py:net", "there is no file"),
        ("just-a-name", "give module:attr or path/to/file.py:attr"),
    ],
)
def test_a_bad_model_is_refused_with_a_sentence_and_status_2(target, words, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["serve", "--port", str(free_port()), "--model", target]) == 2
    error = capsys.readouterr().err
    assert words in error and "Traceback" not in error
