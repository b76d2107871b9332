"""Every pooling preset: the engine, torch and the slide agree."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from app.ops.arrays import to_tensor
from app.ops.pool_presets import DEFAULT_POOL_PRESET, POOL_PRESETS
from tests.utils.tolerance import assert_close


@pytest.mark.parametrize("name", list(POOL_PRESETS))
def test_preset_matches_torch(name):
    preset = POOL_PRESETS[name]
    x = to_tensor(preset.input, "input", dims=(2, 3))
    x = x if x.dim() == 3 else x[None]
    stride = preset.size if preset.stride is None else preset.stride
    k = (preset.size, preset.size) if isinstance(preset.size, int) else preset.size

    def pool(values: torch.Tensor) -> torch.Tensor:
        if preset.kind == "max":
            return F.max_pool2d(values[None], preset.size, stride, preset.padding)[0]
        mean = F.avg_pool2d(values[None], preset.size, stride, preset.padding)[0]
        return mean * k[0] * k[1] if preset.kind == "sum" else mean

    expected = pool(x)
    trace = preset.run()
    # float64: a max is exact; a mean or sum rounds kh·kw additions, a division, a product
    terms, scale = k[0] * k[1] + 2, float(pool(x.abs()).max())
    assert_close(trace.output, expected, terms=terms, scale=scale)
    if preset.expected is not None:
        slide = torch.tensor(preset.expected, dtype=torch.float64)
        assert_close(trace.output.reshape(slide.shape), slide, terms=terms, scale=scale)


def test_the_lecture_examples_are_there():
    assert POOL_PRESETS["leong_max"].expected == [[20, 30], [112, 37]]
    assert POOL_PRESETS["d2l_max"].expected[0][0] == 4  # max(0, 1, 3, 4) = 4
    assert {p.kind for p in POOL_PRESETS.values()} == {"max", "avg", "sum"}
    assert DEFAULT_POOL_PRESET in POOL_PRESETS
