"""The figures of a network's architecture page, computed from its architecture summary:

- :func:`blocks`: the network as blocks (a ResNet's residual blocks, VGG's five conv blocks,
  U-Net's levels) with a few words for each, its output shape, parameters and
  multiply-adds, and the connections that skip ahead: residual shortcuts (identity or
  projection) and concatenated skip connections. A block is a top-level module, or each of
  its children when it has several and they are all blocks themselves (``layer1.0``,
  ``features.block3``).
- :func:`by_kind`: parameters and multiply-adds of convolutions, dense layers,
  normalisation and the rest (VGG-16: dense layers hold 124 of 138 million parameters,
  convolutions do 99% of the arithmetic).
- :func:`field_growth`: the receptive field after each sliding-window layer.
- :func:`shrink`: the lecture's question "how many k×k layers (stride s, padding p) shrink
  an n×n input to m×m?", answered by running the convolutions (shapes only, on PyTorch's
  meta device) and the receptive-field recurrence.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from app.nets import fields
from app.nets.summary import ArchitectureSummary, LayerRow

CONVOLUTIONS = {"Conv2d", "Conv2dSame", "ConvTranspose2d", "conv2d", "conv_transpose2d"}
DENSE = {"Linear", "linear", "matmul", "mm", "bmm"}
NORMALISATION = {"BatchNorm2d", "BatchNorm1d", "LayerNorm", "GroupNorm", "batch_norm"}
SUMS = {"ResidualAdd", "add"}
CONCATS = {"Concat", "cat"}
#: The most layers :func:`shrink` runs, and its inputs' bounds.
SHRINK_MAX_SIZE = 4096
SHRINK_MAX_KERNEL = 64
SHRINK_MAX_STRIDE = 8
SHRINK_MAX_PADDING = 32


def _path(row: LayerRow) -> list[str]:
    """The module path of a row; a function's is its scope's plus its own name."""
    base = row.name.split(" (")[0]
    if row.kind == "function":
        scope = row.group if row.group != row.name else ""
        return [*scope.split("."), base] if scope else [base]
    return base.split(".")


def block_names(summary: ArchitectureSummary) -> list[str]:
    """Each row's block, in row order."""
    paths = [_path(row) for row in summary.nodes]
    split = {}
    for top in {p[0] for p in paths}:
        under = [p for p in paths if p[0] == top]
        split[top] = all(len(p) >= 3 for p in under) and len({p[1] for p in under}) > 1
    return [".".join(p[:2]) if split[p[0]] else p[0] for p in paths]


def _token(row: LayerRow) -> str | None:
    """A row in a block's few words (BatchNorm, activations and dropout left out)."""
    h = row.hyperparameters
    if "out_channels" in h:
        k = "×".join(map(str, h["kernel"]))
        s = h["stride"][0]
        stride = "" if s == 1 else f" ×{s}" if h.get("transposed") else f" /{s}"
        kind = "up-conv" if h.get("transposed") else "conv"
        return f"{k} {kind} {h['out_channels']}{stride}"
    if "in_features" in h:
        return f"dense {h['out_features']}"
    if "kernel" in h:
        return f"{'max' if 'Max' in row.type else 'avg'} pool {'×'.join(map(str, h['kernel']))}"
    if "output_size" in h:
        return f"avg pool → {'×'.join(map(str, h['output_size']))}"
    if row.type in SUMS:
        return "sum"
    if row.type in CONCATS:
        return "concat"
    if row.type in {"CenterCrop", "getitem"}:
        return "crop"
    if row.type in {"Flatten", "flatten", "view", "reshape"}:
        return "flatten"
    return None


def _words(rows: list[LayerRow], shortcut: set[str]) -> str:
    """A block's layers in a few words; a layer on a shortcut (a projection) says so."""
    tokens = [f"shortcut {t}" if row.name in shortcut else t
              for row in rows if (t := _token(row))]  # fmt: skip
    runs: list[list[Any]] = []
    for token in tokens:
        if runs and runs[-1][0] == token:
            runs[-1][1] += 1
        else:
            runs.append([token, 1])
    return " · ".join(f"{n}× {t}" if n > 1 else t for t, n in runs) or rows[0].type


def blocks(summary: ArchitectureSummary) -> dict[str, Any]:
    """The block diagram's data: blocks in order and the connections that skip ahead."""
    names = block_names(summary)
    order: list[str] = []
    for name in names:
        if not order or order[-1] != name:
            order.append(name)  # a block's rows run together (a name seen again is new)
    index_of_row: dict[str, int] = {}
    members: list[list[LayerRow]] = [[] for _ in order]
    b = -1
    for row, name in zip(summary.nodes, names, strict=True):
        if b < 0 or order[b] != name:
            b += 1
        index_of_row[row.name] = b
        members[b].append(row)
    height = summary.input_shape[-2]
    shown, links = [], []
    for b, rows in enumerate(members):
        last = rows[-1]
        out = last.output_shape
        merge = next((r.type for r in rows if r.type in SUMS | CONCATS), None)
        kind = "concat" if merge in CONCATS else "sum" if merge in SUMS else "skip"
        shortcut = set()
        for row in rows:
            for source in row.inputs:
                a = index_of_row.get(source, -1)  # -1: the network's input
                # the block's first row reading the block before is the main line
                if a == b or (row is rows[0] and a == b - 1):
                    continue
                via = "identity" if row.type in SUMS else row.type
                if via != "identity" and kind == "sum":
                    shortcut.add(row.name)
                links.append({"from": a, "to": b, "kind": kind, "via": via, "row": row.name})
        shown.append(
            {
                "name": order[b],
                "stage": order[b].split(".")[0],
                "words": _words(rows, shortcut),
                "rows": [r.name for r in rows],
                "output_shape": list(out),
                "parameters": sum(r.parameters for r in rows),
                "macs": sum(r.macs for r in rows),
                "activation_bytes": sum(r.activation_bytes for r in rows),
                "scale": round(math.log2(height / out[-2])) if len(out) == 3 and out[-2] else None,
            }
        )
    return {"blocks": shown, "links": _unique(links)}


def _unique(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, found = set(), []
    for link in links:
        key = (link["from"], link["to"])
        if key not in seen:
            seen.add(key)
            found.append(link)
    return found


def by_kind(summary: ArchitectureSummary) -> list[dict[str, Any]]:
    """Parameters and multiply-adds by kind of layer, largest first."""
    totals: dict[str, list[int]] = {}
    for row in summary.nodes:
        kind = (
            "convolutions" if row.type in CONVOLUTIONS
            else "dense layers" if row.type in DENSE
            else "normalisation" if row.type in NORMALISATION
            else "other"
        )  # fmt: skip
        totals.setdefault(kind, [0, 0])
        totals[kind][0] += row.parameters
        totals[kind][1] += row.macs
    found = [
        {"kind": kind, "parameters": p, "macs": m,
         "parameter_share": p / max(summary.total_parameters, 1),
         "mac_share": m / max(summary.total_macs, 1)}
        for kind, (p, m) in totals.items()
        if p or m
    ]  # fmt: skip
    return sorted(found, key=lambda k: -k["parameters"])


def field_growth(summary: ArchitectureSummary) -> list[dict[str, Any]]:
    """The receptive field after each convolution, pool or up-convolution, in order (until
    a layer sees the whole input)."""
    found = []
    for row in summary.nodes:
        windowed = "kernel" in row.hyperparameters and len(row.output_shape) == 3
        if not windowed:
            continue
        field = row.receptive_field
        found.append({
            "name": row.name,
            "type": row.type,
            "size": list(field.size),
            "jump": None if field.jump is None else [fields.number(v) for v in field.jump],
            "output": list(row.output_shape[-2:]),
        })  # fmt: skip
    return found


def _bounded(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high} (got {value!r})")
    return value


def shrink(size: int, kernel: int, stride: int = 1, padding: int = 0, target: int = 4) -> dict:
    """How many k×k convolutions (stride, padding) take a size×size input to target×target
    or smaller: PyTorch runs them one after another on the meta device (shapes only); the
    receptive field follows the recurrence of :mod:`app.nets.fields`."""
    _bounded("size", size, 1, SHRINK_MAX_SIZE)
    _bounded("kernel", kernel, 1, SHRINK_MAX_KERNEL)
    _bounded("stride", stride, 1, SHRINK_MAX_STRIDE)
    _bounded("padding", padding, 0, SHRINK_MAX_PADDING)
    _bounded("target", target, 1, size)
    if kernel > size + 2 * padding:
        raise ValueError(f"a {kernel}×{kernel} kernel does not fit a {size}×{size} input")
    if stride == 1 and kernel - 1 <= 2 * padding:
        raise ValueError(
            f"a {kernel}×{kernel} convolution with stride 1 and padding {padding} never "
            "shrinks its input: it stays the same size or grows"
        )
    weight = torch.empty(1, 1, kernel, kernel, device="meta")
    x = torch.empty(1, 1, size, size, device="meta")
    field = fields.INPUT_FIELD
    sizes, receptive = [size], [1]
    while x.shape[-1] > target:
        if x.shape[-1] + 2 * padding < kernel:
            break  # the next layer would not fit: the target cannot be reached exactly
        before = x.shape[-1]
        x = F.conv2d(x, weight, stride=stride, padding=padding)
        if x.shape[-1] >= before:  # padding as large as what the stride takes off
            raise ValueError(
                f"with stride {stride} and padding {padding}, a {kernel}×{kernel} convolution "
                f"stops shrinking at {before}×{before} (it gives {before}×{before} again), "
                f"so {target}×{target} is never reached"
            )
        field = fields.window(field, (kernel, kernel), (stride, stride), (1, 1), (padding, padding))
        sizes.append(int(x.shape[-1]))
        receptive.append(field.size[0])
    layers = len(sizes) - 1
    return {
        "question": {
            "size": size,
            "kernel": kernel,
            "stride": stride,
            "padding": padding,
            "target": target,
        },
        "layers": layers,
        "sizes": sizes,
        "receptive_field": receptive,
        "reached": sizes[-1],
        "exact": sizes[-1] == target,
        "formula": f"⌊(n + 2·{padding} − {kernel}) / {stride}⌋ + 1",
    }
