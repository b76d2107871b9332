"""``python -m bench [section ...]``: run the benchmark sections (all by default)."""

from __future__ import annotations

import importlib
import platform
import sys

import torch

SECTIONS = ["convolution", "images", "pooling", "transposed", "models", "saliency", "filters"]


def main(argv: list[str]) -> int:
    chosen = argv or SECTIONS
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        print(f"unknown section(s): {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
        return 2
    print(
        f"convscope benchmarks · torch {torch.__version__} · {torch.get_num_threads()} threads"
        f" · {platform.processor() or platform.machine()} · Python {platform.python_version()}"
    )
    for name in chosen:
        importlib.import_module(f"bench.{name}").run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
