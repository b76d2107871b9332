"""Which layers of a network are convolutions, by name, and the sentence when one is not.

Filters, Grad-CAM and activation maximisation all take "a convolution layer" by the name
it has in the architecture table (``conv2``, ``blocks.3.depthwise.conv``):

- :func:`conv_layers`: the ``nn.Conv2d`` modules (their weights are the filters);
- :func:`feature_layers`: what Grad-CAM and activation maximisation accept: a convolution,
  a convolution block (an ``nn.Sequential`` that starts with one, such as EfficientNet's
  ``stem`` or ``head``: convolution, BatchNorm, activation) or a BatchNorm/activation inside
  such a block after its convolution. Their outputs are the convolution's feature maps,
  before or after normalisation and activation.

Anything else (a pooling layer, a dense layer, a residual sum) is refused with a
``ValueError`` saying what the layer is and naming some that would do.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from torch import nn

from app.explain.units import ELEMENTWISE

#: Names listed in an error message before "… (N in all)".
SHOWN = 6


#: The lists below per network (a few milliseconds to make for EfficientNet-Lite0's 260
#: modules, more than a Grad-CAM pass can spare); forgotten with the network.
_CONV: WeakKeyDictionary[nn.Module, tuple[str, ...]] = WeakKeyDictionary()
_FEATURE: WeakKeyDictionary[nn.Module, tuple[str, ...]] = WeakKeyDictionary()


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the ``nn.Conv2d`` modules, in definition order."""
    if model not in _CONV:
        modules = model.named_modules()
        _CONV[model] = tuple(name for name, m in modules if isinstance(m, nn.Conv2d))
    return list(_CONV[model])


def _is_conv_block(module: nn.Module) -> bool:
    first = next(iter(module.children()), None) if isinstance(module, nn.Sequential) else None
    return isinstance(first, nn.Conv2d)


def feature_layers(model: nn.Module) -> list[str]:
    """Convolutions, convolution blocks and the layers after the convolution in a block."""
    if model not in _FEATURE:
        _FEATURE[model] = tuple(_feature_layers(model))
    return list(_FEATURE[model])


def _feature_layers(model: nn.Module) -> list[str]:
    names = []
    for name, module in model.named_modules():
        if not name:
            continue  # the network itself, even when it is one nn.Sequential
        if isinstance(module, nn.Conv2d) or _is_conv_block(module):
            names.append(name)
        if _is_conv_block(module):
            children = list(module.named_children())[1:]
            for child_name, child in children:
                if not isinstance(child, ELEMENTWISE):
                    break
                names.append(f"{name}.{child_name}")
    return names


def _some(names: list[str]) -> str:
    if len(names) <= SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[: SHOWN - 1])}, …, {names[-1]} ({len(names)} in all)"


def _find(model: nn.Module, name: str, known: list[str], what: str) -> nn.Module:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a layer name is needed: the {what} layers are {_some(known)}")
    try:
        module = model.get_submodule(name)
    except AttributeError:
        raise ValueError(f"Unknown layer {name!r}: the {what} layers are {_some(known)}") from None
    if name not in known:
        raise ValueError(
            f"{name} is a {type(module).__name__} layer, not a convolution: "
            f"choose one of {_some(known)}"
        )
    return module


def conv_module(model: nn.Module, name: str) -> nn.Conv2d:
    """The ``nn.Conv2d`` called ``name``, or a ``ValueError`` with a sentence."""
    module = _find(model, name, conv_layers(model), "convolution")
    assert isinstance(module, nn.Conv2d)
    return module


def feature_layer(model: nn.Module, name: str) -> nn.Module:
    """The convolution (block, or layer after a block's convolution) called ``name``."""
    return _find(model, name, feature_layers(model), "convolution")


def channels_of(model: nn.Module, name: str) -> int:
    """How many feature maps (channels) the convolution layer ``name`` produces."""
    module = feature_layer(model, name)
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:  # a BatchNorm or activation inside a block: its block's convolution
        parent = dict(model.named_modules())[name.rsplit(".", 1)[0]]
        convs = [m for m in parent.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels
