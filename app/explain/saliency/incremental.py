"""Occlusion's forward passes by incremental inference (Nakandala, Kumar and Papakonstantinou,
"Incremental and Approximate Inference for Faster Occlusion-based Deep CNN Explanations",
SIGMOD 2019), exact: a square hides part of the image, so the first layers change only near
it. Each convolution is recomputed only over the rows and columns whose windows reach the
changed part of its input, reading the rest from the unoccluded image's activations (computed
once); once the changed part covers most of a map, the network runs as usual on the full maps
with the changed part pasted in.

A layer's changed region, for every position of the square, is a rectangle of one size for
all positions (the largest; a row or two more than needed is recomputed, equal to the
baseline). Cropping is exact because every step is a convolution followed by pointwise work
(BatchNorm in eval mode, an activation) or a residual sum: a crop is convolved without
padding, the zeros that padding would add are zeros of the padded baseline, and whatever a
crop computes outside the map is set to zero again, as padding the next layer would be.

The saving depends on where a network's compute lies: EfficientNet-Lite0 spends a third of
its multiply-adds in its 112×112, 56×56 and 28×28 stages, where a 32-pixel square changes a
small part of each map; by the 14×14 stage a square's reach covers most of the map. Counted
over the 169 positions of a 32-pixel square with stride 16 at 224×224, about 58% of the
multiply-adds remain (``python -m bench saliency`` measures what that gives).

Only networks whose layers are known here get a plan (:func:`plan_for`: EfficientNet-Lite0);
any other runs every pass in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from app.nets.efficientnet_lite import EfficientNetLite0, MBConv
from app.nets.layers import Conv2dSame

#: Stop recomputing crops once a layer's changed rectangle covers this share of its map.
FULL_FROM = 0.5
_POINTWISE = (nn.BatchNorm2d, nn.ReLU, nn.ReLU6, nn.Identity)


@dataclass(frozen=True)
class Conv:
    """A convolution and the pointwise modules after it (``nn.Sequential``: conv, bn, act)."""

    layer: nn.Sequential

    @property
    def conv(self) -> nn.Conv2d:
        conv = self.layer[0]
        assert isinstance(conv, nn.Conv2d)
        return conv

    @property
    def after(self) -> list[nn.Module]:
        return list(self.layer)[1:]


@dataclass(frozen=True)
class Add:
    """The sum of the previous step's output and the input of step ``shortcut``."""

    shortcut: int


Step = Conv | Add


@dataclass(frozen=True)
class Plan:
    """A network as a chain of steps up to each block's end, and the rest of its forward."""

    steps: tuple[Step, ...]
    #: after how many steps each block ends (where the full pass may take over)
    ends: tuple[int, ...]
    #: the rest of the forward pass from the end of block ``b`` (0-based count of blocks done)
    finish: Callable[[torch.Tensor, int], torch.Tensor]


def plan_for(model: nn.Module) -> Plan | None:
    """The plan of a network whose layers this module knows, or ``None``."""
    if not isinstance(model, EfficientNetLite0):
        return None
    steps: list[Step] = [Conv(model.stem)]
    ends: list[int] = [1]
    for block in model.blocks:
        assert isinstance(block, MBConv)
        start = len(steps)
        if block.expand is not None:
            steps.append(Conv(block.expand))
        steps += [Conv(block.depthwise), Conv(block.project)]
        if block.add is not None:
            steps.append(Add(start))
        ends.append(len(steps))

    def finish(y: torch.Tensor, done: int) -> torch.Tensor:
        y = model.head(model.blocks[done - 1 :](y))  # done counts the stem as one
        return model.fc(model.dropout(model.flatten(model.pool(y))))

    for step in steps:
        if isinstance(step, Conv) and not _is_local(step.layer):
            return None
    return Plan(tuple(steps), tuple(ends), finish)


def _is_local(layer: nn.Sequential) -> bool:
    conv, *rest = list(layer)
    return (
        isinstance(conv, nn.Conv2d)
        and conv.dilation == (1, 1)
        and all(isinstance(m, _POINTWISE) for m in rest)
        and not layer.training
    )


def _paddings(conv: nn.Conv2d, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zeros the layer adds to an input of this size."""
    if isinstance(conv, Conv2dSame):
        left, right, top, bottom = conv.padding_for(height, width)
        return top, bottom, left, right
    if isinstance(conv.padding, str) or conv.padding_mode != "zeros":
        raise ValueError("only zero padding given as numbers is planned")
    ph, pw = conv.padding
    return ph, ph, pw, pw


@dataclass
class Region:
    """For every position of the square, the rectangle of a map that differs from the
    baseline: rows ``top[j]`` to ``top[j] + height``, columns ``left[j]`` to ``left[j] + width``
    (it may stick out of the map; outside the map it is zero)."""

    top: list[int]
    left: list[int]
    height: int
    width: int

    def covers(self, height: int, width: int) -> float:
        return min(1.0, self.height / height) * min(1.0, self.width / width)


def _conv_region(region: Region, conv: nn.Conv2d, height: int, width: int) -> Region:
    """The output rectangle whose windows reach ``region`` (one size for every position)."""
    top, _, left, _ = _paddings(conv, height, width)
    (kh, kw), (sh, sw) = conv.kernel_size, conv.stride

    def axis(starts: list[int], size: int, pad: int, k: int, s: int) -> tuple[list[int], int]:
        first = [math.ceil((a + pad - k + 1) / s) for a in starts]
        last = [(a + size - 1 + pad) // s for a in starts]
        return first, max(b - a + 1 for a, b in zip(first, last, strict=True))

    rows, h = axis(region.top, region.height, top, kh, sh)
    cols, w = axis(region.left, region.width, left, kw, sw)
    return Region(rows, cols, h, w)


def regions(plan: Plan, shapes: Sequence[torch.Size], first: Region) -> list[Region]:
    """The changed rectangle at every step's output (``shapes``: every step's input)."""
    out = [first]
    for step, shape in zip(plan.steps, shapes, strict=False):
        region = out[-1]
        if isinstance(step, Conv):
            region = _conv_region(region, step.conv, shape[-2], shape[-1])
        out.append(region)
    return out


def _crops(
    base: torch.Tensor, rows: list[int], cols: list[int], height: int, width: int
) -> torch.Tensor:
    """(k, C, height, width) the windows of ``base`` (1, C, H, W; zeros outside it) whose
    top-left corners are at ``rows[j]``, ``cols[j]``."""
    _, _, H, W = base.shape
    pad_top, pad_left = max(0, -min(rows)), max(0, -min(cols))
    pad_bottom = max(0, max(rows) + height - H)
    pad_right = max(0, max(cols) + width - W)
    padded = F.pad(base, (pad_left, pad_right, pad_top, pad_bottom))[0]
    return torch.stack(
        [padded[:, r + pad_top : r + pad_top + height, c + pad_left : c + pad_left + width]
         for r, c in zip(rows, cols, strict=True)]
    )  # fmt: skip


def _window(
    base: torch.Tensor, changed: torch.Tensor, was: Region, rows: list[int], cols: list[int],
    height: int, width: int,
) -> torch.Tensor:  # fmt: skip
    """:func:`_crops` with each position's changed values (``changed``, in its rectangle
    ``was``) written in."""
    out = _crops(base, rows, cols, height, width)
    for j, (r, c) in enumerate(zip(rows, cols, strict=True)):
        # the changed rectangle in the window's coordinates, cut to the window
        r0, c0 = was.top[j] - r, was.left[j] - c
        a, b = max(0, r0), min(height, r0 + was.height)
        d, e = max(0, c0), min(width, c0 + was.width)
        if a < b and d < e:
            out[j, :, a:b, d:e] = changed[j, :, a - r0 : b - r0, d - c0 : e - c0]
    return out


def _inside(region: Region, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(k, 1, h, w) 1 where a position's rectangle lies inside the height × width map."""
    device = like.device
    rows = torch.tensor(region.top, device=device)[:, None] + torch.arange(
        region.height, device=device
    )
    cols = torch.tensor(region.left, device=device)[:, None] + torch.arange(
        region.width, device=device
    )
    ok_rows = (rows >= 0) & (rows < height)
    ok_cols = (cols >= 0) & (cols < width)
    return (ok_rows[:, :, None] & ok_cols[:, None, :])[:, None].to(like.dtype)


class Incremental:
    """Forward passes of ``x`` (1, C, H, W) with squares of ``values`` hidden in it, computed
    incrementally by ``plan``: :meth:`logits` for a batch of square positions."""

    def __init__(
        self, plan: Plan, x: torch.Tensor, patch: int, rows: list[int], cols: list[int]
    ) -> None:
        self.plan = plan
        self.patch = patch
        with torch.inference_mode():
            self.inputs = self._baseline(x)  # every step's input, then the last output
        self.shapes = [a.shape for a in self.inputs]
        # where the full pass takes over: the last block end whose region is still small
        every = [(r, c) for c in cols for r in rows]
        square = Region([r for r, _ in every], [c for _, c in every], patch, patch)
        changed = regions(plan, self.shapes, square)
        self.stop = 0
        for done, end in enumerate(plan.ends, start=1):
            _, _, h, w = self.shapes[end]
            if changed[end].covers(h, w) > FULL_FROM:
                break
            self.stop = done

    def _baseline(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts = [x]
        for step in self.plan.steps:
            y = step.layer(acts[-1]) if isinstance(step, Conv) else acts[-1] + acts[step.shortcut]
            acts.append(y)
        return acts

    @property
    def saves(self) -> bool:
        """Whether any step is computed on crops."""
        return self.stop > 0

    def logits(self, rows: list[int], cols: list[int], values: torch.Tensor) -> torch.Tensor:
        """(k, classes) the logits with the square at (``rows[j]``, ``cols[j]``) filled from
        ``values`` (1, C, H, W: the baseline the square shows); only when :attr:`saves`."""
        region = Region(list(rows), list(cols), self.patch, self.patch)
        # the square's values (zero where it sticks out past the border)
        states, shown = [_crops(values, rows, cols, self.patch, self.patch)], [region]
        last = self.plan.ends[self.stop - 1]
        for index, step in enumerate(self.plan.steps[:last]):
            base, region, state = self.inputs[index], shown[-1], states[-1]
            if isinstance(step, Conv):
                conv = step.conv
                _, _, h, w = base.shape
                out = _conv_region(region, conv, h, w)
                top, _, left, _ = _paddings(conv, h, w)
                (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
                crop = _window(base, state, region,
                               [r * sh - top for r in out.top], [c * sw - left for c in out.left],
                               (out.height - 1) * sh + kh, (out.width - 1) * sw + kw)  # fmt: skip
                y = F.conv2d(crop.contiguous(memory_format=torch.channels_last), conv.weight,
                             conv.bias, conv.stride, 0, 1, conv.groups)  # fmt: skip
                for module in step.after:
                    y = module(y)
            else:  # the residual sum over this step's rectangle
                out = region
                shortcut = _window(self.inputs[step.shortcut], states[step.shortcut],
                                   shown[step.shortcut], out.top, out.left, out.height,
                                   out.width)  # fmt: skip
                y = state + shortcut
            _, _, h, w = self.shapes[index + 1]
            states.append(y * _inside(out, h, w, y))
            shown.append(out)
        _, _, h, w = self.shapes[last]
        full = _window(self.inputs[last], states[-1], shown[-1], [0] * len(rows),
                       [0] * len(rows), h, w)  # fmt: skip
        return self.plan.finish(full.contiguous(memory_format=torch.channels_last), self.stop)
