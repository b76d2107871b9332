"""Numbers → colours on the server, for pictures too large to send as numbers (a 1280×320
mixing matrix, a 224×224 saliency map).

The colour scales are the ones the pages draw with Plotly (``static/js/draw/heatmap.js``:
``DIVERGING``, ``SEQUENTIAL``; Plotly.js's built-in ``Hot`` for saliency), as (position,
colour) stops, interpolated linearly in RGB the way Plotly does, so that a picture made
here and a heatmap drawn in the browser agree, and a page can draw the colour bar from the
stops it is sent. Each comes in the two schemes a viewer chooses from (:data:`SCHEMES`):
``standard`` and ``safe``, for colour-blind viewers.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Literal

import numpy as np
import torch
from PIL import Image

Stops = tuple[tuple[float, str], ...]

#: Blue below zero, white at zero, red above (heatmap.js ``DIVERGING``).
DIVERGING: Stops = (
    (0.0, "#2563eb"),
    (0.25, "#93c5fd"),
    (0.5, "#ffffff"),
    (0.75, "#fca5a5"),
    (1.0, "#dc2626"),
)
#: White at zero to blue (heatmap.js ``SEQUENTIAL``).
SEQUENTIAL: Stops = ((0.0, "#ffffff"), (1.0, "#1d4ed8"))
#: Black, red, yellow, white (Plotly.js's ``Hot``): saliency maps over a photo.
HOT: Stops = ((0.0, "#000000"), (0.3, "#e60000"), (0.6, "#ffd200"), (1.0, "#ffffff"))

#: For a gray picture with white ink (an MNIST digit): ``HOT`` ends in white, the ink's own
#: colour, and its strongest values vanish on the strokes; this one ends in a saturated
#: magenta, seen on white and on black alike.
HOT_ON_INK: Stops = ((0.0, "#000000"), (0.35, "#1d4ed8"), (0.7, "#e11d48"), (1.0, "#c026d3"))

#: The colour-blind-safe scheme the viewer may choose instead (``static/js/lib/colormaps.js``
#: ``SCHEMES.safe``, the same stops): purple–white–orange around zero, viridis from zero
#: (light at zero, as white is) and for saliency, plasma over a digit's white ink.
SAFE_DIVERGING: Stops = (
    (0.0, "#5e3c99"),
    (0.25, "#b2abd2"),
    (0.5, "#f7f7f7"),
    (0.75, "#fdb863"),
    (1.0, "#e66101"),
)
SAFE_SEQUENTIAL: Stops = (
    (0.0, "#fde725"),
    (0.25, "#5ec962"),
    (0.5, "#21918c"),
    (0.75, "#3b528b"),
    (1.0, "#440154"),
)
SAFE_HOT: Stops = (
    (0.0, "#440154"),
    (0.25, "#3b528b"),
    (0.5, "#21918c"),
    (0.75, "#5ec962"),
    (1.0, "#fde725"),
)
SAFE_INK: Stops = ((0.0, "#0d0887"), (0.5, "#cc4778"), (1.0, "#f89540"))

Scheme = Literal["standard", "safe"]
#: Each scheme's maps by kind; a request names its scheme as ``colors``.
SCHEMES: dict[str, dict[str, Stops]] = {
    "standard": {"diverging": DIVERGING, "sequential": SEQUENTIAL, "hot": HOT, "ink": HOT_ON_INK},
    "safe": {
        "diverging": SAFE_DIVERGING,
        "sequential": SAFE_SEQUENTIAL,
        "hot": SAFE_HOT,
        "ink": SAFE_INK,
    },
}


def check_scheme(name: str) -> Scheme:
    """``name`` if it is a colour scheme; ``ValueError`` naming the schemes otherwise."""
    if name not in SCHEMES:
        raise ValueError(f"colors must be one of {', '.join(SCHEMES)} (got {name!r})")
    return name  # type: ignore[return-value]


def stops_of(scheme: str, kind: str) -> Stops:
    """The stops of map ``kind`` (diverging, sequential, hot, ink) in colour ``scheme``."""
    return SCHEMES[check_scheme(scheme)][kind]


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def palette(stops: Stops) -> np.ndarray:
    """(256, 3) uint8: the scale at 256 evenly spaced levels."""
    positions = np.array([p for p, _ in stops])
    colors = np.array([_rgb(c) for _, c in stops], dtype=np.float64)  # (stops, 3)
    grid = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(grid, positions, colors[:, k]) for k in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def levels(values: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """uint8 levels 0…255 of ``values`` between ``low`` and ``high`` (clipped outside)."""
    span = high - low if high > low else 1.0
    scaled = (values.detach().float().cpu() - low) * (255.0 / span)
    return scaled.round_().clamp_(0, 255).to(torch.uint8)


def colorize(values: torch.Tensor, low: float, high: float, stops: Stops) -> torch.Tensor:
    """(3, H, W) uint8 RGB of an (H, W) array on the scale from ``low`` to ``high``."""
    table = torch.from_numpy(palette(stops))  # (256, 3)
    return table[levels(values, low, high).long()].permute(2, 0, 1).contiguous()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND = chunk(b"IEND", b"")


def png(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> bytes:
    """PNG bytes of (3, H, W) uint8 RGB, with an (H, W) uint8 alpha channel if given.

    Written directly (PNG spec: IHDR, IDAT of zlib level 1 over rows each led by filter type
    0, IEND): a 224×224 RGBA overlay takes about a millisecond, where Pillow, which tries
    every row filter, took seven."""
    channels = 3 if alpha is None else 4
    _, height, width = rgb.shape
    rows = np.zeros((height, width * channels + 1), dtype=np.uint8)  # filter byte 0, a row
    pixels = rows[:, 1:].reshape(height, width, channels)
    pixels[:, :, :3] = rgb.permute(1, 2, 0).numpy()
    if alpha is not None:
        pixels[:, :, 3] = alpha.numpy()
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if alpha is None else 6, 0, 0, 0)
    return b"".join(
        (
            PNG_SIGNATURE,
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            IEND,
        )
    )


def png_indexed(values: torch.Tensor, low: float, high: float, stops: Stops) -> bytes:
    """PNG bytes of an (H, W) array as an 8-bit palette image of the scale (a third of the
    size of the same picture in RGB)."""
    image = Image.fromarray(levels(values, low, high).numpy(), mode="L").convert("P")
    image.putpalette(palette(stops).tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def stops_list(stops: Stops) -> list[list[float | str]]:
    """The stops as Plotly takes a ``colorscale``: ``[[0, "#2563eb"], ...]``."""
    return [[position, color] for position, color in stops]
