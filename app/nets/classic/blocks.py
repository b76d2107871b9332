"""U-Net's crop as a module, so that it is a row of the architecture table and its output can
be captured by a hook: :class:`CenterCrop` cuts the central part of a feature map to the
size of another (U-Net crops the contracting path's maps to the expanding path's smaller
ones: its convolutions are unpadded, so each level of the expanding path is smaller).

A residual sum is :class:`app.nets.layers.ResidualAdd`; a concatenation
:class:`app.nets.unet.Concat`.
"""

from __future__ import annotations

import torch
from torch import nn


def crop_offsets(size: tuple[int, int], like: tuple[int, int]) -> tuple[int, int]:
    """(rows, columns) cut from the top and from the left to centre ``like`` in ``size``."""
    return (size[0] - like[0]) // 2, (size[1] - like[1]) // 2


class CenterCrop(nn.Module):
    """``x`` cut to the height and width of ``like``, keeping its centre."""

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        height, width = like.shape[-2:]
        top, left = crop_offsets((x.shape[-2], x.shape[-1]), (height, width))
        return x[..., top : top + height, left : left + width]
