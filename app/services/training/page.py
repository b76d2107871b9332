"""What the training page and ``GET /api/training`` start from: the networks and settings the
lab offers, their defaults and limits, the lecture's comparisons, and the held-out digits
whose predictions the page shows as a network learns."""

from __future__ import annotations

from typing import Any

from app.nets.deep_cnn import MIN_DEPTH
from app.nets.lab.architectures import DEEP, NETWORKS, Architecture
from app.nets.lab.config import (
    DEFAULT_DEPTH,
    DEFAULTS,
    MAX_BATCH,
    MAX_LR,
    MAX_SEED,
    MIN_BATCH,
    MIN_DIGITS,
    OPTIMIZERS,
    SCHEDULES,
    TRAIN_DIGITS,
    Limits,
)
from app.nets.lab.loop import WATCHED
from app.settings import Settings

NETWORK_TITLES = {
    "lenet5": "LeNet-5",
    "simple-cnn": "SimpleCNN",
    DEEP: "Deep CNN, any depth",
}

#: The lecture's comparisons: two runs on the same axes (run B's settings differ from A's).
PRESETS: tuple[dict[str, Any], ...] = (
    {
        "name": "plain-vs-residual",
        "title": "Plain vs residual, 20 layers",
        "note": "The same 20-layer network with and without skip connections (He et al. "
        "2016): watch the first layers' gradients.",
        "a": {"network": DEEP, "depth": 20, "residual": False, "epochs": 2},
        "b": {"network": DEEP, "depth": 20, "residual": True, "epochs": 2},
    },
    {
        "name": "batchnorm",
        "title": "Plain 20 layers, without and with BatchNorm",
        "note": "BatchNorm (Ioffe and Szegedy 2015) rescales every layer's output: the "
        "plain network's gradients reach its first layers again.",
        "a": {"network": DEEP, "depth": 20, "batchnorm": False, "epochs": 2},
        "b": {"network": DEEP, "depth": 20, "batchnorm": True, "epochs": 2},
    },
    {
        "name": "learning-rates",
        "title": "LeNet-5 with two learning rates (SGD)",
        "note": "SGD with momentum at 0.01 and at 0.1: the larger steps learn faster here.",
        "a": {"network": "lenet5", "optimizer": "sgd", "lr": 0.01, "schedule": "constant"},
        "b": {"network": "lenet5", "optimizer": "sgd", "lr": 0.1, "schedule": "constant"},
    },
    {
        "name": "divergence",
        "title": "A learning rate too large",
        "note": "SGD at a learning rate of 10 on a residual network: the loss overflows and "
        "becomes NaN within a few steps; at 0.05 the same network learns.",
        "a": {"network": DEEP, "depth": 8, "residual": True, "optimizer": "sgd", "lr": 0.05,
              "schedule": "constant", "epochs": 1},
        "b": {"network": DEEP, "depth": 8, "residual": True, "optimizer": "sgd", "lr": 10.0,
              "schedule": "constant", "epochs": 1},
    },
)  # fmt: skip


def limits(settings: Settings) -> Limits:
    return Limits(settings.training_max_epochs, settings.training_max_depth)


def config(settings: Settings) -> dict[str, Any]:
    """The networks, the settings' choices, defaults and limits, the comparisons and the
    watched digits (their pictures are the held-out samples ``static/samples/mnist-*``)."""
    bounds = limits(settings)
    return {
        "networks": [{"name": n, "title": NETWORK_TITLES[n]} for n in NETWORKS],
        "optimizers": list(OPTIMIZERS),
        "schedules": list(SCHEDULES),
        "defaults": {**DEFAULTS.to_dict(), "depth": DEFAULT_DEPTH},
        "limits": {
            "epochs": [1, bounds.max_epochs],
            "depth": [MIN_DEPTH, bounds.max_depth],
            "batch_size": [MIN_BATCH, MAX_BATCH],
            "lr": [0, MAX_LR],
            "seed": [0, MAX_SEED],
            "digits": [MIN_DIGITS, TRAIN_DIGITS],
            "active": settings.training_max_active,
        },
        "presets": list(PRESETS),
        "watched": [
            {"position": p, "label": p // 100, "src": f"/static/samples/mnist-{p // 100}.png"}
            for p in WATCHED
        ],
        "titles": {n: Architecture(n).title for n in NETWORKS if n != DEEP},
    }
