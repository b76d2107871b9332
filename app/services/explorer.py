"""What the network explorer computes for one image, free of any web code.

The model endpoints (``app/routers/models.py``) and the pages (``/networks/{name}``) call
these functions; each returns plain data (dicts of numbers and PNG ``data:`` URLs):

- :class:`Inputs`: an image (upload or sample) preprocessed for a model, kept in a small
  LRU cache by (model, image id), so that the prediction, the picture and every layer's
  maps of one image preprocess it once.
- :func:`predict_result`: the top k classes.
- :func:`activations_result`: one layer's output, as a page of feature-map PNGs or, for a
  vector, its numbers (``app.explain.featuremaps``). The forward pass stops after the layer.
- :func:`unit_result`: how one activation was computed (``app.explain.units``): a
  convolution's window, kernel, per-channel partial sums, bias and what the following
  elementwise layers made of it; a dense unit's products; a pooling window; the flatten
  index; the two inputs of a residual sum; softmax for the output layer; and the
  receptive field of the unit in the input picture.
- :func:`architecture`: the architecture table (``app.nets.summary``) with each layer's
  hyperparameters written out for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image
from torch import nn

from app.explain import featuremaps, units
from app.explain.hooks import capture, layer_output
from app.images import convert, intake
from app.images.store import StoredImage
from app.nets.layers import ResidualAdd
from app.nets.predict import LayerActivation, predict
from app.nets.registry import UnknownName, get_model, get_model_spec
from app.nets.summary import LayerRow, model_summary
from app.runtime.cache import LRUCache

#: Softmax tables list every class up to this many, else the most probable ones.
SOFTMAX_ROWS = 10
SOFTMAX_ALL_UP_TO = 20


@dataclass(frozen=True)
class Prepared:
    """An image as one model takes it."""

    image_id: str
    picture: Image.Image  # what the network sees: the input size, mode L or RGB
    x: torch.Tensor  # (C, H, W) float32 on the CPU, the network's input

    @property
    def nbytes(self) -> int:
        return self.x.numel() * self.x.element_size() * 2  # the tensor and the picture


class Inputs:
    """Preprocessed inputs by (model, image id), least recently used forgotten first."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.cache: LRUCache[tuple[str, str], Prepared] = LRUCache(max_items, max_bytes)

    def get(self, name: str, image: StoredImage) -> Prepared:
        """``image`` preprocessed for model ``name``; ``ValueError`` if it cannot be (an empty
        drawing)."""
        spec = get_model_spec(name)

        def make() -> tuple[Prepared, int]:
            picture = spec.preprocess.picture(convert.to_pil(image.pixels))
            prepared = Prepared(image.id, picture, spec.preprocess.tensor(picture))
            return prepared, prepared.nbytes

        return self.cache.get_or_make((spec.name, image.id), make)


def check_layer(name: str, layer: str) -> LayerRow:
    """The architecture row of ``layer``; :class:`UnknownName` listing the layers."""
    summary = model_summary(get_model_spec(name).name)
    try:
        return summary.layer(layer)
    except KeyError:
        raise UnknownName("layer", layer, [row.name for row in summary.layers]) from None


def _device_input(prepared: Prepared, model: nn.Module) -> torch.Tensor:
    return prepared.x.to(next(model.parameters()).device)  # (C, H, W)


def predict_result(name: str, prepared: Prepared, device: torch.device | str, k: int) -> dict:
    """The top ``k`` classes of the prepared image, most probable first."""
    spec = get_model_spec(name)
    model = get_model(name, device)
    found = predict(model, _device_input(prepared, model), spec.labels, k)
    return {
        "model": spec.name,
        "image": prepared.image_id,
        "k": k,
        "num_classes": spec.num_classes,
        "predictions": [p.to_dict() for p in found],
    }


def activations_result(
    name: str,
    prepared: Prepared,
    layer: str,
    device: torch.device | str,
    *,
    order: featuremaps.Order = "strength",
    page: int = 0,
    per_page: int = 16,
    scale: featuremaps.Scale = "layer",
) -> dict[str, Any]:
    """One layer's output for the prepared image: a page of maps, or a vector's numbers."""
    row = check_layer(name, layer)
    if featuremaps.is_map_layer(row.output_shape):
        featuremaps.check_page(page, per_page, row.output_shape[0])  # before computing
    model = get_model(name, device)
    x = _device_input(prepared, model)[None]  # (1, C, H, W)
    activation = LayerActivation.of(layer, layer_output(model, x, layer)[0])
    header = {"model": name, "layer": layer, "type": row.type, "image": prepared.image_id}
    if featuremaps.is_map_layer(row.output_shape):
        shown = featuremaps.maps_page(
            activation, order=order, page=page, per_page=per_page, scale=scale
        )
    else:
        shown = featuremaps.vector(activation)
    return {**header, **shown}


def _position(row: LayerRow, position: tuple[int, ...]) -> tuple[int, ...]:
    dims = len(row.output_shape)
    if len(position) != dims:
        wanted = "channel, row and col" if dims == 3 else "index"
        raise ValueError(f"{row.name} has outputs of shape {list(row.output_shape)}: give {wanted}")
    units.check_position(row.name, position, row.output_shape)
    return position


def _producer(name: str, model: nn.Module, layer: str) -> LayerRow | None:
    """The convolution or dense layer an elementwise layer's value comes from, if any."""
    rows = list(model_summary(name).layers)
    index = next(i for i, row in enumerate(rows) if row.name == layer)
    for row in reversed(rows[:index]):
        module = model.get_submodule(row.name)
        if isinstance(module, nn.Conv2d | nn.Linear):
            return row
        if not isinstance(module, units.ELEMENTWISE):
            return None
    return None


def _flatten_source(name: str, model: nn.Module, layer: str) -> dict[str, Any] | None:
    """For a dense layer fed (through elementwise layers) by a flatten: the layer before the
    flatten and its output shape, so that input i can be traced to (channel, row, column)."""
    rows = list(model_summary(name).layers)
    index = next(i for i, row in enumerate(rows) if row.name == layer)
    for k in range(index - 1, 0, -1):
        module = model.get_submodule(rows[k].name)
        if isinstance(module, nn.Flatten):
            return {"flatten": rows[k].name, "from": rows[k - 1].name,
                    "shape": list(rows[k - 1].output_shape)}  # fmt: skip
        if not isinstance(module, units.ELEMENTWISE):
            return None
    return None


def _softmax(name: str, logits: torch.Tensor) -> dict[str, Any]:
    """Softmax written out for the output layer; a long one keeps its most probable rows."""
    labels = get_model_spec(name).labels
    steps = units.softmax_steps(logits)
    probabilities = torch.tensor(steps["probabilities"])
    count = len(labels)
    shown = count if count <= SOFTMAX_ALL_UP_TO else SOFTMAX_ROWS
    indices = range(count) if shown == count else probabilities.topk(shown).indices.tolist()
    return {
        "max": steps["max"],
        "sum": steps["sum"],
        "classes": count,
        "rows": [
            {
                "index": i,
                "label": labels[i],
                "logit": steps["logits"][i],
                "exp": steps["exp"][i],
                "probability": steps["probabilities"][i],
            }
            for i in indices
        ],
    }


def unit_result(
    name: str,
    prepared: Prepared,
    layer: str,
    position: tuple[int, ...],
    device: torch.device | str,
) -> dict[str, Any]:
    """How the activation of ``layer`` at ``position`` was computed for the prepared image.

    ``position`` is (channel, row, column) for a layer of maps, (index,) for a vector.
    """
    row = check_layer(name, layer)
    position = _position(row, position)
    summary = model_summary(name)
    model = get_model(name, device)
    x = _device_input(prepared, model)  # (C, H, W)
    module = model.get_submodule(layer)
    captured = capture(model, x[None], [layer], keep_inputs=True)
    output = captured.activations[layer][0]  # without the batch dimension
    height, width = summary.input_shape[-2:]
    field = row.receptive_field
    box = field.box(*position[1:], height, width) if len(position) == 3 else (0, 0, height, width)
    found: dict[str, Any] = {
        "model": name,
        "layer": layer,
        "type": row.type,
        "image": prepared.image_id,
        "position": list(position),
        "value": float(output[position]),
        "input_size": [height, width],
        "receptive_field": {**field.to_dict(), "box": list(box)},
        "kind": "value",
    }
    source = row if isinstance(module, nn.Conv2d | nn.Linear) else None
    if source is None and isinstance(module, units.ELEMENTWISE):
        source = _producer(name, model, layer)
        found["via"] = source.name if source else None
    if source is not None and len(source.output_shape) == len(position):
        if len(position) == 3:
            unit = units.conv_unit(model, x, summary, source.name, position)  # type: ignore[arg-type]
            conv = model.get_submodule(source.name)
            found["kind"] = "conv"
            found["conv"] = {**unit.to_dict(), "type": source.type, "groups": conv.groups}
        else:
            dense = units.dense_unit(model, x, summary, source.name, position[0])
            found["kind"] = "dense"
            found["dense"] = {
                **dense.to_dict(),
                "source": _flatten_source(name, model, source.name),
            }
    elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d):
        found["kind"] = "pool"
        found["pool"] = units.pool_unit(model, x, summary, layer, position).to_dict()  # type: ignore[arg-type]
    elif isinstance(module, nn.Flatten):
        before = summary.layers[summary.layers.index(row) - 1]  # the maps it flattens
        origin = torch.unravel_index(torch.tensor(position[0]), before.output_shape)
        found["kind"] = "flatten"
        found["flatten"] = {
            "from": before.name,
            "shape": list(before.output_shape),
            "position": [int(i) for i in origin],  # (channel, row, column) in those maps
        }
    elif isinstance(module, ResidualAdd):
        branch, shortcut = captured.inputs[layer][:2]
        found["kind"] = "sum"
        found["sum"] = {
            "inputs": row.hyperparameters.get("inputs", []),
            "values": [float(branch[0][position]), float(shortcut[0][position])],
        }
    if row is summary.layers[-1]:
        found["softmax"] = _softmax(name, captured.output[0])
    return found


def input_png(prepared: Prepared) -> bytes:
    """The picture the network sees, as PNG."""
    return convert.encode_png(intake.from_pil(prepared.picture))


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


def architecture(name: str) -> dict[str, Any]:
    """The architecture table of model ``name``, each row with its hyperparameters in words."""
    summary = model_summary(get_model_spec(name).name)
    data = summary.to_dict()
    for row, shown in zip(summary.layers, data["layers"], strict=True):
        shown["text"] = describe(row)
        shown["kind"] = "maps" if featuremaps.is_map_layer(row.output_shape) else "vector"
    return {"model": name, **data}
