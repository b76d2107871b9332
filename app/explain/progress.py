"""Progress and cancellation for long computations (SmoothGrad, Integrated Gradients,
occlusion, activation maximisation), with one callback.

A long computation takes ``progress: Progress | None``, a function it calls with the
fraction done (0.0 … 1.0) before each batch and once at the end. The caller decides what
to do with it: a job (:mod:`app.jobs`) records it for the page, and raises
:class:`Cancelled` from it when nobody wants the result any more. The exception leaves
the computation between two batches, so a cancelled request frees its worker thread
within one batch (tens of milliseconds to a second), not at the end of the work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

#: Called with the fraction done; may raise :class:`Cancelled` to stop the computation.
Progress = Callable[[float], None]


class Cancelled(Exception):
    """The computation was stopped before it finished (nobody wants its result)."""

    def __init__(self, message: str = "the computation was cancelled") -> None:
        super().__init__(message)


def report(progress: Progress | None, fraction: float) -> None:
    """Tell ``progress`` the fraction done, if there is a callback."""
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0))


def batches(total: int, size: int, progress: Progress | None = None) -> Iterator[slice]:
    """``range(total)`` in slices of at most ``size``, reporting progress before each slice
    (so a cancellation is seen before any work starts) and 1.0 after the last."""
    if total < 1 or size < 1:
        raise ValueError(f"cannot split {total} items into batches of {size}")
    for start in range(0, total, size):
        report(progress, start / total)
        yield slice(start, min(start + size, total))
    report(progress, 1.0)
