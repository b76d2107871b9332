"""The in-memory image store: content-hash ids, LRU eviction by count and bytes, samples; and
behind a load balancer, uploads' bytes shared through a real Redis (an upload through one
replica is decoded by another), with a TTL, and Redis out of reach no error."""

from __future__ import annotations

import hashlib

import pytest
import torch

from app.images import convert, intake
from app.images.samples import SAMPLES
from app.images.store import ImageStore, UnknownImage, upload_id
from app.runtime.cache import LRUCache
from app.runtime.state import SharedState
from app.settings import ROOT
from tests.utils import images as corpus
from tests.utils.redis_server import RedisServer


def store(
    max_items: int = 8, max_bytes: int = 1 << 20, shared: SharedState | None = None
) -> ImageStore:
    return ImageStore(
        max_items=max_items,
        max_bytes=max_bytes,
        max_pixels=25_000_000,
        sample_dir=ROOT / "static" / "samples",
        shared=shared,
    )


def test_the_id_is_a_content_hash_and_the_same_bytes_are_decoded_once(monkeypatch):
    images = store()
    data = corpus.solid(4, 3)
    calls = []
    real = intake.decode
    monkeypatch.setattr(intake, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = images.add(data)
    again = images.add(data)
    assert first.id == again.id == hashlib.sha256(data).hexdigest()[:32] == upload_id(data)
    assert len(calls) == 1
    assert images.get(first.id) is first
    assert first.info() == {
        "id": first.id,
        "width": 4,
        "height": 3,
        "channels": 3,
        "mode": "RGB",
        "format": "PNG",
        "source_mode": "RGB",
        "oriented": False,
        "bytes": len(data),
        "sample": None,
    }


def test_least_recently_used_images_go_first_when_the_count_is_reached():
    images = store(max_items=2)
    a, b = images.add(corpus.solid(2, 2, (1, 1, 1))), images.add(corpus.solid(2, 2, (2, 2, 2)))
    images.get(a.id)  # a is now more recent than b
    c = images.add(corpus.solid(2, 2, (3, 3, 3)))
    assert images.get(a.id) is a and images.get(c.id) is c
    with pytest.raises(UnknownImage, match="upload it again"):
        images.get(b.id)


def test_the_byte_budget_evicts_too_and_an_oversized_image_is_not_kept():
    images = store(max_items=100, max_bytes=3 * 10 * 10 * 2)  # room for two 10×10 RGB images
    ids = [images.add(corpus.solid(10, 10, (i, i, i))).id for i in range(3)]
    assert images.uploads.nbytes <= 600
    with pytest.raises(UnknownImage):
        images.get(ids[0])
    assert images.get(ids[2]).width == 10
    big = images.add(corpus.solid(20, 20))  # 1,200 bytes: answered, but not kept
    assert big.width == 20
    with pytest.raises(UnknownImage):
        images.get(big.id)


@pytest.mark.parametrize("image_id", ["nope", "../../etc/passwd", "0" * 31, "A" * 32, "x" * 500])
def test_unknown_ids_are_refused_with_a_sentence(image_id):
    with pytest.raises(UnknownImage) as refused:
        store().get(image_id)
    assert str(refused.value).startswith("There is no image")
    assert len(str(refused.value)) < 200


def test_samples_are_available_by_id_and_never_evicted():
    images = store(max_items=1, max_bytes=1 << 20)
    cat = images.get("sample-chelsea")
    assert (cat.width, cat.height, cat.channels) == (451, 300, 3)
    assert cat.sample is SAMPLES["sample-chelsea"]
    camera = images.get("sample-camera")
    assert camera.channels == 1  # a gray photo stays one channel
    digit = images.get("sample-mnist-7")
    assert (digit.width, digit.height, digit.channels) == (28, 28, 1)
    for i in range(3):
        images.add(corpus.solid(3, 3, (i, i, i)))
    assert images.get("sample-chelsea") is cat


def test_every_sample_decodes_through_the_intake():
    images = store()
    for sample_id, sample in SAMPLES.items():
        image = images.get(sample_id)
        assert image.pixels.dtype == torch.uint8
        assert image.info()["sample"]["credit"] == sample.credit


def test_resized_copies_are_area_averages_and_cached():
    images = store()
    cat = images.get("sample-chelsea")
    small = images.resized(cat, 30, 45)
    assert small.shape == (3, 30, 45)
    assert torch.equal(small, convert.resize(cat.pixels, 30, 45))
    assert images.resized(cat, 30, 45) is small
    assert images.resized(cat, 300, 451) is cat.pixels


def test_lru_cache_make_is_called_once_per_key():
    cache: LRUCache[str, int] = LRUCache(max_items=2, max_bytes=100)
    made = []
    for key in ["a", "a", "b", "a"]:
        cache.get_or_make(key, lambda k=key: (made.append(k) or len(k), 1))
    assert made == ["a", "b"]
    assert len(cache) == 2


def test_an_upload_through_one_replica_is_decoded_by_another(tmp_path, monkeypatch):
    server = RedisServer(tmp_path)
    server.start()
    try:
        a_state = SharedState(server.url, image_ttl_s=600, prefix="t")
        b_state = SharedState(server.url, image_ttl_s=600, prefix="t")
        assert a_state.probe() and b_state.probe()
        a, b = store(shared=a_state), store(shared=b_state)
        data = corpus.solid(5, 4)
        uploaded = a.add(data)
        key = a_state.content_key("image", uploaded.id)
        assert 0 < a_state.client.ttl(key) <= 600  # the original bytes, with a TTL
        fetched = b.get(uploaded.id)  # decoded on b from the bytes a kept
        assert torch.equal(fetched.pixels, uploaded.pixels) and fetched.info() == uploaded.info()
        calls = []
        monkeypatch.setattr(intake, "decode", lambda *a, **k: calls.append(1))
        assert b.get(uploaded.id) is fetched and not calls  # b's own decoded cache
        a_state.client.set(a_state.content_key("image", "0" * 32), b"forged")
        with pytest.raises(UnknownImage):  # bytes that are not what the id names
            b.get("0" * 32)
        server.stop()  # out of reach: uploads stay here, unknown ids are 404s, never 500s
        monkeypatch.undo()
        own = b.add(corpus.solid(3, 3))
        assert b.get(own.id) is own
        with pytest.raises(UnknownImage):
            b.get("1" * 32)
    finally:
        server.stop()
