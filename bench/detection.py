"""Sliding windows against the fully convolutional pass (issue 17): the same class map by
one forward pass per window (in batches, as the detector runs them: ``app.explain.windows``)
and by one pass of the network made fully convolutional (``app.explain.fully_conv``) over
the image scaled so that the window becomes the network's input, timed in turns
(``bench.common.turns``); the ratio is the median over the turns of windows / one pass.

Cases: EfficientNet-Lite0 on the 448×224 cat-and-espresso scene with 224-pixel windows at
its stride (32: exactly the 8 windows the one pass gives) and every 16 pixels (15 windows:
a map twice as fine as the one pass's, which would need a second pass on the image shifted
by 16 pixels, as OverFeat does); 160-pixel windows every 23 pixels (32·160/224 ≈ 22.9: 39
windows; the one pass runs on the image scaled by 1.4); LeNet-5 and SimpleCNN on the 120×40
digits scene, windows of the input's size every 4 pixels (their stride). Goal: the one pass
faster than the windows wherever the windows overlap (ratio > 1), the more so the more
they overlap.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from app.explain import windows
from app.images.scenes import scene_png
from app.nets.registry import get_network
from app.services.detection import classifier, scaled_size, scene_tensor
from bench.common import median_ratio, table, turns

CASES = [
    ("efficientnet-lite0", "cat-and-espresso", 224, 32),
    ("efficientnet-lite0", "cat-and-espresso", 224, 16),
    ("efficientnet-lite0", "cat-and-espresso", 160, 23),
    ("lenet5", "digits", 32, 4),
    ("simple-cnn", "digits", 28, 4),
]


def pixels(scene: str) -> torch.Tensor:
    array = torch.from_numpy(np.asarray(Image.open(io.BytesIO(scene_png(scene)))).copy())
    return array[None] if array.dim() == 2 else array.permute(2, 0, 1).contiguous()


def row(name: str, scene: str, size: int, stride: int) -> list[str]:
    """One case timed in turns: the windows, then the one pass."""
    network = get_network(name)
    fc = classifier(network)
    assert not isinstance(fc, str), fc
    x = scene_tensor(network, pixels(scene))
    side = network.input_shape[-1]
    grids = windows.plan(x.shape[1], x.shape[2], [size], stride)
    height, width = scaled_size(x.shape[1], x.shape[2], size, side)
    big = x[None] if (height, width) == tuple(x.shape[1:]) else F.interpolate(
        x[None], size=(height, width), mode="bilinear", antialias=True
    )  # fmt: skip

    def sliding() -> object:
        return windows.score(network.module, x, grids, (side, side))

    def one_pass() -> object:
        with torch.inference_mode():
            return fc(big)

    times = turns({"windows": sliding, "one pass": one_pass}, repeat=7, budget_s=20)
    median = {key: sorted(value)[len(value) // 2] for key, value in times.items()}
    ratio = median_ratio(times["windows"], times["one pass"])
    return [
        name, f"{x.shape[2]}×{x.shape[1]}", f"{size} px / {stride}", str(grids[0].count),
        f"{median['windows']:.1f} ms", f"{width}×{height}", f"{median['one pass']:.1f} ms",
        f"{ratio:.1f}×",
    ]  # fmt: skip


def run() -> None:
    table(
        "Sliding windows vs one fully convolutional pass (median ms; ratio windows / one pass)",
        ["network", "image", "window / stride", "windows", "windows' time", "one pass on",
         "one pass", "ratio"],
        [row(*case) for case in CASES],
    )  # fmt: skip
