"""The image intake against hostile and odd files, and the pixel helpers against references."""

from __future__ import annotations

import io
import struct
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from app.images import convert, intake
from app.images.intake import DamagedImage, ImageTooLarge, UnsupportedImage
from tests.utils import images as corpus
from tests.utils.tolerance import assert_close, tolerance

LIMIT = 25_000_000
ACCEPTED = "upload a PNG, JPEG, WebP, GIF or BMP image"


def decode(data: bytes, max_pixels: int = LIMIT) -> intake.Decoded:
    return intake.decode(data, max_pixels=max_pixels)


def hwc(decoded: intake.Decoded) -> np.ndarray:
    return decoded.pixels.permute(1, 2, 0).numpy()


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    """Fail the test if Pillow decodes any pixel data."""

    def refuse(self):  # type: ignore[no-untyped-def]
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


HEADER_BOMBS = {
    "png 50000×50000 (57 bytes)": (corpus.png_header_bomb, "2,500,000,000 pixels"),
    "gif 65535×65535": (corpus.gif_header_bomb, "4,294,836,225 pixels"),
    "bmp 50000×50000": (corpus.bmp_header_bomb, "2,500,000,000 pixels"),
    "jpeg 65000×65000": (corpus.jpeg_header_bomb, "4,225,000,000 pixels"),
    "webp 16384×16384": (corpus.webp_header_bomb, "268,435,456 pixels"),
}


@pytest.mark.parametrize("name", HEADER_BOMBS)
def test_bombs_are_refused_from_the_header_without_decoding(name, no_pixel_decoding):
    make, pixels = HEADER_BOMBS[name]
    with pytest.raises(ImageTooLarge) as refused:
        decode(make())
    assert pixels in str(refused.value)
    assert "the limit is 25 megapixels" in str(refused.value)


def test_the_png_header_bomb_is_57_bytes():
    data = corpus.png_header_bomb()
    assert len(data) == 57
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (50_000, 50_000)


@pytest.mark.parametrize(
    "make",
    [
        lambda: corpus.png_zeros(6000, 5000),
        lambda: corpus.encode(Image.new("RGB", (6000, 5000)), "WEBP", lossless=True),
    ],
    ids=["png", "webp"],
)
def test_small_files_with_too_many_real_pixels_are_refused_unread(make, no_pixel_decoding):
    data = make()
    assert len(data) < 100_000  # kilobytes that would decode to 30 megapixels
    with pytest.raises(ImageTooLarge, match=r"30,000,000 pixels \(6000×5000\); the limit is 25"):
        decode(data)


def test_the_pixel_limit_is_exact():
    data = corpus.solid(100, 100)
    assert decode(data, max_pixels=10_000).pixels.shape == (3, 100, 100)
    with pytest.raises(ImageTooLarge, match=r"10,000 pixels \(100×100\)"):
        decode(data, max_pixels=9_999)


def test_pillows_own_bomb_checks_become_the_same_refusal():
    # a limit far above Pillow's lets its warning (> 89 MP) and error (> 179 MP) fire first
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLarge, match="100,000,000 pixels"):
            decode(corpus.png_header_bomb(10_000, 10_000), max_pixels=10**12)
        with pytest.raises(ImageTooLarge, match="2,500,000,000 pixels"):
            decode(corpus.png_header_bomb(), max_pixels=10**12)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


UNSUPPORTED = {
    "zero bytes": (b"", "The file is empty (0 bytes)"),
    "random bytes": (corpus.random_bytes(), "This file is not an image convscope can read"),
    "svg with script": (corpus.SVG_WITH_SCRIPT, "This file is an SVG drawing"),
    "text renamed .jpg": (corpus.TEXT, "This file is not an image convscope can read"),
    "tiff": (corpus.tiff(), "This file is a TIFF image"),
    "psd": (corpus.PSD, "This file is a Photoshop (PSD) file"),
    "eps": (corpus.EPS, "This file is a PostScript (EPS) file"),
    "pdf": (corpus.PDF, "This file is a PDF document"),
}


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_other_files_are_unsupported_with_the_accepted_formats_named(name):
    data, message = UNSUPPORTED[name]
    with pytest.raises(UnsupportedImage) as refused:
        decode(data)
    assert str(refused.value).startswith(message)
    assert ACCEPTED in str(refused.value)


def test_pillow_can_read_some_refused_formats_so_the_allowlist_matters():
    assert Image.open(io.BytesIO(corpus.tiff())).format == "TIFF"
    assert intake.FORMATS == ("PNG", "JPEG", "WEBP", "GIF", "BMP")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_refused_never_shown_grey(fmt, keep):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    with pytest.raises(DamagedImage, match=r"^The image file is truncated"):
        decode(corpus.truncated(fmt, keep))


def test_a_3000_frame_gif_gives_its_first_frame():
    data = corpus.gif_many_frames(3000)
    assert Image.open(io.BytesIO(data)).n_frames == 3000
    decoded = decode(data)
    assert decoded.format == "GIF"
    assert decoded.pixels.shape == (1, 8, 8)  # black-and-white palette: one gray channel
    assert decoded.pixels.unique().tolist() == [255]


def test_cmyk_jpeg_becomes_rgb():
    decoded = decode(corpus.cmyk_jpeg())
    assert decoded.source_mode == "CMYK"
    assert decoded.pixels.shape == (3, 16, 16)
    assert np.abs(hwc(decoded)[8, 8].astype(int) - [255, 0, 0]).max() <= 3


def test_16_bit_levels_are_rescaled_not_clipped():
    values = [0, 257, 1000, 32768, 65535]
    decoded = decode(corpus.png_16bit(values))
    assert decoded.source_mode == "I;16"
    assert decoded.pixels.shape == (1, 1, 5)
    expected = np.rint(np.array(values) / 257).astype(int).tolist()
    assert decoded.pixels[0, 0].tolist() == expected == [0, 1, 4, 128, 255]


def test_alpha_is_composited_on_white_so_hidden_colour_never_shows():
    decoded = decode(corpus.rgba_hidden_colour())
    assert decoded.source_mode == "RGBA"
    pixels = hwc(decoded)[0].astype(int)
    alpha = np.array([0, 128, 255])[:, None]
    colour = np.array([[255, 0, 0], [0, 0, 255], [10, 20, 30]])
    reference = np.rint(colour * alpha / 255 + 255 * (1 - alpha / 255)).astype(int)
    assert pixels.tolist() == reference.tolist() == [[255, 255, 255], [127, 127, 255], [10, 20, 30]]


def test_exif_orientation_6_is_applied():
    decoded = decode(corpus.exif_rotated(6))
    assert decoded.oriented
    assert decoded.pixels.shape == (3, 40, 20)  # 20 wide, 40 tall, as a viewer shows it
    top, bottom = hwc(decoded)[2, 10].astype(int), hwc(decoded)[37, 10].astype(int)
    assert top[0] > 200 and top[2] < 60  # the red band is now along the top
    assert bottom[2] > 200 and bottom[0] < 60


def test_palette_transparency_and_gray_alpha_are_composited_on_white():
    palette = Image.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.putpixel((1, 0), 1)
    decoded = decode(corpus.encode(palette, "PNG", transparency=0))
    assert hwc(decoded)[0].tolist() == [[255, 255, 255], [0, 255, 0]]
    la = Image.fromarray(np.array([[[100, 0], [100, 255], [0, 51]]], np.uint8), "LA")
    decoded = decode(corpus.encode(la, "PNG"))
    assert decoded.pixels.tolist() == [[[255, 100, 204]]]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "JPEG"])
def test_gray_images_stay_one_channel(fmt):
    decoded = decode(corpus.encode(Image.new("L", (5, 3), 77), fmt))
    assert decoded.pixels.shape == (1, 3, 5)
    assert decoded.pixels.unique().tolist() == [77]


def test_one_bit_images_become_gray_levels():
    image = Image.new("1", (2, 1))
    image.putpixel((1, 0), 1)
    assert decode(corpus.encode(image, "PNG")).pixels.tolist() == [[[0, 255]]]


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("BMP", {}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("JPEG", {"quality": 100}),
    ],
)
def test_every_accepted_format_decodes(fmt, options):
    colour = (200, 100, 50)
    decoded = decode(corpus.encode(Image.new("RGB", (7, 5), colour), fmt, **options))
    assert decoded.format == fmt
    assert decoded.pixels.shape == (3, 5, 7)
    if fmt in ("PNG", "BMP", "WEBP"):  # lossless
        assert hwc(decoded)[2, 3].tolist() == list(colour)


@pytest.mark.parametrize("size", [(1, 1), (1, 10_000), (10_000, 1)])
def test_extreme_aspect_ratios_decode(size):
    width, height = size
    assert decode(corpus.solid(width, height)).pixels.shape == (3, height, width)


# ---------------------------------------------------------------- helpers

pixels_strategy = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(
        lambda w: st.lists(st.integers(0, 255), min_size=3 * h * w, max_size=3 * h * w).map(
            lambda v: torch.tensor(v, dtype=torch.uint8).reshape(3, h, w)
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(pixels_strategy)
def test_gray_is_bt601_luma_rounded_half_up(pixels):
    r, g, b = pixels.numpy().astype(np.int64)
    reference = np.floor((299 * r + 587 * g + 114 * b) / 1000 + 0.5)
    assert convert.to_gray(pixels)[0].numpy().tolist() == reference.astype(int).tolist()
    luma = convert.luma_per_mille(pixels)[0].numpy() / 1000
    # float64: the weights' decimals rounded, 3 products summed (here: exact per mille and
    # one division), relative to the largest level
    assert_close(luma, 0.299 * r + 0.587 * g + 0.114 * b, terms=3 + 2, scale=255.0)


@settings(max_examples=60, deadline=None)
@given(pixels_strategy)
def test_png_round_trip_and_pil_conversions_are_lossless(pixels):
    again = decode(convert.encode_png(pixels))
    assert torch.equal(again.pixels, pixels)
    gray = convert.to_gray(pixels)
    assert torch.equal(decode(convert.encode_png(gray)).pixels, gray)
    assert torch.equal(intake.from_pil(convert.to_pil(pixels)), pixels)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.one_of(st.none(), st.integers(1, 6000)),
    st.one_of(st.none(), st.integers(1, 30_000_000)),
)
def test_fit_within_never_enlarges_and_respects_both_bounds(h, w, max_side, max_pixels):
    fh, fw = convert.fit_within(h, w, max_side=max_side, max_pixels=max_pixels)
    assert 1 <= fh <= h and 1 <= fw <= w
    if max_side is not None:
        assert max(fh, fw) <= max(max_side, 1) or (fh, fw) == (1, 1)
    if max_pixels is not None:
        assert fh * fw <= max_pixels
    if (fh, fw) != (h, w) and min(fh, fw) > 1:  # the aspect ratio, up to rounding
        assert abs(fh / fw - h / w) <= (h / w) * 2.5 / min(fh, fw)


@settings(max_examples=40, deadline=None)
@given(pixels_strategy, st.integers(1, 12), st.integers(1, 12))
def test_resize_is_area_averaging(pixels, h, w):
    resized = convert.resize(pixels, h, w)
    reference = F.interpolate(pixels[None].double(), size=(h, w), mode="area")[0]
    assert resized.dtype == torch.uint8
    # rounded to whole levels from a float32 mean of at most every pixel
    slack = tolerance(torch.float32, scale=255, terms=pixels[0].numel() + 1)["atol"]
    assert (resized.double() - reference).abs().max() <= 0.5 + slack


def test_resize_by_two_is_the_mean_of_each_block():
    pixels = torch.tensor([[[0, 2, 10, 20], [4, 6, 30, 40]]], dtype=torch.uint8)
    assert convert.resize(pixels, 1, 2).tolist() == [[[3, 25]]]


def test_channel_views_tint_one_channel_and_refuse_missing_ones():
    pixels = torch.tensor([[[10]], [[20]], [[30]]], dtype=torch.uint8)
    assert convert.channel_view(pixels, "g")[:, 0, 0].tolist() == [0, 20, 0]
    assert convert.channel_view(pixels, "gray")[:, 0, 0].tolist() == [18]
    assert convert.channel_view(pixels, "rgb") is pixels
    with pytest.raises(ValueError, match="this image has one channel"):
        convert.channel_view(pixels[:1], "r")


@pytest.mark.parametrize(
    "make",
    [
        lambda: corpus.jpeg_cut_with_end_marker(0.5),
        lambda: corpus.jpeg_cut_with_end_marker(0.8),
        lambda: corpus.jpeg_cut_with_end_marker(0.5, gray=True),
        lambda: corpus.jpeg_cut_with_end_marker(0.5, subsampling=0),  # 4:4:4, 8-row blocks
        corpus.jpeg_header_lie,
    ],
    ids=["half", "four-fifths", "gray", "4:4:4", "header lie"],
)
def test_a_jpeg_cut_short_but_closed_is_refused_never_grey(make):
    with pytest.raises(intake.DamagedImage, match="The image file is truncated"):
        decode(make())


def test_the_header_lie_is_refused_before_decoding(no_pixel_decoding):
    with pytest.raises(intake.DamagedImage, match="header says 5000×5000 pixels, but it holds"):
        decode(corpus.jpeg_header_lie())


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (64, 64), (128, 128, 128)),  # mid-gray all over: nothing is missing
        Image.fromarray(corpus.noise(300, 200)),
        Image.fromarray(corpus.noise(300, 200)[..., 0]),
    ],
    ids=["flat gray", "colour", "gray"],
)
@pytest.mark.parametrize("progressive", [False, True])
def test_complete_jpegs_pass_the_truncation_checks(image, progressive):
    data = corpus.encode(image, "JPEG", quality=90, progressive=progressive)
    assert decode(data).pixels.shape[1:] == (image.height, image.width)
