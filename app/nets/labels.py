"""Class names: the ten digits, and the 1000 ImageNet classes shipped in ``data/``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

DIGITS: tuple[str, ...] = tuple(str(digit) for digit in range(10))


@cache
def imagenet_synonyms() -> tuple[str, ...]:
    """Each ImageNet class's WordNet synonyms, e.g. ``'tabby, tabby cat'`` (index order)."""
    lines = (DATA / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines()
    if len(lines) != 1000:
        raise RuntimeError(f"imagenet_classes.txt has {len(lines)} lines, not 1000")
    return tuple(lines)


@cache
def imagenet_labels() -> tuple[str, ...]:
    """Each ImageNet class's first synonym, the label the app shows (``'tabby'``)."""
    return tuple(line.split(",")[0].strip() for line in imagenet_synonyms())
