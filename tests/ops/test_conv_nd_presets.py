"""The playground's 1-D and 3-D presets against torch.nn.Conv1d / Conv3d (their padding and
padding_mode as torch applies them), and what each is meant to show."""

from __future__ import annotations

import warnings

import pytest
import torch

from app.ops.arrays import to_tensor, to_vector
from app.ops.presets.convolution_nd import DEFAULTS, nd_presets, views
from tests.utils.tolerance import assert_close, magnitude

LAYERS = {1: torch.nn.Conv1d, 3: torch.nn.Conv3d}
ALL = [preset for dims in (1, 3) for preset in nd_presets(dims).values()]


def torch_conv(x, w, b, s):
    dims = s["dims"]
    layer = LAYERS[dims](
        w.shape[1], w.shape[0], w.shape[2:], stride=s["stride"], padding=s["padding"],
        dilation=s["dilation"], padding_mode=s["padding_mode"], dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "same" with an even kernel
        layer.weight.copy_(w)
        layer.bias.copy_(b)
        return layer(x[None])[0]


@pytest.mark.parametrize("preset", ALL, ids=lambda p: p.name)
def test_every_preset_matches_torch(preset):
    s = preset.settings
    dims = s["dims"]
    x = to_tensor(preset.input, "input", dims=(dims, dims + 1))
    x = x if x.dim() == dims + 1 else x[None]
    w = to_tensor(s["kernel"], "kernel", dims=(dims, dims + 1, dims + 2))
    w = w[(None,) * (dims + 2 - w.dim())]
    b = to_vector(s["bias"], "bias", w.shape[0])
    trace = preset.run()
    expected = torch_conv(x, w, b, s)
    scale = magnitude(lambda a, ww, bb: torch_conv(a, ww, bb, s), x.abs(), w.abs(), b.abs())
    assert_close(trace.output, expected, terms=w[0].numel() + 1, scale=scale)
    if preset.expected is not None:
        assert trace.output[0].tolist() == preset.expected


def test_each_preset_shows_what_it_says():
    motion = nd_presets(3)["video_motion"].run().output[0]  # (3 frames, 5, 5)
    # the square moves right: positive where it arrives, negative where it left
    assert motion.max() > 0 and motion.min() < 0
    assert (motion > 0).nonzero()[:, 2].float().mean() > (motion < 0).nonzero()[:, 2].float().mean()
    nodule = nd_presets(3)["medical_nodule"].run().output[0]
    top = (nodule == nodule.max()).nonzero()[0].tolist()
    assert top[0] in (2, 3) and top[1] in (2, 3) and top[2] in (3, 4)  # inside the nodule
    assert nodule[0, 0, 0] == 0  # flat tissue, replicate padding: no edge at the border
    click = nd_presets(1)["audio_difference"].run().output[0]
    assert int(click.abs().argmax()) in (22, 23)  # the difference jumps at the click


def test_views_list_each_dimensions_presets_and_default():
    data = views()
    assert set(data) == {"1", "3"}
    for dims in (1, 3):
        names = [p["name"] for p in data[str(dims)]["presets"]]
        assert data[str(dims)]["default_preset"] == DEFAULTS[dims] in names
        assert all(p["dims"] == dims for p in data[str(dims)]["presets"])


def test_seed_000s_shift_example_is_offered_to_the_pooling_page():
    from app.ops.invariance import SEED_000_EDGE
    from app.services.operations import demo_examples

    demo = {d["name"]: d for d in demo_examples()}["seed000_edge"]
    assert demo["input"] == SEED_000_EDGE == [[1, 1, 0, 0, 0]] * 4
    assert demo["kernel"] == [[1, -1]] and (demo["size"], demo["stride"]) == (2, 1)
