"""Run-time settings, read from ``CONVSCOPE_*`` environment variables (pydantic-settings).

Handlers get them through the cached :func:`get_settings` dependency, which tests override.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root: ``templates/``, ``static/`` and ``models/`` live beside ``app/``.
ROOT = Path(__file__).resolve().parent.parent

DeviceName = Literal["auto", "cpu", "cuda", "mps"]


class Settings(BaseSettings):
    """Everything an operator can change without touching code."""

    model_config = SettingsConfigDict(env_prefix="CONVSCOPE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    device: DeviceName = "auto"

    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"
    model_dir: Path = ROOT / "models"

    #: Largest JSON request body, in bytes; bigger bodies get 413 before they are read.
    max_json_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    #: Largest upload (multipart) body, in bytes.
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    #: Path prefixes whose requests carry uploads (multipart images) rather than JSON.
    upload_prefixes: tuple[str, ...] = ("/api/images", "/api/models")

    #: Threads that run heavy computations, and how many requests may wait for one.
    compute_workers: int = Field(2, ge=1, le=64)
    compute_queue: int = Field(32, ge=0, le=10_000)
    #: Seconds a client is told to wait (Retry-After) when the queue is full.
    retry_after_s: int = Field(2, ge=1)
    #: Intra-op threads torch may use per computation (0: leave torch's default).
    torch_threads: int = Field(0, ge=0, le=256)

    def upload_paths(self) -> dict[str, int]:
        """Body limits by path prefix: uploads may be larger than JSON requests."""
        return dict.fromkeys(self.upload_prefixes, self.max_upload_bytes)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (a FastAPI dependency; tests override it)."""
    return Settings()
