"""Every lecture preset of every operation page: the engine, ``torch.nn.functional`` and the
(corrected) slide agree; the slides' mistakes are corrected and explained."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from app.images.samples import load_sample
from app.ops.arrays import to_tensor, to_vector
from app.ops.kernels import KERNELS, get_kernel
from app.ops.presets import DEFAULTS, Preset, presets
from app.ops.presets.pointwise import LUMA
from tests.utils.tolerance import assert_close, magnitude

OPERATIONS = ("convolution", "pooling", "transposed", "pointwise")
ALL = [preset for operation in OPERATIONS for preset in presets(operation).values()]


def as_stack(values: Any) -> torch.Tensor:
    x = to_tensor(values, "input", dims=(2, 3))
    return x if x.dim() == 3 else x[None]  # (C, H, W)


def convolution(preset: Preset) -> tuple[torch.Tensor, int, float]:
    s = preset.settings
    weight = to_tensor(s["kernel"], "kernel", dims=(2, 3, 4))
    w4 = (
        weight if weight.dim() == 4 else (weight[None] if weight.dim() == 3 else weight[None, None])
    )
    applied = torch.flip(w4, (-2, -1)) if s["flip"] else w4
    bias = to_vector(s["bias"], "bias", w4.shape[0])
    x = as_stack(preset.input)[None]
    # float64 sums of C·kh·kw products and the bias (exact for the slides' small numbers)
    terms = applied[0].numel() + 1

    def conv(values: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return conv2d_as_torch(values, w, b, s)

    return conv(x, applied, bias)[0], terms, magnitude(conv, x, applied, bias)


def conv2d_as_torch(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, s: Any) -> torch.Tensor:
    """torch's answer for a preset's settings: [top, bottom, left, right] by F.pad, any other
    padding and padding_mode by nn.Conv2d itself."""
    padding, mode = s["padding"], s.get("padding_mode", "zeros")
    if isinstance(padding, list) and len(padding) == 4:
        torch_mode = "constant" if mode == "zeros" else mode
        x = F.pad(x, (padding[2], padding[3], padding[0], padding[1]), mode=torch_mode)
        padding = 0
    layer = torch.nn.Conv2d(
        w.shape[1], w.shape[0], w.shape[2:], stride=s["stride"], padding=padding,
        dilation=s["dilation"], padding_mode=mode, dtype=torch.float64,
    )  # fmt: skip
    with torch.no_grad(), warnings.catch_warnings():  # "same": "may require a padded copy"
        warnings.simplefilter("ignore", UserWarning)
        layer.weight.copy_(w)
        layer.bias.copy_(b)  # type: ignore[union-attr]
        return layer(x)


def pooling(preset: Preset) -> tuple[torch.Tensor, int, float]:
    s = preset.settings
    size, padding = s["size"], s["padding"]
    stride = size if s["stride"] is None else s["stride"]
    k = (size, size) if isinstance(size, int) else size

    def pool(values: torch.Tensor) -> torch.Tensor:
        if s["kind"] == "max":
            return F.max_pool2d(values[None], size, stride, padding)[0]
        mean = F.avg_pool2d(values[None], size, stride, padding)[0]
        return mean * k[0] * k[1] if s["kind"] == "sum" else mean

    x = as_stack(preset.input)
    # float64: a max is exact; a mean or sum rounds kh·kw additions, a division, a product
    return pool(x), k[0] * k[1] + 2, float(pool(x.abs()).max())


def transposed(preset: Preset) -> tuple[torch.Tensor, int, float]:
    s = preset.settings
    weight = to_tensor(s["kernel"], "kernel", dims=(2, 4))
    weight = weight if weight.dim() == 4 else weight[None, None]
    bias = to_vector(s["bias"], "bias", weight.shape[1])
    options = {key: s[key] for key in ("stride", "padding", "output_padding", "dilation")}
    x = as_stack(preset.input)[None]
    # float64: an output sums at most C_in·kh·kw stamps and the bias
    terms = weight.shape[0] * weight.shape[2] * weight.shape[3] + 1
    scale = magnitude(F.conv_transpose2d, x, weight, bias, **options)
    return F.conv_transpose2d(x, weight, bias, **options)[0], terms, scale


def pointwise(preset: Preset) -> tuple[torch.Tensor, int, float]:
    """A 1×1 convolution is the mixing matrix at every pixel: W·x + b."""
    x = as_stack(preset.input)
    w = torch.tensor(preset.settings["weights"], dtype=torch.float64)  # (O, C)
    b = torch.tensor(preset.settings["bias"], dtype=torch.float64)
    c, h, width = x.shape
    mixed = (w @ x.reshape(c, -1) + b[:, None]).reshape(-1, h, width)
    scale = float((w.abs() @ x.reshape(c, -1).abs() + b.abs()[:, None]).max())
    return mixed, c + 1, scale  # float64, C products + bias


REFERENCE = {
    "convolution": convolution,
    "pooling": pooling,
    "transposed": transposed,
    "pointwise": pointwise,
}


@pytest.mark.parametrize("preset", ALL, ids=[f"{p.operation}-{p.name}" for p in ALL])
def test_every_preset_matches_torch_and_its_slide(preset):
    expected, terms, scale = REFERENCE[preset.operation](preset)
    trace = preset.run()
    assert_close(trace.output, expected, terms=terms, scale=scale)
    if preset.expected is not None:
        slide = torch.tensor(preset.expected, dtype=torch.float64)
        assert_close(trace.output.reshape(slide.shape), slide, terms=terms, scale=scale)


def test_every_page_opens_on_one_of_its_presets():
    for operation in OPERATIONS:
        assert DEFAULTS[operation] in presets(operation)
    assert DEFAULTS["transposed"] == "slides_upsampling"
    assert {p.settings["kind"] for p in presets("pooling").values()} == {"max", "avg", "sum"}


def test_a_preset_lists_its_settings_beside_its_input():
    found = presets("convolution")["d2l_padding"].to_dict()
    assert set(found) == {
        "name", "title", "source", "input", "kernel", "bias", "stride", "padding",
        "dilation", "flip", "padding_mode", "dims", "expected", "note", "tags",
    }  # fmt: skip
    assert found["padding"] == 1 and found["tags"] == ["lecture", "padding"]


def test_the_slides_mistakes_are_corrected_and_explained():
    conv = presets("convolution")
    assert conv["vertical_edge_numbers"].expected[1][0] == -10  # the slide says −16
    assert "−16" in conv["vertical_edge_numbers"].note
    assert conv["sharpen_padded"].expected[4][0] == 4  # the slide says 5
    assert conv["sharpen_stride"].expected[2][0] == 4
    pool = presets("pooling")
    assert pool["leong_max"].expected == [[20, 30], [112, 37]]
    assert pool["d2l_max"].expected[0][0] == 4  # max(0, 1, 3, 4) = 4
    upsampling = presets("transposed")["slides_upsampling"]
    slide = [[0, 1, 0, 0], [1, 0, 0, 0], [2, 2, 3, 0], [0, 3, 0, 0]]  # as printed
    assert upsampling.expected != slide
    assert upsampling.expected[2:] == [[0, 2, 0, 3], [2, 0, 3, 0]]
    assert "2 2 3 0 and 0 3 0 0" in upsampling.note


def test_a_1x1_convolution_counts_its_parameters_as_a_dense_layer_per_pixel():
    for preset in presets("pointwise").values():
        c, o = len(preset.input), len(preset.settings["weights"])
        assert preset.run().parameters()["conv"] == (c + 1) * o


def test_grayscale_preset_is_pillows_conversion_up_to_rounding():
    preset = presets("pointwise")["gray"]
    rgb = torch.tensor(preset.input, dtype=torch.float64)
    gray = torch.tensordot(torch.tensor(LUMA, dtype=torch.float64), rgb, dims=1)
    pillow = load_sample("chelsea", 12, "L")[0] * 255  # Pillow's own "L" conversion
    assert (gray - pillow).abs().max() < 2.5  # Pillow rounds before and after shrinking


def test_classic_kernels():
    for name in ("box_blur", "gaussian_blur", "gaussian_blur_5"):
        assert sum(map(sum, KERNELS[name].weights)) == pytest.approx(1.0)
    for name in (
        "laplacian",
        "outline",
        "sobel_top",
        "sobel_left",
        "prewitt_right",
        "vertical_edge",
        "horizontal_edge",
    ):
        assert sum(map(sum, KERNELS[name].weights)) == 0
    assert get_kernel("sharpen").weights[1][1] == 5
    with pytest.raises(ValueError, match="unknown kernel 'nope'; known: identity, sharpen"):
        get_kernel("nope")
