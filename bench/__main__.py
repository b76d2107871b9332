"""``python -m bench [section ...]``: run the benchmark sections (all by default).

``python -m bench load --students 300 --seconds 90``: one section with its own options
(``python -m bench load --help``)."""

from __future__ import annotations

import importlib
import platform
import sys

import torch

SECTIONS = [
    "convolution",
    "images",
    "pooling",
    "transposed",
    "mechanics",
    "models",
    "architecture",
    "saliency",
    "filters",
    "detection",
    "training",
    "load",
]


def main(argv: list[str]) -> int:
    options = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    chosen, rest = argv[:options] or SECTIONS, argv[options:]
    if rest and chosen != ["load"]:
        print("options are for one section: python -m bench load --students 300 --seconds 90")
        return 2
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
        return 2
    print(
        f"convscope benchmarks · torch {torch.__version__} · {torch.get_num_threads()} threads"
        f" · {platform.processor() or platform.machine()} · Python {platform.python_version()}"
    )
    if rest:
        return int(importlib.import_module("bench.load").main(rest))
    for name in chosen:
        importlib.import_module(f"bench.{name}").run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
