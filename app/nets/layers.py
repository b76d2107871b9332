"""Small building blocks the architectures share, beyond what ``torch.nn`` has.

- :class:`Conv2dSame`: a convolution with TensorFlow's ``SAME`` padding. Networks trained in
  TensorFlow (EfficientNet-Lite) pad a stride-2 convolution asymmetrically: the output has
  ⌈H / s⌉ rows and any odd padding row goes to the bottom (column to the right). Symmetric
  padding would shift every stride-2 feature map by one pixel against the trained weights.
- :class:`ResidualAdd`: ``a + b`` as a module, so that a residual sum is a layer of its own
  (it gets a row in the architecture table and its output can be captured by a hook).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: (left, right, top, bottom): the order ``F.pad`` takes for the last two dimensions.
Padding4 = tuple[int, int, int, int]


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding along one axis: (before, after), the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow ``SAME`` padding, worked out from the input's size.

    Symmetric padding goes through ``conv2d``'s own argument (no copy); only an asymmetric
    one (stride 2, even input) pads explicitly first.
    """

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get("padding", 0) != 0:
            raise ValueError("Conv2dSame computes its own padding; do not pass one")
        super().__init__(*args, **kwargs)

    def padding_for(self, height: int, width: int) -> Padding4:
        """The (left, right, top, bottom) zeros added to an input of this size."""
        top, bottom = same_padding(height, self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = same_padding(width, self.kernel_size[1], self.stride[1], self.dilation[1])
        return left, right, top, bottom

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.padding_for(x.shape[-2], x.shape[-1])
        if left == right and top == bottom:
            return F.conv2d(
                x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups
            )
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ResidualAdd(nn.Module):
    """The sum of a block's output and its shortcut: ``branch + shortcut``."""

    def forward(self, branch: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
        return branch + shortcut
