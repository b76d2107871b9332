"""A corpus of hostile and odd image files, generated on the fly (nothing is stored).

Bombs are written by hand from their headers (a PNG IHDR, a GIF screen descriptor, a BMP
info header, a JPEG SOF, a WebP VP8X chunk), so they are tiny and claim huge sizes; the
rest are made with Pillow and then damaged, renamed or dressed up as needed.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A 57-byte PNG whose header claims ``width``×``height`` RGB pixels (and no data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"")
        + _png_chunk(b"IEND", b"")
    )


def png_zeros(width: int, height: int) -> bytes:
    """A valid gray PNG of zeros: megapixels that compress to kilobytes (a content bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif_header_bomb() -> bytes:
    """A GIF whose screen and first frame claim 65535×65535 pixels."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
        + b"\x02\x02\x44\x01\x00\x3b"
    )


def bmp_header_bomb() -> bytes:
    """The 54-byte header of a 50000×50000 24-bit BMP, and nothing else."""
    info = struct.pack("<IiiHHIIiiII", 40, 50_000, 50_000, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + info


def jpeg_header_bomb() -> bytes:
    """A tiny JPEG whose frame header (SOF0) was edited to claim 65000×65000 pixels."""
    data = encode(Image.new("RGB", (8, 8)), "JPEG")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", 65_000, 65_000) + data[sof + 9 :]


def webp_header_bomb() -> bytes:
    """A WebP whose extended header (VP8X) claims a 16384×16384 canvas."""
    vp8x = bytes([0x10, 0, 0, 0]) + (16383).to_bytes(3, "little") * 2
    small = encode(Image.new("RGB", (1, 1)), "WEBP", lossless=True)
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + small[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gif_many_frames(frames: int = 3000, size: int = 8) -> bytes:
    """A GIF with ``frames`` frames, built by repeating one frame's bytes."""
    one = encode(Image.new("P", (size, size), 1), "GIF", palette=[0, 0, 0, 255, 255, 255])
    table = 3 * 2 ** ((one[10] & 0x07) + 1) if one[10] & 0x80 else 0
    pos = 13 + table
    while one[pos] == 0x21:  # skip extension blocks
        pos += 2
        while one[pos]:
            pos += one[pos] + 1
        pos += 1
    frame = one[pos:-1]  # image descriptor, LZW data, up to the trailer
    return one[:pos] + frame * frames + b"\x3b"


def noise(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def truncated(fmt: str, keep: float = 0.6) -> bytes:
    """A 128×128 noise image in ``fmt``, cut off after ``keep`` of its bytes."""
    data = encode(Image.fromarray(noise(128, 128)), fmt)
    return data[: int(len(data) * keep)]


def cmyk_jpeg() -> bytes:
    """A CMYK JPEG of pure red (C=0, M=Y=100%, K=0)."""
    return encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=95)


def png_16bit(values: list[int]) -> bytes:
    """A one-row 16-bit gray PNG holding ``values`` (0–65535)."""
    return encode(Image.fromarray(np.array([values], dtype=np.uint16)), "PNG")


def rgba_hidden_colour() -> bytes:
    """RGBA pixels: red under alpha 0 (hidden), blue at alpha 128, opaque dark gray."""
    pixels = np.array([[[255, 0, 0, 0], [0, 0, 255, 128], [10, 20, 30, 255]]], dtype=np.uint8)
    return encode(Image.fromarray(pixels, "RGBA"), "PNG")


def exif_rotated(orientation: int = 6) -> bytes:
    """A 40×20 JPEG, blue with a red band on the left 8 columns, EXIF orientation 6: shown
    upright it is 20×40 with the red band along the top."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 8, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def solid(width: int, height: int, colour: tuple[int, ...] = (1, 2, 3), fmt: str = "PNG") -> bytes:
    return encode(Image.new("RGB", (width, height), colour), fmt)


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nnewpath 0 0 moveto showpage\n"
PSD = b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 10, 10, 8, 3) + b"\x00" * 64
TEXT = b"This is a text file with a .jpg name.\n"


def tiff() -> bytes:
    return encode(Image.fromarray(noise(8, 8)), "TIFF")


def random_bytes(n: int = 4096, seed: int = 1) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def jpeg_cut_with_end_marker(keep: float = 0.5, *, gray: bool = False, **options: Any) -> bytes:
    """A noise JPEG cut to ``keep`` of its bytes and closed with an end-of-image marker: libjpeg
    decodes it without an error, filling the missing blocks with mid-gray."""
    pixels = noise(300, 200)
    image = Image.fromarray(pixels[..., 0] if gray else pixels)
    data = encode(image, "JPEG", quality=90, **options)
    return data[: int(len(data) * keep)] + b"\xff\xd9"


def jpeg_header_lie(width: int = 5000, height: int = 5000) -> bytes:
    """A 631-byte JPEG whose frame header was edited to claim ``width``×``height`` pixels,
    within the pixel limit: it decodes as a grey picture of that size."""
    data = encode(Image.new("RGB", (8, 8)), "JPEG")
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]
