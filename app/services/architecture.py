"""The architecture table as the explorer shows it: the rows of
:attr:`app.nets.network.Network.summary`, each layer's hyperparameters written out in words
(``6@5×5, stride 2``, ``120 → 84``) and whether the explorer draws its output as maps or as
a vector."""

from __future__ import annotations

from typing import Any

from app.explain import featuremaps
from app.nets.network import Network
from app.nets.summary import LayerRow


def _times(values: list[int]) -> str:
    return "×".join(map(str, values))


def _pair_text(values: list[int]) -> str:
    return str(values[0]) if values[0] == values[1] else _times(values)


def describe(row: LayerRow) -> str:
    """A layer's hyperparameters as a few words: ``6@5×5, stride 2``, ``120 → 84``."""
    h = row.hyperparameters
    if "out_channels" in h:
        parts = [f"{h['out_channels']}@{_times(h['kernel'])}"]
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
    if "in_features" in h:
        return f"{h['in_features']} → {h['out_features']}" + ("" if h["bias"] else ", no bias")
    if "kernel" in h:
        text = f"{_times(h['kernel'])}, stride {_pair_text(h['stride'])}"
        return text + (f", padding {_pair_text(h['padding'])}" if h["padding"] != [0, 0] else "")
    if "output_size" in h:
        return f"global average → {_times(h['output_size'])}"
    if "num_features" in h:
        return f"{h['num_features']} channels, ε {h['eps']:g}"
    if "p" in h:
        return f"p = {h['p']:g} (off at inference)"
    if "start_dim" in h:
        return "maps → one vector"
    if "inputs" in h:
        return " + ".join(h["inputs"])
    return ""


def architecture(network: Network) -> dict[str, Any]:
    """The architecture table of ``network``, each row with its hyperparameters in words."""
    summary = network.summary
    data = summary.to_dict()
    for row, shown in zip(summary.layers, data["layers"], strict=True):
        shown["text"] = describe(row)
        shown["kind"] = "maps" if featuremaps.is_map_layer(row.output_shape) else "vector"
    return {"model": network.name, **data}
