"""Third-party browser assets shipped inside installed Python packages, never a CDN.

Plotly.js comes from the ``plotly`` package, Swagger UI (for ``/docs``) from
``swagger-ui-bundle-v2``. Each file is read and gzipped once, then served from memory; its URL
carries the package version so browsers may cache it for a year.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _swagger(name: str) -> Callable[[], Path]:
    def locate() -> Path:
        import swagger_ui_bundle

        return Path(swagger_ui_bundle.swagger_ui_path) / name

    return locate


@dataclass(frozen=True)
class VendorFile:
    distribution: str  # the installed package that ships it
    locate: Callable[[], Path]
    media_type: str


VENDOR: dict[str, VendorFile] = {
    "plotly.min.js": VendorFile("plotly", _plotly_js, "text/javascript"),
    "swagger-ui-bundle.js": VendorFile(
        "swagger-ui-bundle-v2", _swagger("swagger-ui-bundle.js"), "text/javascript"
    ),
    "swagger-ui.css": VendorFile("swagger-ui-bundle-v2", _swagger("swagger-ui.css"), "text/css"),
}


@cache
def load(name: str) -> tuple[bytes, bytes]:
    """The file's bytes, raw and gzipped (``KeyError`` for an unknown name)."""
    raw = VENDOR[name].locate().read_bytes()
    return raw, gzip.compress(raw, compresslevel=9, mtime=0)


def vendor_url(name: str) -> str:
    """The versioned URL of a vendor file, for templates."""
    return f"/vendor/{name}?v={metadata.version(VENDOR[name].distribution)}"
