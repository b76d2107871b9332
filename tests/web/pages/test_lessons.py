"""The image pages' HTML: headings, the shared image picker, payloads, links and assets."""

from __future__ import annotations

import pytest

from app.images.samples import SAMPLES
from tests.utils.html import parse, payload


@pytest.mark.parametrize(
    ("path", "heading", "script"),
    [
        ("/pixels", "Images as numbers", "pages/pixels.js"),
        ("/kernels", "Kernels on photos", "pages/kernels.js"),
    ],
)
def test_image_pages_have_the_picker_every_sample_and_their_assets(client, path, heading, script):
    response = client.get(path)
    assert response.status_code == 200
    page = parse(response.text)
    assert page.h1 == [heading]
    assert {"picker", "picker-file", "stage", "error", "payload"} <= page.ids
    assert [o for o in page.options if o.startswith("sample-")] == list(SAMPLES)
    assert any("css/picker.css?v=" in href for href in page.stylesheets)
    assert f"js/{script}?v=" in response.text
    data = payload(response.text)
    assert data["images"]["limits"]["max_upload_bytes"] == 10 * 1024 * 1024
    assert data["images"]["accept_types"] == "image/png,image/jpeg,image/webp,image/gif,image/bmp"
    assert 'accept="image/png,image/jpeg,image/webp,image/gif,image/bmp"' in response.text
    assert "10 MB per upload and 25 megapixels per image" in response.text


def test_kernels_page_offers_every_preset(client):
    page = parse(client.get("/kernels").text)
    for name in (
        "identity",
        "sharpen",
        "box_blur",
        "gaussian_blur",
        "gaussian_blur_5",
        "laplacian",
        "outline",
        "emboss",
        "sobel_left",
        "prewitt_bottom",
    ):
        assert name in page.options


def test_the_navigation_links_the_new_lessons(client):
    html = client.get("/").text
    assert 'href="/pixels"' in html and 'href="/kernels"' in html
