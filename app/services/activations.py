"""The activations lesson, request → result: a function and its derivative on [−5, 5], a
feature map before and after it (from numbers, a convolution preset or a classic kernel on
a sample photo), and the page's catalogue."""

from __future__ import annotations

from typing import Any

from app.images.samples import SAMPLES
from app.ops import activations as act
from app.ops import demo_maps
from app.ops.arrays import to_tensor
from app.ops.kernels import KERNELS
from app.ops.presets.convolution import CONVOLUTION
from app.services.serialize import dumps


def curve(*, function: Any, negative_slope: Any, alpha: Any) -> bytes:
    """``y`` from torch.nn.functional and its autograd ``derivative`` at 201 points."""
    found = act.get_activation(function)
    value = act.setting(found, negative_slope, alpha)
    return dumps(act.curve(found, value))


def feature_map(*, input: Any, preset: Any, image: Any, kernel: Any) -> tuple[Any, str]:
    """The H×W map a request names, exactly one way, and where it comes from."""
    given = [
        name
        for name, v in (("input", input), ("preset", preset), ("image", image))
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give exactly one feature map: input (numbers), preset (a name) or image and "
            f"kernel (names); got {', '.join(given) or 'none'}"
        )
    if input is not None:
        x = to_tensor(input, "input", dims=(2,))
        if max(x.shape) > act.MAX_MAP_SIDE:
            raise ValueError(
                f"input is {x.shape[0]}×{x.shape[1]}; the limit is "
                f"{act.MAX_MAP_SIDE}×{act.MAX_MAP_SIDE}"
            )
        return x, "your numbers"
    if preset is not None:
        return demo_maps.from_preset(preset)
    if kernel is None:
        raise ValueError("image needs a kernel to make a feature map, e.g. 'sobel_left'")
    return demo_maps.from_image(image, kernel)


def apply(
    *, function: Any, negative_slope: Any, alpha: Any, input: Any = None, preset: Any = None,
    image: Any = None, kernel: Any = None,
) -> bytes:  # fmt: skip
    """Both maps, histograms on shared bins and statistics."""
    found = act.get_activation(function)
    value = act.setting(found, negative_slope, alpha)
    before, source = feature_map(input=input, preset=preset, image=image, kernel=kernel)
    return dumps({**act.apply(found, value, before), "source": source})


def config() -> dict[str, Any]:
    """The activations page's data: functions, their default curves, maxout, map sources."""
    return {
        "functions": [a.to_dict() for a in act.ACTIVATIONS.values()],
        "defaults": act.DEFAULTS,
        "limits": {"max_slope": act.MAX_SLOPE, "max_alpha": act.MAX_ALPHA},
        "curves": act.all_curves(**act.DEFAULTS),
        "maxout": act.maxout_example(),
        "presets": [{"name": p.name, "title": p.title} for p in CONVOLUTION.values()],
        "images": [{"name": s.name, "title": s.title} for s in SAMPLES.values()],
        "kernels": [{"name": k.name, "title": k.title} for k in KERNELS.values()],
        "default_map": {"preset": "vertical_edge_numbers"},
    }
