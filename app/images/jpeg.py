"""A JPEG that ends early but closes with a proper end marker decodes without an error:
libjpeg fills the missing blocks with mid-gray and only warns, and Pillow does not pass the
warning on. Two checks catch it, so that an upload is never a grey partial image:

- :func:`check_scan_length` (before decoding): a baseline or extended scan spends at least
  two bits on every 8×8 block (a DC code and an end-of-block code, each at least one bit
  long), so a file whose scan data is shorter than that cannot hold the frame its header
  claims (a 631-byte file saying 5000×5000);
- :func:`check_gray_fill` (after decoding): a scan cut short leaves every block after the
  cut with all coefficients zero, so the bottom rows come out exactly 128 in every channel,
  which a photograph's last rows never are (an image that is mid-gray all over is let
  through). A file cut inside its very last band of blocks leaves only part of the bottom
  rows gray and is not caught: at most one band of blocks (8 or 16 rows) is missing then.
"""

from __future__ import annotations

import struct

import numpy as np

#: Start-of-frame markers of the sequential (baseline and extended) Huffman JPEGs, whose
#: scan codes every block; progressive ones (0xC2) may code long runs of empty blocks.
SEQUENTIAL = (0xC0, 0xC1)
TRUNCATED = (
    "The image file is truncated: it ends before all of its pixels. Upload the complete file."
)


class Frame:
    """What the frame header says: size, sampling factors, and how many bytes the scan has."""

    def __init__(self, marker: int, height: int, width: int, sampling: list[tuple[int, int]]):
        self.marker, self.height, self.width, self.sampling = marker, height, width, sampling
        self.scan_bytes = 0

    @property
    def mcu(self) -> tuple[int, int]:
        """(height, width) in pixels of one minimum coded unit."""
        return 8 * max(v for _, v in self.sampling), 8 * max(h for h, _ in self.sampling)

    @property
    def blocks(self) -> int:
        """8×8 blocks the scan codes: every component's blocks in every MCU."""
        mcu_h, mcu_w = self.mcu
        mcus = -(-self.height // mcu_h) * -(-self.width // mcu_w)
        if len(self.sampling) == 1:  # a single component is not interleaved
            return -(-self.height // 8) * -(-self.width // 8)
        return mcus * sum(h * v for h, v in self.sampling)


def read_frame(data: bytes) -> Frame | None:
    """The frame of a JPEG and the length of its first scan's data, or None when the markers
    cannot be followed (the decoder then has its say)."""
    pos, frame = 2, None
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and len(segment) >= 6:
            height, width = struct.unpack(">HH", segment[1:5])
            count = segment[5]
            sampling = [
                (segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 0x0F)
                for i in range(count)
                if 8 + 3 * i <= len(segment)
            ]
            if not sampling or min(min(s) for s in sampling) < 1:
                return None
            frame = Frame(marker, height, width, sampling)
        if marker == 0xDA:  # start of scan: the entropy-coded data follows its header
            if frame is None:
                return None
            start = pos + 2 + length
            end = _scan_end(data, start)
            frame.scan_bytes = end - start
            return frame
        pos += 2 + length
    return None


def _scan_end(data: bytes, start: int) -> int:
    """Where the entropy-coded data ends: the first marker other than a stuffed 0xFF00 or a
    restart marker (0xFFD0–0xFFD7)."""
    pos = start
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return len(data)
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def check_scan_length(data: bytes) -> None:
    """``ValueError`` (:data:`TRUNCATED`) when a sequential scan is too short for its frame."""
    frame = read_frame(data)
    if frame is None or frame.marker not in SEQUENTIAL:
        return
    if frame.scan_bytes * 8 < 2 * frame.blocks:
        raise ValueError(
            f"The image file is truncated: its header says {frame.width}×{frame.height} "
            f"pixels, but it holds data for far fewer ({frame.scan_bytes:,} bytes for "
            f"{frame.blocks:,} blocks). Upload the complete file."
        )


def check_gray_fill(data: bytes, pixels: np.ndarray) -> None:
    """``ValueError`` (:data:`TRUNCATED`) when the decoded picture's bottom rows (one block,
    8 rows: below any chroma blending across the band above) are the decoder's mid-gray
    fill. ``pixels``: (H, W) or (H, W, 3) uint8, as decoded (before any rotation)."""
    frame = read_frame(data)
    if frame is None or pixels.shape[0] != frame.height or frame.height <= 8:
        return
    if (pixels[-8:] == 128).all() and not (pixels == 128).all():
        raise ValueError(TRUNCATED)
