"""/api/images: uploads of hostile and odd files, ids, eviction, PNGs and pixel windows."""

from __future__ import annotations

import io
import resource
import tempfile

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image, ImageFile
from starlette import formparsers

from app.images import convert
from app.main import create_app
from app.settings import Settings
from tests.utils import images as corpus
from tests.utils.tolerance import assert_close

URL = "/api/images"
INFO_KEYS = {
    "id",
    "width",
    "height",
    "channels",
    "mode",
    "format",
    "source_mode",
    "oriented",
    "bytes",
    "sample",
}
ACCEPTED = "upload a PNG, JPEG, WebP, GIF or BMP image"


def upload(client, data: bytes, name: str = "image.png", kind: str = "image/png"):
    return client.post(URL, files={"image": (name, data, kind)})


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> dict:
    """A hand-written multipart/form-data body: (field, filename or None, content) parts."""
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return {
        "content": body,
        "headers": {"content-type": f"multipart/form-data; boundary={boundary}"},
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- hostile files

HOSTILE = {
    "png bomb 50000×50000 (57 bytes)": (corpus.png_header_bomb, 413, "the limit is 25 megapixels"),
    "gif bomb 65535×65535": (corpus.gif_header_bomb, 413, "the limit is 25 megapixels"),
    "bmp bomb 50000×50000": (corpus.bmp_header_bomb, 413, "the limit is 25 megapixels"),
    "jpeg bomb 65000×65000": (corpus.jpeg_header_bomb, 413, "the limit is 25 megapixels"),
    "webp bomb 16384×16384": (corpus.webp_header_bomb, 413, "the limit is 25 megapixels"),
    "png of zeros 6000×5000": (
        lambda: corpus.png_zeros(6000, 5000),
        413,
        "The image has 30,000,000 pixels (6000×5000); the limit is 25 megapixels",
    ),
    "truncated png": (lambda: corpus.truncated("PNG"), 422, "The image file is truncated"),
    "truncated jpeg": (lambda: corpus.truncated("JPEG"), 422, "The image file is truncated"),
    "zero bytes": (lambda: b"", 415, "The file is empty (0 bytes)"),
    "random bytes": (corpus.random_bytes, 415, "This file is not an image convscope can read"),
    "svg with script": (lambda: corpus.SVG_WITH_SCRIPT, 415, "This file is an SVG drawing"),
    "text renamed .jpg": (lambda: corpus.TEXT, 415, "This file is not an image convscope can"),
    "tiff": (corpus.tiff, 415, "This file is a TIFF image"),
    "psd": (lambda: corpus.PSD, 415, "This file is a Photoshop (PSD) file"),
    "eps": (lambda: corpus.EPS, 415, "This file is a PostScript (EPS) file"),
    "pdf": (lambda: corpus.PDF, 415, "This file is a PDF document"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_get_the_right_status_and_a_sentence(client, name):
    make, status, message = HOSTILE[name]
    response = upload(client, make(), name="photo.jpg", kind="image/jpeg")
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    if status == 415:
        assert ACCEPTED in response.json()["detail"]


def test_bombs_are_refused_without_decoding_or_memory_growth(client, monkeypatch):
    def refuse(self):  # type: ignore[no-untyped-def]
        raise AssertionError("pixels were decoded")

    bombs = [corpus.png_header_bomb(), corpus.gif_header_bomb(), corpus.png_zeros(6000, 5000)]
    upload(client, corpus.solid(2, 2))  # warm up
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    before = peak_rss_mb()
    for data in bombs * 5:
        assert upload(client, data).status_code == 413
    assert peak_rss_mb() - before < 64  # decoding any one of them would need gigabytes


ODD = {
    "3000-frame gif": (lambda: corpus.gif_many_frames(3000), (8, 8, 1), "GIF", "P"),
    "cmyk jpeg": (corpus.cmyk_jpeg, (16, 16, 3), "JPEG", "CMYK"),
    "16-bit png": (lambda: corpus.png_16bit([0, 32768, 65535]), (3, 1, 1), "PNG", "I;16"),
    "rgba with hidden colour": (corpus.rgba_hidden_colour, (3, 1, 3), "PNG", "RGBA"),
    "exif orientation 6": (corpus.exif_rotated, (20, 40, 3), "JPEG", "RGB"),
    "1×1": (lambda: corpus.solid(1, 1), (1, 1, 3), "PNG", "RGB"),
    "1×10000": (lambda: corpus.solid(1, 10_000), (1, 10_000, 3), "PNG", "RGB"),
}


@pytest.mark.parametrize("name", ODD)
def test_odd_but_valid_files_are_accepted_and_converted(client, name):
    make, (width, height, channels), fmt, source_mode = ODD[name]
    response = upload(client, make())
    assert response.status_code == 200, response.text
    info = response.json()
    assert set(info) == INFO_KEYS
    assert (info["width"], info["height"], info["channels"]) == (width, height, channels)
    assert info["mode"] == ("L" if channels == 1 else "RGB")
    assert (info["format"], info["source_mode"]) == (fmt, source_mode)
    assert info["oriented"] == (name == "exif orientation 6")


def test_converted_pixels_are_what_the_api_serves(client):
    rgba = upload(client, corpus.rgba_hidden_colour()).json()
    data = client.get(f"{URL}/{rgba['id']}/pixels?rows=1&cols=3").json()
    assert data["values"] == [[[255, 255, 255], [127, 127, 255], [10, 20, 30]]]
    sixteen = upload(client, corpus.png_16bit([0, 32768, 65535])).json()
    data = client.get(f"{URL}/{sixteen['id']}/pixels?rows=1&cols=3").json()
    assert data["values"] == [[[0], [128], [255]]]
    assert "gray" not in data


# ---------------------------------------------------------------- the multipart body


def test_a_2000_part_body_is_refused_at_once(client):
    parts = [(f"field{i}", None, b"x") for i in range(2000)]
    response = client.post(URL, **multipart(parts))
    assert response.status_code == 400  # at the ninth part (the detail says so)
    assert response.json()["detail"] == (
        "The upload has more than 8 parts: send one image in the field 'image'"
    )
    files = [("image" if i == 0 else f"f{i}", f"{i}.png", b"x") for i in range(2000)]
    assert client.post(URL, **multipart(files)).status_code == 400


def test_a_body_over_the_limit_gets_413_with_or_without_content_length(client, settings):
    big = b"\x00" * (settings.max_upload_bytes + 1)
    response = upload(client, big)
    assert response.status_code == 413
    assert response.json()["detail"] == "The request body is too large: the limit is 10 MB"
    body = multipart([("image", "big.png", big)])

    def chunks():
        content = body["content"]
        for start in range(0, len(content), 1 << 16):
            yield content[start : start + (1 << 16)]

    response = client.post(URL, content=chunks(), headers=body["headers"])
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_the_upload_limit_is_a_setting():
    app = create_app(Settings(device="cpu", max_upload_bytes=64 * 1024))
    with TestClient(app) as small:
        response = small.post(
            URL, **multipart([("image", "a.png", b"\x00" * (60 * 1024)), ("note", None, b"x")])
        )
        assert response.status_code == 415  # within the limit: read, then not an image
        response = upload(small, b"\x00" * (70 * 1024))
        assert response.status_code == 413


BAD_BODIES = [
    (
        {"json": {"image": "abc"}},
        415,
        "Send the image as multipart/form-data, with the file in the field 'image'",
    ),
    (
        {"content": b"abc", "headers": {"content-type": "multipart/form-data"}},
        415,
        "Send the image as multipart/form-data",
    ),
    (multipart([("picture", "a.png", b"x")]), 422, "No file was sent in the field 'image'"),
    (multipart([("image", None, b"x")]), 422, "No file was sent in the field 'image'"),
    (
        multipart([("image", "a.png", b"x"), ("image", "b.png", b"y")]),
        400,
        "Send one image at a time: the field 'image' came twice",
    ),
    (
        multipart([("image", "a.png", b"x"), ("note", None, b"n" * 2000)]),
        400,
        "The form field 'note' is longer than 1024 bytes",
    ),
    (
        {
            "content": b"--b\r\nnot a header line\r\n\r\nx\r\n--b--\r\n",
            "headers": {"content-type": "multipart/form-data; boundary=b"},
        },
        400,
        "The upload is not valid multipart/form-data",
    ),
]


@pytest.mark.parametrize(("request_args", "status", "message"), BAD_BODIES)
def test_malformed_uploads_are_refused_with_a_sentence(client, request_args, status, message):
    response = client.post(URL, **request_args)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_uploads_never_touch_the_disk(client, monkeypatch):
    def no_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an upload was spooled to disk")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", no_disk)  # Starlette's form parser
    photo = corpus.encode(Image.fromarray(corpus.noise(1400, 1000)), "PNG")  # ≈ 4 MB
    assert len(photo) > 2 * 1024 * 1024
    response = upload(client, photo)
    assert response.status_code == 200
    assert (response.json()["width"], response.json()["height"]) == (1400, 1000)


# ---------------------------------------------------------------- ids, eviction, samples


def test_the_same_bytes_get_the_same_id(client):
    data = corpus.solid(3, 2, (9, 8, 7))
    first, second = upload(client, data).json(), upload(client, data, name="other.png").json()
    assert first["id"] == second["id"]
    assert len(first["id"]) == 32


def test_an_evicted_id_is_a_404_that_says_to_upload_again():
    app = create_app(Settings(device="cpu", image_cache_items=1))
    with TestClient(app) as small:
        first = upload(small, corpus.solid(2, 2, (1, 1, 1))).json()["id"]
        assert small.get(f"{URL}/{first}").status_code == 200
        upload(small, corpus.solid(2, 2, (2, 2, 2)))
        for path in ("", "/png", "/pixels"):
            response = small.get(f"{URL}/{first}{path}")
            assert response.status_code == 404
            assert response.json()["detail"] == (
                f"There is no image '{first}' on the server (it may have been removed from the "
                "cache to make room): upload it again"
            )
        response = small.post("/api/kernels", json={"image": first, "kernel": "sharpen"})
        assert response.status_code == 404
        assert "upload it again" in response.json()["detail"]


def test_samples_are_listed_and_usable_like_uploads(client):
    samples = client.get(f"{URL}/samples").json()
    ids = [s["id"] for s in samples]
    for name in ("chelsea", "coffee", "astronaut", "rocket", "camera"):
        assert f"sample-{name}" in ids
    assert sum(s["kind"] == "digit" for s in samples) == 10
    info = client.get(f"{URL}/sample-coffee").json()
    assert (info["width"], info["height"], info["channels"]) == (600, 400, 3)
    assert info["sample"]["credit"] == "Rachel Michetti, CC0"
    assert client.get(f"{URL}/sample-coffee?size=60").json()["view"] == {"width": 60, "height": 40}


# ---------------------------------------------------------------- PNG and pixels


def test_pngs_are_re_encoded_never_the_uploaded_bytes(client):
    jpeg = corpus.encode(Image.fromarray(corpus.noise(30, 20)), "JPEG", quality=90)
    info = upload(client, jpeg, "a.jpg", "image/jpeg").json()
    response = client.get(f"{URL}/{info['id']}/png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content != jpeg and response.content.startswith(b"\x89PNG")
    served = np.asarray(Image.open(io.BytesIO(response.content)))
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
    assert np.array_equal(served, decoded)
    png = corpus.solid(5, 5, (4, 5, 6))
    same_format = client.get(f"{URL}/{upload(client, png).json()['id']}/png").content
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(same_format))), np.full((5, 5, 3), [4, 5, 6])
    )


def test_png_sizes_and_channels(client):
    response = client.get(f"{URL}/sample-chelsea/png?size=100&channel=g")
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (100, 67) and image.mode == "RGB"
    pixels = np.asarray(image)
    assert pixels[..., 0].max() == 0 and pixels[..., 2].max() == 0 and pixels[..., 1].max() > 0
    gray = Image.open(io.BytesIO(client.get(f"{URL}/sample-chelsea/png?channel=gray").content))
    assert gray.mode == "L" and gray.size == (451, 300)
    big = Image.open(io.BytesIO(client.get(f"{URL}/sample-mnist-3/png?size=500").content))
    assert big.size == (28, 28)  # never enlarged


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("/png?channel=r", "this image has one channel (gray), so it has no r channel"),
        ("/png?channel=x", "channel: Input should be 'rgb', 'r', 'g', 'b' or 'gray'"),
        ("/png?size=0", "size: Input should be greater than or equal to 1"),
        ("/pixels?rows=65", "rows: Input should be less than or equal to 64"),
        ("/pixels?top=-1", "top: Input should be greater than or equal to 0"),
        ("/pixels?top=600", "the window starts at row 600, column 0, outside the 512×512 image"),
    ],
)
def test_bad_png_and_pixel_queries_get_422_with_a_sentence(client, query, message):
    response = client.get(f"{URL}/sample-camera{query}")
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_pixel_windows_are_the_decoded_numbers_with_their_gray_levels(client):
    reference = np.asarray(Image.open("static/samples/chelsea.png").convert("RGB")).astype(int)
    data = client.get(f"{URL}/sample-chelsea/pixels?top=100&left=200&rows=5&cols=7").json()
    assert set(data) == {
        "id",
        "width",
        "height",
        "channels",
        "names",
        "top",
        "left",
        "rows",
        "cols",
        "values",
        "gray",
        "luma",
    }
    assert data["names"] == ["R", "G", "B"]
    window = reference[100:105, 200:207]
    assert data["values"] == window.tolist()
    luma = window @ np.array([0.299, 0.587, 0.114])
    # float64: the weights' decimals rounded, 3 products summed (the server: exact per
    # mille, one division)
    assert_close(data["luma"], luma, terms=3 + 2, scale=255.0)
    assert data["gray"] == np.floor(luma + 0.5).astype(int).tolist()


def test_pixel_windows_are_clipped_to_the_image_and_follow_the_size(client):
    data = client.get(f"{URL}/sample-chelsea/pixels?size=32&top=18&left=28&rows=10&cols=10").json()
    assert (data["width"], data["height"]) == (32, 21)
    assert (data["rows"], data["cols"]) == (3, 4)
    cat = np.asarray(Image.open("static/samples/chelsea.png").convert("RGB"))
    small = convert.resize(torch.from_numpy(cat.copy()).permute(2, 0, 1), 21, 32)
    assert data["values"] == small[:, 18:21, 28:32].permute(1, 2, 0).tolist()
    digit = client.get(f"{URL}/sample-mnist-0/pixels?rows=28&cols=28").json()
    assert digit["names"] == ["gray"] and "gray" not in digit
    assert np.array_equal(
        np.array(digit["values"])[..., 0], np.asarray(Image.open("static/samples/mnist-0.png"))
    )
