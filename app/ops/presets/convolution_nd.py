"""The playground's 1-D and 3-D examples, after seed 000's "1-D and 3-D cross-correlations"
slide (text, voice, time series; video, medical images) and seed 003's "for 3D: filter size
maybe 3x3x3". The slides show no numbers for them, so the signals and volumes here are
small made-up ones that show the point; every output is computed (tests/ops/
test_conv_nd_presets.py checks each against ``F.conv1d`` / ``F.conv3d``).
"""

from __future__ import annotations

import math
from typing import Any

from app.ops.presets.base import Preset
from app.ops.presets.convolution import conv

_SLIDE = "seed 000, '1-D and 3-D Cross Correlations'"

#: "the cat sat on the mat", each word a made-up 4-number embedding (one channel per
#: number, one position per word): rows are the embedding's features, columns the words.
SENTENCE = ["the", "cat", "sat", "on", "the", "mat"]
_EMBEDDING = {
    "the": [0.1, 0.0, 0.2, 0.1],
    "cat": [0.9, 0.8, 0.1, 0.0],
    "sat": [0.1, 0.2, 0.9, 0.7],
    "on": [0.0, 0.1, 0.3, 0.2],
    "mat": [0.8, 0.6, 0.0, 0.3],
}
_WORDS = [[_EMBEDDING[w][f] for w in SENTENCE] for f in range(4)]  # (C=4, L=6)

#: A sound: 40 samples of a tone (a period of 10 samples) with a click at sample 23.
_TONE = [round(0.8 * math.sin(2 * math.pi * i / 10), 2) for i in range(40)]
_SOUND = [v + (1.5 if i == 23 else 0) for i, v in enumerate(_TONE)]

#: Two weeks of daily temperatures (°C), a cold snap in the middle.
_TEMPERATURES = [12, 13, 12, 14, 15, 9, 6, 5, 7, 11, 13, 14, 13, 15]


def _frames() -> list[list[list[float]]]:
    """A 4-frame 6×6 video: a bright 2×2 square moving one pixel right per frame."""
    frames = []
    for t in range(4):
        frame = [[0.0] * 6 for _ in range(6)]
        for r in (2, 3):
            for c in (1 + t, 2 + t):
                frame[r][c] = 1.0
        frames.append(frame)
    return frames


def _scan() -> list[list[list[float]]]:
    """A 5-slice 6×6 scan: tissue at 1, a 2×2×2 bright nodule (3) in slices 2 and 3."""
    volume = [[[1.0] * 6 for _ in range(6)] for _ in range(5)]
    for z in (2, 3):
        for r in (2, 3):
            for c in (3, 4):
                volume[z][r][c] = 3.0
    return volume


def _laplacian_3d() -> list[list[list[float]]]:
    """The 3×3×3 blob detector: 6 at the centre, −1 at its six face neighbours."""
    k = [[[0.0] * 3 for _ in range(3)] for _ in range(3)]
    k[1][1][1] = 6.0
    for z, r, c in ((0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)):
        k[z][r][c] = -1.0
    return k


def _presets(*items: Preset) -> dict[str, Preset]:
    return {p.name: p for p in items}


ONE_D: dict[str, Preset] = _presets(
    conv(
        "text_trigrams",
        "Text: a sentence's embedding, two 3-word filters",
        f"{_SLIDE} (text); 'the cat sat on the mat' in a made-up 4-number embedding",
        _WORDS,
        [
            [[0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]],  # a noun, then a verb
            [[1, 1, 1], [-1, -1, -1], [0, 0, 0], [0, 0, 0]],
        ],
        padding="same",
        dims=1,
        tags=("text",),
    ),
    conv(
        "audio_difference",
        "Voice: a tone with a click, the difference filter finds it",
        f"{_SLIDE} (voice): 40 samples, y_i = x_(i+1) − x_i",
        _SOUND,
        [-1, 1],
        dims=1,
        tags=("audio",),
    ),
    conv(
        "audio_smoothing",
        "Voice: a moving average over 5 samples",
        f"{_SLIDE} (voice), 'same' padding that repeats the edge",
        _SOUND,
        [0.2] * 5,
        padding="same",
        padding_mode="replicate",
        dims=1,
        tags=("audio", "padding"),
    ),
    conv(
        "time_series_trend",
        "Time series: 3-day average, stride 2",
        f"{_SLIDE} (time series): two weeks of daily temperatures",
        _TEMPERATURES,
        [1 / 3] * 3,
        stride=2,
        dims=1,
        tags=("time series", "stride"),
    ),
    conv(
        "formula_1d",
        "y_i = Σ w_a x_(i+a): the formula, worked",
        f"{_SLIDE} (the 1-D formula)",
        [0, 1, 2, 3, 4, 5, 6],
        [1, 2],
        expected=[2, 5, 8, 11, 14, 17],
        dims=1,
        tags=("lecture",),
    ),
)

THREE_D: dict[str, Preset] = _presets(
    conv(
        "video_motion",
        "Video: a square moving right, a 2×2×2 motion filter",
        f"{_SLIDE} (video): 4 frames of 6×6; the filter subtracts a frame from the next",
        _frames(),
        [[[-1, -1], [-1, -1]], [[1, 1], [1, 1]]],
        dims=3,
        tags=("video",),
    ),
    conv(
        "medical_nodule",
        "Medical scan: a 3×3×3 blob filter finds a nodule",
        f"{_SLIDE} (medical images) and seed 003 ('for 3D: filter size maybe 3x3x3'): "
        "5 slices of 6×6, replicate padding keeps the tissue's edge flat",
        _scan(),
        _laplacian_3d(),
        padding=1,
        padding_mode="replicate",
        dims=3,
        tags=("medical", "padding"),
    ),
    conv(
        "volume_mean",
        "A 3×3×3 mean over a scan, stride 2",
        "seed 003 (3×3×3 filters on C×H×W×L inputs)",
        _scan(),
        [[[1 / 27] * 3] * 3] * 3,
        stride=2,
        padding=1,
        dims=3,
        tags=("medical", "stride"),
    ),
)

#: The example each view opens on.
DEFAULTS = {1: "text_trigrams", 3: "video_motion"}


def nd_presets(dims: int) -> dict[str, Preset]:
    """The 1-D or 3-D presets by name."""
    return {1: ONE_D, 3: THREE_D}[dims]


#: What a view writes under each position of a preset's input, where it is not a number.
LABELS = {"text_trigrams": SENTENCE}


def views() -> dict[str, Any]:
    """What the playground's 1-D and 3-D views need: their presets (with the input's
    position labels, or null) and default."""
    return {
        str(dims): {
            "presets": [
                {**p.to_dict(), "labels": LABELS.get(p.name)} for p in nd_presets(dims).values()
            ],
            "default_preset": DEFAULTS[dims],
        }
        for dims in (1, 3)
    }
