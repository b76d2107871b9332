"""retain_freed_memory: glibc's malloc keeps freed memory for the next model pass, in worker
threads too."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from app.runtime.memory import retain_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="only glibc has mallopt")
def test_glibc_accepts_the_thresholds():
    assert retain_freed_memory() is True


WORKER_HEAP = """
import ctypes, ctypes.util
from app.runtime.memory import retain_freed_memory
assert retain_freed_memory()  # first thing, as `convscope serve` does
import threading, torch  # threads of numpy's and torch's, and a model's OpenMP helpers
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = libc.sbrk.restype = ctypes.c_void_p
libc.malloc.argtypes, libc.sbrk.argtypes = [ctypes.c_size_t], [ctypes.c_long]
torch.nn.Conv2d(3, 64, 3)(torch.rand(2, 3, 224, 224))
found = []

def worker():  # a block under the mmap threshold: from this thread's arena
    torch.rand(1 << 20).sum()
    found.append(libc.malloc(1 << 20) < libc.sbrk(0))  # below the break: the main heap

thread = threading.Thread(target=worker)
thread.start()
thread.join()
print(found[0])
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="only glibc has mallopt")
def test_a_worker_thread_allocates_from_the_main_heap():
    """A thread started after the call allocates from the main heap (below the program
    break), whose freed memory is kept: a thread's own arena gives its emptied heaps back to
    the kernel after each pass (Integrated Gradients on a worker thread: ~290,000 page
    faults a map against ~20,000)."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER_HEAP], capture_output=True, text=True, timeout=120,
        check=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.stdout.strip() == "True", done.stdout + done.stderr
