"""From a dense layer to a convolution, as the lecture derives it (seed 000, d2l §7.1).

A dense layer from an H×W image to an H×W output has a weight for every (output, input)
pair: a 4-D tensor ``W[i, j, k, l]`` and ``h[i, j] = Σ_{k,l} W[i, j, k, l] · x[k, l]``,
H·W·H·W parameters. Written by offset, ``a = k − i`` and ``b = l − j``:
``h[i, j] = Σ_{a,b} V[i, j, a, b] · x[i + a, j + b]``.

1. **Translation invariance**: the weights may depend only on the offset, ``V[a, b]``. The
   dense layer nearest to ``W`` (least squares) that obeys it averages ``W`` over every entry
   with the same offset; it has (2H − 1)·(2W − 1) parameters, and is already a convolution:
   ``F.conv2d(x, V, padding=(H − 1, W − 1))`` (cells outside the image are zeros).
2. **Locality**: ``V[a, b] = 0`` for ``|a| > Δ`` or ``|b| > Δ``; what is left is a
   (2Δ + 1)×(2Δ + 1) kernel (at most the (2H − 1)×(2W − 1) of step 1), and the layer equals
   ``F.conv2d(x, kernel, padding=Δ)``.

Every stage is computed twice: as the constrained dense layer (its 4-D weights built
entry by entry, applied as a matrix) and, from step 1 on, as a convolution; the page shows
both and how far apart they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from app.ops.arrays import brief, check_result, compact, to_tensor

INITS = ("random", "blur", "edge")

#: The kernels hidden (with noise) in the dense layers of the "blur" and "edge" starts.
HIDDEN_KERNELS = {
    "blur": [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]],
    "edge": [[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]],
}


@dataclass(frozen=True)
class DenseLimits:
    """The largest derivation the page computes: 8×8 in and out is a 64×64 weight matrix."""

    max_size: int = 8
    max_seed: int = 2**31 - 1


LIMITS = DenseLimits()


def offset_index(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For every (i, j, k, l) of an H×W → H×W layer: the row a + H − 1 and column
    b + W − 1 of its offset (a, b) = (k − i, l − j) in the (2H − 1)×(2W − 1) offset grid."""
    i, j, k, l = torch.meshgrid(  # noqa: E741
        torch.arange(h), torch.arange(w), torch.arange(h), torch.arange(w), indexing="ij"
    )
    return k - i + h - 1, l - j + w - 1


def tie(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The offset weights V (2H − 1)×(2W − 1) of ``weights`` (H×W×H×W): the mean of its
    entries with each offset, and how many entries that is."""
    h, w = weights.shape[:2]
    rows, cols = offset_index(h, w)
    flat = (rows * (2 * w - 1) + cols).reshape(-1)
    size = (2 * h - 1) * (2 * w - 1)
    sums = torch.zeros(size, dtype=weights.dtype).index_add_(0, flat, weights.reshape(-1))
    counts = torch.zeros(size, dtype=torch.int64).index_add_(0, flat, torch.ones_like(flat))
    shape = (2 * h - 1, 2 * w - 1)
    return (sums / counts).reshape(shape), counts.reshape(shape)


def untie(offsets: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The dense weights W[i, j, k, l] = V[k − i, l − j] of offset weights V."""
    rows, cols = offset_index(h, w)
    return offsets[rows, cols]


def localise(offsets: torch.Tensor, delta: int) -> tuple[torch.Tensor, torch.Tensor]:
    """V with every weight farther than Δ from the centre set to 0, and the kernel that is
    left: its centre (2Δ + 1)×(2Δ + 1) (cut to the grid when Δ ≥ H or W)."""
    rows, cols = offsets.shape
    a = torch.arange(rows) - rows // 2
    b = torch.arange(cols) - cols // 2
    near = (a.abs() <= delta)[:, None] & (b.abs() <= delta)[None, :]
    dh, dw = min(delta, rows // 2), min(delta, cols // 2)
    kernel = offsets[rows // 2 - dh : rows // 2 + dh + 1, cols // 2 - dw : cols // 2 + dw + 1]
    kernel = kernel.contiguous()
    return offsets * near, kernel


def dense(weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """h[i, j] = Σ_{k,l} W[i, j, k, l] · x[k, l], as a matrix times the flattened image."""
    h, w = x.shape
    return (weights.reshape(h * w, h * w) @ x.reshape(-1)).reshape(h, w)


def convolve(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """``F.conv2d`` of an H×W image with a (2p + 1)×(2q + 1) kernel, padding (p, q)."""
    padding = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    return F.conv2d(x[None, None], kernel[None, None], padding=padding)[0, 0]


def initial_weights(init: str, h: int, w: int, seed: int) -> torch.Tensor:
    """A dense layer to start from: integers −3…3 (``random``), or a blur or edge kernel
    laid out as a dense layer plus integer noise −1…1 (``blur``, ``edge``)."""
    generator = torch.Generator().manual_seed(seed)
    if init == "random":
        return torch.randint(-3, 4, (h, w, h, w), generator=generator).double()
    hidden = torch.tensor(HIDDEN_KERNELS[init], dtype=torch.float64)
    offsets = torch.zeros(2 * h - 1, 2 * w - 1, dtype=torch.float64)
    ch, cw = h - 1, w - 1
    for r in range(3):
        for c in range(3):
            if abs(r - 1) <= ch and abs(c - 1) <= cw:
                offsets[ch + r - 1, cw + c - 1] = hidden[r, c]
    noise = torch.randint(-1, 2, (h, w, h, w), generator=generator).double()
    return untie(offsets, h, w) + noise


def _difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, not {brief(value)}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be from {lo} to {hi} (got {brief(value)})")
    return value


def dense_to_convolution(
    *, input: Any, delta: Any = 1, weights: Any = None, init: Any = "random", seed: Any = 0,
    limits: DenseLimits = LIMITS,
) -> dict[str, Any]:  # fmt: skip
    """``POST /api/dense-to-convolution``: the three stages and the convolution at the end,
    as JSON-ready values (numpy arrays for orjson)."""
    x = to_tensor(input, "input", dims=(2,))
    h, w = x.shape
    if max(h, w) > limits.max_size:
        raise ValueError(
            f"input is {h}×{w}; the limit is {limits.max_size}×{limits.max_size} "
            f"(its dense layer already has {h * w}·{h * w} = {(h * w) ** 2:,} weights)"
        )
    d = _int(delta, "delta (Δ)", 0, limits.max_size - 1)
    if weights is None:
        if init not in INITS:
            raise ValueError(f"unknown init {brief(init)}: use random, blur or edge")
        s = _int(seed, "seed", 0, limits.max_seed)
        full = initial_weights(init, h, w, s)
    else:
        full = to_tensor(weights, "weights", dims=(4,))
        if tuple(full.shape) != (h, w, h, w):
            raise ValueError(
                f"weights are {'×'.join(map(str, full.shape))} but a dense layer from a "
                f"{h}×{w} input to a {h}×{w} output needs {h}×{w}×{h}×{w}: W[i, j, k, l]"
            )

    offsets, counts = tie(full)
    local_offsets, kernel = localise(offsets, d)
    tied_weights = untie(offsets, h, w)
    local_weights = untie(local_offsets, h, w)
    outputs = [check_result(dense(m, x)) for m in (full, tied_weights, local_weights)]
    conv_tied = convolve(x, offsets)
    conv_local = convolve(x, kernel)
    n = h * w
    stages = [
        {
            "name": "dense",
            "parameters": n * n,
            "count": f"{h}·{w}·{h}·{w} = {n * n:,}",
            "weights": compact(full.reshape(n, n)),
            "output": compact(outputs[0]),
        },
        {
            "name": "shared",
            "parameters": offsets.numel(),
            "count": f"(2·{h} − 1)·(2·{w} − 1) = {offsets.numel():,}",
            "offsets": compact(offsets),
            "counts": counts.numpy(),
            "weights": compact(tied_weights.reshape(n, n)),
            "output": compact(outputs[1]),
            "convolution": compact(conv_tied),
            "padding": [h - 1, w - 1],
            "difference": _difference(outputs[1], conv_tied),
        },
        {
            "name": "local",
            "parameters": kernel.numel(),
            "count": f"{kernel.shape[0]}·{kernel.shape[1]} = {kernel.numel():,}",
            "offsets": compact(local_offsets),
            "kernel": compact(kernel),
            "weights": compact(local_weights.reshape(n, n)),
            "output": compact(outputs[2]),
            "convolution": compact(conv_local),
            "padding": [kernel.shape[0] // 2, kernel.shape[1] // 2],
            "difference": _difference(outputs[2], conv_local),
        },
    ]
    return {"input": compact(x), "size": [h, w], "delta": d, "stages": stages}
