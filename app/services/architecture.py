"""The architecture table as the pages show it: the rows of a network's
:class:`~app.nets.summary.ArchitectureSummary`, each layer's hyperparameters written out in
words (``6@5×5, stride 2``, ``120 → 84``, ``a + b``) and whether the explorer draws its
output as maps or as a vector; ``layers`` are the module rows (the explorer's feature
maps), ``nodes`` every row, functions included (the table). The figures drawn from it
(blocks, where parameters and compute live, receptive-field growth) are in
:mod:`app.services.architecture_figures`."""

from __future__ import annotations

from typing import Any

from torch import nn

from app.explain import featuremaps
from app.explain.hooks import module_of
from app.nets.network import Network
from app.nets.summary import ArchitectureSummary, LayerRow
from app.services.ushape import transposed_link

#: How a merge reads in words, by the row's type.
MERGES = {"ResidualAdd": " + ", "add": " + ", "Concat": " ∥ ", "cat": " ∥ ", "mul": " × "}


def _times(values: list[int]) -> str:
    return "×".join(map(str, values))


def _pair_text(values: list[int]) -> str:
    return str(values[0]) if values[0] == values[1] else _times(values)


def _conv(h: dict[str, Any]) -> str:
    parts = [f"{h['out_channels']}@{_times(h['kernel'])}"]
    if h.get("transposed"):
        parts.append("transposed")
    if h["groups"] > 1:
        depthwise = h["groups"] == h["in_channels"] == h["out_channels"]
        parts.append("depthwise" if depthwise else f"{h['groups']} groups")
    if h["stride"] != [1, 1]:
        parts.append(f"stride {_pair_text(h['stride'])}")
    padding = h["padding"]
    if isinstance(padding, dict):
        if any(padding["same"]):
            parts.append("SAME padding " + " ".join(map(str, padding["same"])))
    elif padding != [0, 0]:
        parts.append(f"padding {_pair_text(padding)}")
    if h["dilation"] != [1, 1]:
        parts.append(f"dilation {_pair_text(h['dilation'])}")
    if not h["bias"]:
        parts.append("no bias")
    return ", ".join(parts)


def describe(row: LayerRow) -> str:
    """A layer's hyperparameters as a few words: ``6@5×5, stride 2``, ``120 → 84``."""
    h = row.hyperparameters
    if "out_channels" in h:
        return _conv(h)
    if "in_features" in h:
        return f"{h['in_features']} → {h['out_features']}" + ("" if h["bias"] else ", no bias")
    if "kernel" in h:
        text = f"{_times(h['kernel'])}, stride {_pair_text(h['stride'])}"
        return text + (f", padding {_pair_text(h['padding'])}" if h["padding"] != [0, 0] else "")
    if "output_size" in h:
        whole = "global " if h["output_size"] == [1, 1] else "adaptive "
        return f"{whole}average → {_times(h['output_size'])}"
    if "num_features" in h:
        return f"{h['num_features']} channels, ε {h['eps']:g}"
    if "p" in h:
        return f"p = {h['p']:g} (off at inference)"
    if "start_dim" in h:
        return "maps → one vector"
    if row.type in {"CenterCrop", "getitem"} and len(row.inputs) >= 1:
        return f"{row.inputs[0]} cut to {_times(list(row.output_shape[-2:]))}"
    if "inputs" in h:
        return MERGES.get(row.type, ", ").join(h["inputs"])
    if row.kind == "function":
        return f"{row.type}({', '.join(row.inputs)})"
    return ""


def _shown(row: LayerRow) -> dict[str, Any]:
    kind = "maps" if featuremaps.is_map_layer(row.output_shape) else "vector"
    return {**row.to_dict(), "text": describe(row), "kind": kind}


def table(summary: ArchitectureSummary) -> dict[str, Any]:
    """The summary as the pages and ``GET /api/models/{name}/architecture`` give it."""
    return {
        **summary.to_dict(),
        "layers": [_shown(row) for row in summary.layers],
        "nodes": [_shown(row) for row in summary.nodes],
        "shapes_only": summary.shapes_only,
    }


def architecture(network: Network) -> dict[str, Any]:
    """The architecture table of ``network``, each row with its hyperparameters in words; a
    transposed convolution's row links to the /transposed page with its learned numbers."""
    found = {"model": network.name, **table(network.summary)}
    for row in (*found["layers"], *found["nodes"]):
        if row["type"] == "ConvTranspose2d" and row.get("call", "module") == "module":
            module = module_of(network.module, row["name"])
            if isinstance(module, nn.ConvTranspose2d):
                row["transposed"] = transposed_link(module)["href"]
    return found
