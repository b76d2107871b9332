"""Bad input over HTTP: refused with a sentence, and before any work is done (proved without
a stopwatch: the step that costs time is made to fail the test if it is reached)."""

from __future__ import annotations

from typing import Any

import pytest
import torch.nn.functional as F
from fastapi.testclient import TestClient


def forbid_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trace engines (convolution, pooling, transposed convolution) gather their windows
    with ``F.unfold`` / ``F.fold``: while this holds, reaching either fails the test. A
    request refused under it was refused in time that does not grow with its size."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a trace was computed for a request that should be refused first")

    monkeypatch.setattr(F, "unfold", refuse)
    monkeypatch.setattr(F, "fold", refuse)


def assert_refused(
    client: TestClient, url: str, message: str, *, body: Any = None, raw: str | None = None
) -> None:
    """POST ``body`` as JSON (or ``raw`` text as a JSON body) and expect a 422 whose detail
    says ``message``."""
    if raw is None:
        response = client.post(url, json=body)
    else:
        response = client.post(url, content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
