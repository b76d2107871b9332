"""One request → tensors conversion for the step-by-step engines: JSON-like values (nested
lists, numbers, ``[h, w]`` pairs) in, a trace out, whose results are checked to be finite
in float32 (:func:`~app.ops.arrays.check_result`). The API, the pages' presets and the tests
all go through these functions, so the three engines are validated the same way.

- convolution: :func:`convolution_trace` (:func:`app.ops.conv.conv_trace`, 1-D to 3-D);
- pointwise: :func:`pointwise_trace`, a 1×1 convolution;
- pooling: :func:`pooling_trace` (:func:`app.ops.pool.pool2d_trace`);
- transposed: :func:`transposed_trace` (:func:`app.ops.transposed.conv_transpose2d_trace`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.ops.arrays import brief, check_result, to_tensor, to_vector
from app.ops.conv import LAYOUTS, ConvTrace, conv_trace
from app.ops.pool import PoolTrace, pool2d_trace
from app.ops.transposed import TransposedTrace, conv_transpose2d_trace


def convolution_trace(
    *, input: Any, kernel: Any, bias: Any = 0, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, flip: bool = False, dims: Any = 2, padding_mode: Any = "zeros",
) -> ConvTrace:  # fmt: skip
    """A convolution in ``dims`` (1, 2 or 3) dimensions: ``input`` S or C×S, ``kernel`` k,
    C×k or O×C×k (2-D: H×W or C×H×W and kh×kw, C×kh×kw or O×C×kh×kw)."""
    if type(dims) is not int or dims not in (1, 2, 3):
        raise ValueError(f"dims must be 1, 2 or 3, not {brief(dims)}")
    x = _array(input, "input", dims, (dims, dims + 1))
    weight = _array(kernel, "kernel", dims, (dims, dims + 1, dims + 2))
    out_channels = weight.shape[0] if weight.dim() == dims + 2 else 1
    trace = conv_trace(
        x, weight, to_vector(bias, "bias", out_channels), dims=dims, stride=stride,
        padding=padding, dilation=dilation, padding_mode=padding_mode, flip=flip,
    )  # fmt: skip
    check_result(trace.partial_sums(), "a channel's sum of products")
    check_result(trace.output)
    return trace


def _array(value: Any, name: str, dims: int, depths: tuple[int, ...]) -> Any:
    """Nested lists as a tensor of one of ``depths`` axes; the sentence names the layouts of
    a ``dims``-D convolution (2-D keeps :func:`to_tensor`'s own)."""
    if dims == 2:
        return to_tensor(value, name, dims=depths)
    tensor = to_tensor(value, name, dims=range(1, 6))
    if tensor.dim() not in depths:
        layout = LAYOUTS[dims][0 if name == "input" else 1]
        raise ValueError(
            f"{name} of a {dims}-D convolution must be {layout}; it has {tensor.dim()} "
            f"level{'s' * (tensor.dim() != 1)} of nesting"
        )
    return tensor


def pointwise_trace(*, input: Any, weights: Any, bias: Any = 0) -> ConvTrace:
    """A 1×1 convolution: ``weights`` C_out×C_in, the same mix of channels at every pixel."""
    matrix = to_tensor(weights, "weights", dims=(2,))
    return convolution_trace(input=input, kernel=matrix[:, :, None, None].tolist(), bias=bias)


def pooling_trace(
    *, input: Any, kind: Any, size: Any, stride: Any = None, padding: Any = 0
) -> PoolTrace:
    """Max, average or sum pooling of ``input`` (H×W or C×H×W), channel by channel."""
    x = to_tensor(input, "input", dims=(2, 3))
    trace = pool2d_trace(x, kind, size, stride, padding)
    check_result(trace.output)
    return trace


def transposed_trace(
    *, input: Any, kernel: Any, bias: Any = 0, stride: Any = 1, padding: Any = 0,
    output_padding: Any = 0, dilation: Any = 1,
) -> TransposedTrace:  # fmt: skip
    """A transposed convolution: ``kernel`` kh×kw or C_in×C_out×kh×kw (torch's layout)."""
    x = to_tensor(input, "input", dims=(2, 3))
    weight = to_tensor(kernel, "kernel", dims=(2, 3, 4))
    out_channels = weight.shape[1] if weight.dim() == 4 else 1
    trace = conv_transpose2d_trace(
        x, weight, to_vector(bias, "bias", out_channels), stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation,
    )  # fmt: skip
    check_result(trace.output)
    return trace


#: The engines by operation name (what a preset says it runs).
TRACES: dict[str, Callable[..., Any]] = {
    "convolution": convolution_trace,
    "pointwise": pointwise_trace,
    "pooling": pooling_trace,
    "transposed": transposed_trace,
}
