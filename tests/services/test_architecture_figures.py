"""The architecture page's figures: blocks and their connections (ResNet's shortcuts,
U-Net's skip connections, a network's own inline sum), parameters and compute by kind,
receptive-field growth."""

from __future__ import annotations

import torch
from torch import nn

from app.nets.registry import get_model_spec
from app.nets.summary import summarize
from app.services.architecture_figures import blocks, by_kind, field_growth


def test_unet_levels_and_skip_connections():
    found = blocks(get_model_spec("unet").summary)
    names = [b["name"] for b in found["blocks"]]
    assert names == ["down1", "down2", "down3", "down4", "bottom", "dropout",
                     "up4", "up3", "up2", "up1", "classes"]  # fmt: skip
    links = [(names[link["from"]], names[link["to"]], link["kind"]) for link in found["links"]]
    assert links == [("down4", "up4", "concat"), ("down3", "up3", "concat"),
                     ("down2", "up2", "concat"), ("down1", "up1", "concat")]  # fmt: skip
    scales = [b["scale"] for b in found["blocks"]]
    assert scales[:5] == [0, 1, 2, 3, 4] and scales[-1] == 1  # 572 / 388: less than a halving
    assert found["blocks"][6]["words"] == "2×2 up-conv 512 ×2 · crop · concat · 2× 3×3 conv 512"


class Inline(nn.Module):
    """A residual block whose sum is written inline."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 8 * 8, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return self.head(self.block(x) + x)


def test_a_sum_written_inline_is_a_connection():
    found = blocks(summarize(Inline(), (1, 8, 8)))
    assert [b["name"] for b in found["blocks"]] == ["stem", "block", "add()", "head"]
    assert [(link["from"], link["to"]) for link in found["links"]] == [(0, 2)]


def test_by_kind_and_field_growth_of_vgg16():
    summary = get_model_spec("vgg16").summary
    kinds = {k["kind"]: k for k in by_kind(summary)}
    assert kinds["dense layers"]["parameters"] == 123_642_856
    assert kinds["convolutions"]["parameters"] == 14_714_688
    assert kinds["convolutions"]["mac_share"] > 0.99
    assert sum(k["parameters"] for k in kinds.values()) == summary.total_parameters
    growth = field_growth(summary)
    assert len(growth) == 18  # 13 convolutions, 5 pools
    sizes = [g["size"][0] for g in growth]
    assert sizes[:3] == [3, 5, 6] and sizes[-1] == 212  # conv, conv, pool; pool5
