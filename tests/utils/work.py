"""Proof that bad input is refused before any work is done, without a stopwatch: the step that
costs time is made to fail the test if it is reached."""

from __future__ import annotations

import pytest
import torch.nn.functional as F


def forbid_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trace engines (convolution, pooling, transposed convolution) gather their windows
    with ``F.unfold`` / ``F.fold``: while this holds, reaching either fails the test. A
    request refused under it was refused in time that does not grow with its size."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a trace was computed for a request that should be refused first")

    monkeypatch.setattr(F, "unfold", refuse)
    monkeypatch.setattr(F, "fold", refuse)
