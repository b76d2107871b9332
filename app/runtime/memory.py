"""Keep freed memory in the process for the next request (glibc's malloc only).

A forward pass that keeps every layer's output (the network explorer) holds ~75 MB for
EfficientNet-Lite0 and frees it at the end. By default glibc hands such memory back to the
kernel at once and takes it again on the next pass, and every fresh page costs a page
fault and zeroing: the captured pass then runs ~1.6–1.9× slower than the plain one instead
of ~1.25× (``python -m bench models``). Raising the trim and mmap thresholds keeps the
memory for reuse, as the plain pass's buffers are reused.

Those thresholds hold for the main thread's heap only: a worker thread gets an arena of its
own, made of 64 MB heaps that glibc unmaps as soon as they empty. Integrated Gradients on
the team thread (:class:`app.runtime.workers.Cores`) took ~290,000 page faults a map and
1.4–1.7 s, against ~20,000 and 1.1 s on the main thread. So every thread allocates from the
one main heap (``M_ARENA_MAX`` 1). It holds for threads that get their arena after the
call: a thread started earlier (numpy's and torch's, at import) keeps its own, and a new
thread may be given one of those, so ``convscope serve`` calls it before importing them.
Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

TRIM_THRESHOLD = 512 * 1024 * 1024  # keep up to this much freed memory at the heap's top
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum: blocks below come from the heap


def retain_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory; False where that is not possible."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    settings = ((M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                (M_ARENA_MAX, 1))  # fmt: skip
    return all([bool(mallopt(option, value)) for option, value in settings])
