"""Finding classes by name: ranks, the ImageNet groups (checked against WordNet's labels),
digits, and bad queries."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.nets.classes import IMAGENET_GROUPS, find_classes
from app.nets.labels import imagenet_synonyms
from app.nets.registry import get_model_spec

IMAGENET = get_model_spec("efficientnet-lite0")
DIGITS = get_model_spec("lenet5")


def test_the_groups_are_the_dogs_and_the_domestic_cats():
    names = imagenet_synonyms()
    dogs = IMAGENET_GROUPS["dog"]
    assert names[dogs[0] - 1] == "sea lion" and names[dogs[0]] == "Chihuahua"
    assert names[dogs[-1]] == "Mexican hairless"
    assert names[dogs[-1] + 1].startswith("timber wolf")
    cats = [names[i].split(",")[0] for i in IMAGENET_GROUPS["cat"]]
    assert cats == ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"]


def test_dog_finds_every_breed_first():
    found = find_classes(IMAGENET, "dog", limit=200)
    assert [c["index"] for c in found[:118]] == list(range(151, 269))
    assert all(c["rank"] == 1 for c in found[:118])
    later = {c["label"] for c in found[118:]}
    assert {"dogsled", "hotdog"} <= later  # the label starts with it, or a synonym's word


def test_ranks_whole_label_then_start_then_word_then_part():
    found = find_classes(IMAGENET, "tiger", limit=50)
    assert found[0] == {"index": 292, "label": "tiger", "names": "tiger, Panthera tigris",
                        "rank": 0}  # fmt: skip
    assert [c["rank"] for c in found] == sorted(c["rank"] for c in found)
    assert {"tiger cat", "tiger shark", "tiger beetle"} <= {c["label"] for c in found}
    assert find_classes(IMAGENET, "TABBY")[0]["index"] == 281


def test_digits():
    assert find_classes(DIGITS, "3") == [{"index": 3, "label": "3", "names": "3", "rank": 0}]
    assert find_classes(DIGITS, "dog") == []  # groups are ImageNet's only


@pytest.mark.parametrize(
    ("query", "limit", "message"),
    [
        ("", 20, "Type part of a class name"),
        ("   ", 20, "Type part of a class name"),
        ("x" * 101, 20, "at most 100"),
        ("cat", 0, "limit must be from 1 to 200 (got 0)"),
        ("cat", 201, "limit must be from 1 to 200 (got 201)"),
    ],
)
def test_bad_queries(query, limit, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        find_classes(IMAGENET, query, limit)


@given(st.text(min_size=1, max_size=12).filter(str.strip), st.integers(1, 200))
def test_every_answer_matches_and_is_bounded(query, limit):
    found = find_classes(IMAGENET, query, limit)
    assert len(found) <= limit
    names = imagenet_synonyms()
    text = query.strip().lower()
    for c in found:
        assert c["label"] == IMAGENET.labels[c["index"]] and c["names"] == names[c["index"]]
        assert text in c["names"].lower() or c["index"] in IMAGENET_GROUPS.get(text, ())
