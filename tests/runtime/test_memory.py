"""retain_freed_memory: glibc's malloc keeps freed memory for the next model pass."""

from __future__ import annotations

import platform

import pytest

from app.runtime.memory import retain_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="only glibc has mallopt")
def test_glibc_accepts_the_thresholds():
    assert retain_freed_memory() is True
