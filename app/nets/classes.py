"""Finding a model's classes by name, for the saliency page's target boxes
(``GET /api/models/{name}/classes?q=...``).

A lecturer types "dog" and expects the dogs: ImageNet has no class named "dog", but 118
breeds (indices 151–268, "Chihuahua" to "Mexican hairless", most of whose names do not say
"dog"). So a query matches a class when it is a word of one of the class's WordNet synonyms
("tabby, tabby cat" matches "cat"), or a group word of :data:`IMAGENET_GROUPS` (the
contiguous index ranges WordNet gives ImageNet's dogs and domestic cats). Matches are
ordered by ``rank``: the whole label (0), a group member (1), a label starting with the
query (2), a word of a synonym (3), any substring (4), each in index order; a page may
order equal ranks by the image's probabilities.
"""

from __future__ import annotations

import re
from typing import Any

from app.nets.labels import imagenet_synonyms
from app.nets.registry import ModelSpec

#: ImageNet index ranges that share a common word the labels do not all contain.
IMAGENET_GROUPS: dict[str, range] = {
    "dog": range(151, 269),  # n02085620 Chihuahua … n02113978 Mexican hairless
    "dogs": range(151, 269),
    "cat": range(281, 286),  # tabby, tiger cat, Persian, Siamese, Egyptian cat
    "cats": range(281, 286),
}
#: At most this many classes in one answer.
MAX_RESULTS = 200
MAX_QUERY = 100


def synonyms(spec: ModelSpec) -> tuple[str, ...]:
    """Every class's names, comma-separated (ImageNet's WordNet synonyms; else the label)."""
    if spec.num_classes == 1000:
        return imagenet_synonyms()
    return spec.labels


def _rank(query: str, label: str, names: str, index: int, groups: range | None) -> int | None:
    """0 (best) … 4, or ``None`` when the class does not match ``query`` (lower case)."""
    label = label.lower()
    names = names.lower()
    if label == query:
        return 0
    if groups is not None and index in groups:
        return 1
    if label.startswith(query):
        return 2
    if query in re.split(r"[\s,'-]+", names):
        return 3
    if query in names:
        return 4
    return None


def find_classes(spec: ModelSpec, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Up to ``limit`` classes of ``spec`` matching ``query``, best first, each as
    ``{"index", "label", "names", "rank"}``; a ``ValueError`` for an empty or overlong query."""
    text = query.strip().lower()
    if not text:
        raise ValueError("Type part of a class name (e.g. cat, retriever, 7)")
    if len(text) > MAX_QUERY:
        raise ValueError(f"The search is {len(text)} characters long; at most {MAX_QUERY}")
    if not 1 <= limit <= MAX_RESULTS:
        raise ValueError(f"limit must be from 1 to {MAX_RESULTS} (got {limit})")
    groups = IMAGENET_GROUPS.get(text) if spec.num_classes == 1000 else None
    found = []
    for index, (label, names) in enumerate(zip(spec.labels, synonyms(spec), strict=True)):
        rank = _rank(text, label, names, index, groups)
        if rank is not None:
            found.append((rank, index, label, names))
    found.sort()
    return [
        {"index": index, "label": label, "names": names, "rank": rank}
        for rank, index, label, names in found[:limit]
    ]
