"""What the network explorer computes for one image, free of any web code.

The model endpoints (``app/web/api/models.py``) and the pages (``/networks/{name}``) call
these functions; each returns plain data (dicts of numbers and PNG ``data:`` URLs):

- :func:`predict_result`: the top k classes.
- :func:`activations_result`: one layer's output, as a page of feature-map PNGs or, for a
  vector, its numbers (``app.explain.featuremaps``). The forward pass stops after the layer.
- :func:`unit_result`: how one activation was computed (``app.explain.units``): a
  convolution's window, kernel, per-channel partial sums, bias and what the following
  elementwise layers made of it; a dense unit's products; a pooling window; the flatten
  index; the two inputs of a residual sum; softmax for the output layer; and the
  receptive field of the unit in the input picture.

Each takes the :class:`~app.nets.network.Network` to explore (the registry is consulted by
the web layer), so a network outside the zoo is explored by the same code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from app.explain import featuremaps, units
from app.explain.hooks import capture, layer_output, module_of
from app.explain.pool_units import pool_unit
from app.explain.segmentation import is_segmenter, pixel_average
from app.images import convert, intake
from app.images.colormaps import Scheme, check_scheme
from app.images.store import ImageSource
from app.nets.graph import INPUT
from app.nets.layers import ResidualAdd
from app.nets.names import UnknownName
from app.nets.network import Network
from app.nets.predict import LayerActivation, predict
from app.nets.summary import LayerRow
from app.services.answers import JSON, PICTURES_JSON, Answer, Answers
from app.services.inputs import Inputs, Prepared
from app.services.serialize import dumps

#: Softmax tables list every class up to this many, else the most probable ones.
SOFTMAX_ROWS = 10
SOFTMAX_ALL_UP_TO = 20


def check_layer(network: Network, layer: str) -> LayerRow:
    """The architecture row of ``layer``; :class:`UnknownName` listing the layers."""
    summary = network.summary
    try:
        return summary.layer(layer)
    except KeyError:
        raise UnknownName("layer", layer, [row.name for row in summary.layers]) from None


def predict_result(network: Network, prepared: Prepared, k: int) -> dict[str, Any]:
    """The top ``k`` classes of the prepared image, most probable first (for a network
    that labels pixels, the classes' probabilities averaged over the pixels)."""
    if is_segmenter(network):
        found = pixel_average(network, prepared.x, k)
    else:
        found = predict(network.module, prepared.x, network.labels, k)
    return {
        "model": network.name,
        "image": prepared.image_id,
        "k": k,
        "num_classes": network.num_classes,
        "predictions": [p.to_dict() for p in found],
    }


def activations_result(
    network: Network,
    prepared: Prepared,
    layer: str,
    *,
    order: featuremaps.Order = "strength",
    page: int = 0,
    per_page: int = 16,
    scale: featuremaps.Scale = "layer",
    colors: Scheme = "standard",
) -> dict[str, Any]:
    """One layer's output for the prepared image: a page of maps, or a vector's numbers, in
    colour scheme ``colors``."""
    row = check_layer(network, layer)
    check_scheme(colors)
    if featuremaps.is_map_layer(row.output_shape):
        featuremaps.check_page(page, per_page, row.output_shape[0])  # before computing
    x = prepared.x.to(network.device)[None]  # (1, C, H, W)
    activation = LayerActivation.of(layer, layer_output(network.module, x, layer)[0])
    header = {"model": network.name, "layer": layer, "type": row.type, "image": prepared.image_id}
    if featuremaps.is_map_layer(row.output_shape):
        shown = featuremaps.maps_page(
            activation, order=order, page=page, per_page=per_page, scale=scale, colors=colors
        )
    else:
        shown = featuremaps.vector(activation, colors)
    return {**header, **shown}


def _position(row: LayerRow, position: tuple[int, ...]) -> tuple[int, ...]:
    dims = len(row.output_shape)
    if len(position) != dims:
        wanted = "channel, row and col" if dims == 3 else "index"
        raise ValueError(f"{row.name} has outputs of shape {list(row.output_shape)}: give {wanted}")
    units.check_position(row.name, position, row.output_shape)
    return position


def _producer(network: Network, layer: str) -> LayerRow | None:
    """The convolution or dense layer an elementwise layer's value comes from through
    elementwise layers alone (along the graph: no sum or concatenation between), if any."""
    path = units.before(network.summary, network.module, layer)
    if path and isinstance(module_of(network.module, path[-1].name), nn.Conv2d | nn.Linear):
        return path[-1]
    return None


def _flatten_source(network: Network, layer: str) -> dict[str, Any] | None:
    """For a dense layer fed (through elementwise layers) by a flatten: the layer before the
    flatten and its output shape, so that input i can be traced to (channel, row, column)."""
    path = units.before(network.summary, network.module, layer)
    if not path or path[-1].kind != "module":
        return None
    flatten = path[-1]
    if not isinstance(module_of(network.module, flatten.name), nn.Flatten):
        return None
    source = units.before(network.summary, network.module, flatten.name)
    if not source or source[0].name == INPUT:
        return None
    return {"flatten": flatten.name, "from": source[0].name, "shape": list(source[0].output_shape)}


def _softmax(labels: tuple[str, ...], logits: torch.Tensor) -> dict[str, Any]:
    """Softmax written out for the output layer; a long one keeps its most probable rows."""
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
    network: Network, prepared: Prepared, layer: str, position: tuple[int, ...]
) -> dict[str, Any]:
    """How the activation of ``layer`` at ``position`` was computed for the prepared image.

    ``position`` is (channel, row, column) for a layer of maps, (index,) for a vector.
    """
    row = check_layer(network, layer)
    position = _position(row, position)
    summary = network.summary
    model = network.module
    x = prepared.x.to(network.device)  # (C, H, W)
    module = module_of(model, layer)
    captured = capture(model, x[None], [layer], keep_inputs=True)
    output = captured.activations[layer][0]  # without the batch dimension
    height, width = summary.input_shape[-2:]
    field = row.receptive_field
    box = field.box(*position[1:], height, width) if len(position) == 3 else (0, 0, height, width)
    found: dict[str, Any] = {
        "model": network.name,
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
        source = _producer(network, layer)
        found["via"] = source.name if source else None
    if source is not None and len(source.output_shape) == len(position):
        if len(position) == 3:
            unit = units.conv_unit(model, x, summary, source.name, position)
            conv = module_of(model, source.name)
            found["kind"] = "conv"
            found["conv"] = {**unit.to_dict(), "type": source.type, "groups": conv.groups}
        else:
            dense = units.dense_unit(model, x, summary, source.name, position[0])
            found["kind"] = "dense"
            found["dense"] = {
                **dense.to_dict(),
                "source": _flatten_source(network, source.name),
            }
    elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d):
        found["kind"] = "pool"
        found["pool"] = pool_unit(model, x, summary, layer, position).to_dict()  # type: ignore[arg-type]
    elif isinstance(module, nn.Flatten) and len(row.inputs) == 1 and row.inputs[0] != INPUT:
        before = summary.node(row.inputs[0])  # the maps it flattens
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
        found["softmax"] = _softmax(network.labels, captured.output[0])
    return found


def input_png(prepared: Prepared) -> bytes:
    """The picture the network sees, as PNG."""
    return convert.encode_png(intake.from_pil(prepared.picture))


def prediction(
    network: Network, inputs: Inputs, answers: Answers, source: ImageSource, k: int
) -> Answer:
    """``POST .../predict``: the image sent (a file, kept, or an id), classified; computed
    once per network, image and k."""
    image = inputs.images.resolve(source)
    key = ("predict", network.name, image.id, k)
    return answers.get(
        key, lambda: (dumps(predict_result(network, inputs.get(network, image), k)), JSON)
    )


def picture(network: Network, inputs: Inputs, answers: Answers, image_id: str) -> Answer:
    """``GET .../input``: the picture ``network`` sees of image ``image_id``, as PNG."""
    key = ("input", network.name, image_id)
    return answers.get(key, lambda: (input_png(inputs.named(network, image_id)), "image/png"))


def position_of(
    channel: int | None, row: int | None, col: int | None, index: int | None
) -> tuple[int, ...]:
    """A unit as a request names it: (channel, row, col) in a map, or (index,) in a vector."""
    if index is not None and channel is None and row is None and col is None:
        return (index,)
    if index is None and channel is not None and row is not None and col is not None:
        return (channel, row, col)
    raise ValueError("Give channel, row and col for a unit of a feature map, or index alone")


def activations(
    network: Network, inputs: Inputs, answers: Answers, image_id: str, layer: str,
    **options: Any,
) -> Answer:  # fmt: skip
    """``GET .../layers/{layer}/activations``: an unknown layer is refused before the image
    is read. A page of pictures only (no ``values``) is :data:`PICTURES_JSON`."""
    check_layer(network, layer)

    def make() -> Answer:
        data = activations_result(network, inputs.named(network, image_id), layer, **options)
        pictures = data["kind"] == "maps" and "values" not in data
        return dumps(data), PICTURES_JSON if pictures else JSON

    return answers.get(("maps", network.name, image_id, layer, *sorted(options.items())), make)


def unit(
    network: Network, inputs: Inputs, answers: Answers, image_id: str, layer: str,
    position: tuple[int, ...],
) -> Answer:  # fmt: skip
    """``GET .../layers/{layer}/unit``: how one activation was computed."""
    check_layer(network, layer)
    prepared = lambda: inputs.named(network, image_id)  # noqa: E731
    key = ("unit", network.name, image_id, layer, position)
    return answers.get(
        key, lambda: (dumps(unit_result(network, prepared(), layer, position)), JSON)
    )
