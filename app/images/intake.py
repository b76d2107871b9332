"""Image intake: the only code that decodes uploaded bytes.

:func:`decode` turns the bytes of an upload into pixels, refusing anything it should not
read, each time with a sentence a person understands:

1. Pillow opens the bytes with an explicit format allowlist (:data:`FORMATS`: PNG, JPEG,
   WebP, GIF, BMP). Opening reads only the header; SVG, PSD, TIFF, EPS, PDF and anything
   else is :class:`UnsupportedImage` (HTTP 415), with a word on what the file seems to be.
2. The dimensions in the header are checked against the pixel limit *before any pixel is
   decoded*: a 57-byte PNG that claims 50000×50000 is :class:`ImageTooLarge` (413) in
   microseconds. Pillow's own decompression-bomb warning and error count as the same.
3. The first frame is decoded. A file that ends early is :class:`DamagedImage` (422,
   "the image file is truncated"): ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays off, and a
   JPEG cut short but closed with an end marker (which libjpeg fills with gray, without an
   error) is caught by :mod:`app.images.jpeg`, so there is never a grey partial image.
4. EXIF orientation is applied, then every mode is converted deliberately (:func:`from_pil`):
   palette and alpha images are composited on white (a colour hidden under alpha 0 never
   shows), CMYK and other colour spaces become RGB, 16-bit images are rescaled to 0–255
   (not clipped), and grayscale stays one channel.

Pixels everywhere else are ``uint8`` tensors ``(C, H, W)`` with C = 1 (gray) or 3 (RGB);
:mod:`app.images.convert` resizes them, turns them into gray and encodes PNG.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from app.images import jpeg

#: The formats Pillow may open, by Pillow's format id.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
#: The same, as people write them, and as media types (for a file picker's ``accept``).
ACCEPTED = "PNG, JPEG, WebP, GIF or BMP"
MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp")


#: Signatures of files people upload by mistake, for a helpful 415 sentence.
_LOOKS_LIKE = (
    (b"<?xml", "an XML document"),
    (b"%PDF", "a PDF document"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"%!PS", "a PostScript (EPS) file"),
    (b"\xc5\xd0\xd3\xc6", "a PostScript (EPS) file"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
)
_ISO_BRANDS = {b"heic": "a HEIC photo", b"heix": "a HEIC photo", b"mif1": "a HEIF image"}
_ISO_BRANDS |= {b"avif": "an AVIF image", b"avis": "an AVIF image"}

# Pillow's decompression-bomb *warning* is turned into an error while opening; the warnings
# filters are process-wide, so the switch is serialised (opening reads only a header).
_OPEN_LOCK = threading.Lock()


class ImageError(ValueError):
    """An upload that cannot be used; the message is a sentence for a person."""


class UnsupportedImage(ImageError):
    """Not an image in an accepted format (HTTP 415)."""


class ImageTooLarge(ImageError):
    """More pixels (or bytes) than the limits allow (HTTP 413)."""


class DamagedImage(ImageError):
    """An accepted format whose data is truncated or corrupt (HTTP 422)."""


@dataclass(frozen=True)
class Decoded:
    """An upload's pixels after orientation and mode conversion."""

    pixels: torch.Tensor  # (C, H, W) uint8, C = 1 (gray) or 3 (RGB)
    format: str  # Pillow's format id: PNG, JPEG, WEBP, GIF, BMP
    source_mode: str  # the file's Pillow mode: P, RGBA, CMYK, I;16, ...
    oriented: bool  # an EXIF orientation other than 1 was applied


def megapixels(pixels: int) -> str:
    """``25 megapixels``, ``2,500 megapixels``, ``0.5 megapixels``."""
    value = pixels / 1_000_000
    return f"{value:,.0f} megapixels" if value >= 10 else f"{value:.3g} megapixels"


def human_size(n: int) -> str:
    """Bytes as a short human figure: ``2 MB``, ``512 kB``."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _too_large(pixels: int, limit: int, size: tuple[int, int] | None = None) -> ImageTooLarge:
    dims = f" ({size[0]}×{size[1]})" if size else ""
    return ImageTooLarge(
        f"The image has {pixels:,} pixels{dims}; the limit is {megapixels(limit)}. "
        "Upload a smaller image."
    )


def _bomb_pixels(error: Exception) -> int | None:
    """The pixel count in Pillow's decompression-bomb message."""
    text = str(error)
    if "(" in text and " pixels)" in text:
        number = text.split("(", 1)[1].split(" pixels)", 1)[0]
        if number.isdigit():
            return int(number)
    return None


def _what_is(data: bytes) -> str | None:
    if b"<svg" in data[:1024].lower():
        return "an SVG drawing"
    head = data[:64].lstrip()
    for signature, name in _LOOKS_LIKE:
        if head.startswith(signature) or data.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_BRANDS:
        return _ISO_BRANDS[data[8:12]]
    return None


def _unsupported(data: bytes) -> UnsupportedImage:
    if not data:
        return UnsupportedImage(f"The file is empty (0 bytes): upload a {ACCEPTED} image.")
    kind = _what_is(data)
    if kind:
        return UnsupportedImage(
            f"This file is {kind}, which convscope does not read: upload a {ACCEPTED} image."
        )
    return UnsupportedImage(
        f"This file is not an image convscope can read: upload a {ACCEPTED} image."
    )


def _open(data: bytes, max_pixels: int) -> ImageFile.ImageFile:
    """Identify the format and read the header; refuse too many pixels before decoding."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        pixels = _bomb_pixels(error) or max_pixels + 1
        raise _too_large(pixels, max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError):
        raise _unsupported(data) from None
    width, height = image.size
    if width < 1 or height < 1:
        raise DamagedImage(f"The image header says it is {width}×{height} pixels: it is empty.")
    if width * height > max_pixels:
        raise _too_large(width * height, max_pixels, (width, height))
    return image


def _load(image: ImageFile.ImageFile) -> None:
    """Decode the first frame; a short or corrupt file is an error, never a partial image."""
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(f"The image is too large to decode: {error}") from None
    except (OSError, EOFError, SyntaxError, ValueError, IndexError) as error:
        text = str(error)
        if "truncated" in text or isinstance(error, EOFError) or "end of file" in text:
            raise DamagedImage(
                "The image file is truncated: it ends before all of its pixels. "
                "Upload the complete file."
            ) from None
        raise DamagedImage(f"The image file is damaged and cannot be decoded ({text}).") from None


def _jpeg_check(check: Callable[..., None], *args: object) -> None:
    """A JPEG check of :mod:`app.images.jpeg`; its refusal is a :class:`DamagedImage`."""
    try:
        check(*args)
    except ValueError as error:
        raise DamagedImage(str(error)) from None


def _orient(image: Image.Image) -> tuple[Image.Image, bool]:
    """Apply the EXIF orientation; unreadable EXIF is ignored rather than fatal."""
    try:
        orientation = image.getexif().get(0x0112, 1)
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(image), True
    except Exception:  # metadata must never sink an otherwise good image
        return image, False
    return image, False


def _on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite straight-alpha colour on white: ``c·a + 255·(1 − a)``, rounded, uint8."""
    a = alpha.astype(np.uint32)[..., None] if color.ndim == 3 else alpha.astype(np.uint32)
    mixed = color.astype(np.uint32) * a + 255 * (255 - a)
    return ((mixed + 127) // 255).astype(np.uint8)


def _rescaled_16(values: np.ndarray) -> np.ndarray:
    """16-bit (0–65535) levels to 0–255, rounded: v / 257. Other ranges: min–max."""
    values = values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and hi <= 65535:
        return np.rint(values / 257).astype(np.uint8)
    span = hi - lo or 1.0
    return np.rint((values - lo) / span * 255).astype(np.uint8)


def _palette_is_gray(image: Image.Image) -> bool:
    palette = image.getpalette() or []
    # a "P" image's colours are palette indices (ints), which getcolors' type leaves open
    colors = cast("list[tuple[int, int]]", image.getcolors(256) or [])
    used = {index for _, index in colors}
    triples = [palette[3 * i : 3 * i + 3] for i in used if 3 * i + 2 < len(palette)]
    return bool(triples) and all(r == g == b for r, g, b in triples)


def as_array(image: Image.Image) -> np.ndarray:
    """Any PIL image as ``uint8`` ``(H, W)`` gray or ``(H, W, 3)`` RGB, converted on purpose."""
    mode = image.mode
    if mode == "L":
        return np.asarray(image)
    if mode == "1":
        return np.asarray(image.convert("L"))
    if mode.startswith("I") or mode == "F":  # 16-bit or 32-bit gray levels
        return _rescaled_16(np.asarray(image))
    if mode == "P":
        if "transparency" in image.info:
            return as_array(image.convert("RGBA"))
        return np.asarray(image.convert("L" if _palette_is_gray(image) else "RGB"))
    if mode in ("LA", "La"):
        la = np.asarray(image.convert("LA"))
        return _on_white(la[..., 0], la[..., 1])
    if mode in ("RGBA", "RGBa", "PA"):
        rgba = np.asarray(image.convert("RGBA"))
        return _on_white(rgba[..., :3], rgba[..., 3])
    if mode == "RGB":
        return np.asarray(image)
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(image.convert("RGB"))
    raise UnsupportedImage(f"Images in Pillow mode {mode} are not supported.")


def from_pil(image: Image.Image) -> torch.Tensor:
    """A PIL image (any mode) as ``uint8`` ``(C, H, W)``, C = 1 or 3."""
    array = as_array(image)  # (H, W) or (H, W, 3), often a read-only view of Pillow's bytes
    chw = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.array(chw, order="C", copy=True))  # one copy, owned by torch


def decode(data: bytes, *, max_pixels: int) -> Decoded:
    """The upload's first frame as pixels, or an :class:`ImageError` saying why not."""
    image = _open(data, max_pixels)
    source_mode = image.mode
    if image.format == "JPEG":
        _jpeg_check(jpeg.check_scan_length, data)
    _load(image)
    if image.format == "JPEG" and image.mode in ("L", "RGB"):
        _jpeg_check(jpeg.check_gray_fill, data, np.asarray(image))
    oriented, changed = _orient(image)
    pixels = from_pil(oriented)
    return Decoded(pixels, image.format or "?", source_mode, changed)
