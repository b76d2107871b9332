"""A U-Net's architecture as its U: the rows of the architecture table grouped into blocks
(a double convolution, a pooling, an up-convolution, a skip connection), each block marked
as encoder, bottleneck, decoder, skip or head (:data:`app.nets.unet.PARTS`), and every
transposed convolution with a link to the ``/transposed`` page that steps through it.

The link carries the layer's own settings (kernel size, stride, padding, output padding,
dilation) and its own numbers: the 2-D kernel between the input and output channel whose
weights are largest (‖w‖), with that output channel's bias, applied to a small example
input (the page's limits are 8 channels; the layer has dozens).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import torch
from torch import nn

from app.nets.network import Network
from app.nets.unet import PARTS, SKIPS

#: The example the transposed-convolution page starts from (one channel, 3×3).
EXAMPLE_INPUT = ((1, 0, 2), (0, 3, 0), (2, 0, 1))


def _number(value: float) -> str:
    return f"{value:.3g}"


def _pair(values: tuple[int, ...]) -> str:
    """``2`` for (2, 2), ``3,2`` for (3, 2): as the pages write a pair in their URL."""
    return str(values[0]) if len(set(values)) == 1 else ",".join(map(str, values))


def transposed_link(module: nn.ConvTranspose2d) -> dict[str, Any]:
    """The /transposed URL of one channel pair of ``module``, and what it shows."""
    weight = module.weight.detach().float().cpu()  # (C_in, C_out / groups, kh, kw)
    norms = weight.flatten(2).norm(dim=2)  # (C_in, C_out)
    c_in, c_out = divmod(int(norms.argmax()), norms.shape[1])
    kernel = weight[c_in, c_out]
    kh, kw = kernel.shape
    bias = 0.0 if module.bias is None else float(module.bias.detach()[c_out])
    flat = [v for row in EXAMPLE_INPUT for v in row]
    query = {
        "input": f"1x3x3:{','.join(map(str, flat))}",
        "kernel": f"1x1x{kh}x{kw}:{','.join(_number(v) for v in kernel.flatten().tolist())}",
        "bias": _number(bias),
        "stride": _pair(module.stride),
        "padding": _pair(module.padding),  # type: ignore[arg-type]  # ints: padding="same" is not allowed
        "output_padding": _pair(module.output_padding),
        "dilation": _pair(module.dilation),
    }
    return {
        "href": "/transposed?" + urlencode(query, safe=":,"),  # as the page writes its URL
        "channels": [c_in, c_out],
        "kernel": [[float(_number(v)) for v in row] for row in kernel.tolist()],
        "bias": float(_number(bias)),
    }


def blocks(network: Network, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The architecture rows (:func:`app.services.architecture.architecture`'s) grouped by
    the network's top-level modules, in the order they run, each with its part of the U."""
    found: list[dict[str, Any]] = []
    for row in rows:
        name = row["name"].split(".")[0].split(" ")[0]
        if not found or found[-1]["name"] != name:
            found.append({"name": name, "part": PARTS.get(name, "layer"), "rows": []})
        found[-1]["rows"].append(row)
    for block in found:
        last = block["rows"][-1]
        block["output_shape"] = last["output_shape"]
        block["parameters"] = sum(r["parameters"] for r in block["rows"])
        block["type"] = last["type"] if len(block["rows"]) == 1 else "block"
        module = network.module.get_submodule(block["name"])
        if isinstance(module, nn.ConvTranspose2d):
            block["transposed"] = transposed_link(module)
        if block["name"] in SKIPS:
            block["joins"] = SKIPS[block["name"]]
    return found


def levels(found: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The U for the diagram: per level from the top, the encoder block, the skip that
    brings its maps across, the decoder block, the pooling going down and the up-convolution
    coming up; then the bottleneck. ``None`` when the blocks do not make a U."""
    by_part: dict[str, list[dict[str, Any]]] = {}
    for block in found:
        by_part.setdefault(block["part"], []).append(block)
    convs = [b for b in by_part.get("encoder", []) if b["type"] == "block"]
    pools = [b for b in by_part.get("encoder", []) if b["type"] != "block"]
    ups = [b for b in by_part.get("decoder", []) if "transposed" in b]
    decs = [b for b in by_part.get("decoder", []) if b["type"] == "block"][::-1]
    skips = by_part.get("skip", [])[::-1]
    bottom = by_part.get("bottleneck", [])
    depth = len(convs)
    if not bottom or not depth or not len(pools) == len(ups) == len(decs) == len(skips) == depth:
        return None
    return {
        "levels": [
            {
                "encoder": convs[i],
                "pool": pools[i],
                "skip": skips[i],
                "decoder": decs[i],
                "up": ups[::-1][i],
            }
            for i in range(depth)
        ],
        "bottleneck": bottom[0],
        "head": by_part.get("head", [None])[0],
    }


def ushape(network: Network, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The blocks and, when they make one, the U (see :func:`levels`)."""
    with torch.no_grad():
        found = blocks(network, rows)
    return {"blocks": found, "u": levels(found)}
