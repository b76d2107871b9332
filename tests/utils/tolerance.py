"""Tolerances for comparing floating-point results, derived from the dtype and the magnitude,
never from what one CPU happened to give.

Two computations of the same value that round differently (another summation order, other
SIMD kernels, another thread count, a batch of 1 against a batch of 100, Captum's code
against ours) are both within the classic bound of the exact value: a sum of ``n`` terms
computed in floating point is off by at most ``γ_n · Σ|term|``, with ``γ_n = n·u / (1 − n·u)``
and ``u = ε / 2`` the unit roundoff (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2nd ed., §3.1 and §4.2). Their difference is then at most about
``n · ε · Σ|term|``. That bound holds on every machine, whatever the order of the sum.

- ``terms`` is ``n``: how many roundings can accumulate along the computation. For one
  convolution output it is the fan-in ``C_in·kh·kw``; through a network, the sum of the
  fan-ins met on the way (:func:`network_terms`), doubled for a forward and a backward pass.
- ``scale`` is ``Σ|term|``: the magnitude of what was summed. By default the largest
  ``|expected|``, which is right when nothing cancels; where terms cancel (an edge kernel
  on a flat patch sums 2,000 to 0), pass the magnitude of the terms instead (for a
  convolution, ``F.conv2d(|x|, |w|)``: :func:`magnitude`).

Where a test can run both sides in float64 it should: the same bound with float64's ε is
then tight enough to catch any mistake and loose enough for any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn


def epsilon(dtype: torch.dtype) -> float:
    """Machine epsilon of a floating dtype (2⁻²³ for float32, 2⁻⁵² for float64)."""
    return float(torch.finfo(dtype).eps)


def tolerance(dtype: torch.dtype, *, scale: float, terms: int = 1) -> dict[str, float]:
    """``{"rtol", "atol"}`` for two results of ``terms`` accumulated roundings in ``dtype``
    whose summed terms have magnitude ``scale`` (see the module's docstring)."""
    bound = max(int(terms), 1) * epsilon(dtype)
    return {"rtol": bound, "atol": bound * max(abs(float(scale)), np.finfo(np.float64).tiny)}


def _tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    return torch.as_tensor(np.asarray(value, dtype=np.float64))


def _dtype_of(*values: Any) -> torch.dtype:
    """The least precise floating dtype among the tensors given (float64 otherwise)."""
    dtypes = [v.dtype for v in values if isinstance(v, torch.Tensor) and v.is_floating_point()]
    return max(dtypes, key=epsilon, default=torch.float64)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    terms: int = 1,
    dtype: torch.dtype | None = None,
    scale: float | None = None,
    msg: str | None = None,
) -> None:
    """``actual`` equals ``expected`` within :func:`tolerance`: tensors, arrays, nested lists
    or numbers. ``dtype``: the precision the computation ran in (default: the least precise
    of the two tensors, else float64); ``scale``: default the largest ``|expected|``."""
    dtype = dtype or _dtype_of(actual, expected)
    a, e = _tensor(actual).double(), _tensor(expected).double()
    if scale is None:
        scale = float(e.abs().max()) if e.numel() else 0.0
    torch.testing.assert_close(
        a, e, **tolerance(dtype, scale=scale, terms=terms), equal_nan=False, msg=msg
    )


def approx(
    expected: Any,
    *,
    terms: int = 1,
    dtype: torch.dtype = torch.float32,
    scale: float | None = None,
) -> Any:
    """``pytest.approx(expected)`` within :func:`tolerance` (for numbers and lists of them)."""
    if scale is None:
        values = np.abs(np.asarray(expected, dtype=np.float64))
        scale = float(values.max()) if values.size else 0.0
    bounds = tolerance(dtype, scale=scale, terms=terms)
    return pytest.approx(expected, rel=bounds["rtol"], abs=bounds["atol"])


def fan_in(module: nn.Module) -> int:
    """How many roundings one output of ``module`` accumulates: the products a convolution,
    a dense layer or a pooling window sums; 8 for BatchNorm in eval mode (subtract the mean,
    add ε, square root, divide, scale, shift, and the fused kernels' regrouping); 1 for an
    elementwise layer. An adaptive pool's window depends on its input's size, which a
    module does not know: measure it on the input (as tests/explain/test_saliency.py does)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = int(np.prod(module.kernel_size))
        return module.in_channels // module.groups * kernel
    if isinstance(module, nn.Linear):
        return module.in_features
    if isinstance(module, nn.modules.pooling._AvgPoolNd | nn.modules.pooling._MaxPoolNd):
        size = module.kernel_size
        return int(np.prod(size if isinstance(size, Iterable) else (size, size)))
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return 8
    return 1


def network_terms(model: nn.Module, *, passes: int = 1, upto: str | None = None) -> int:
    """Roundings that can accumulate along a forward pass of ``model``: the sum of its
    layers' fan-ins (leaf modules), times ``passes`` (2 for a forward and a backward).
    ``upto``: only the leaves up to and including the module of that name, for one layer's
    output (the modules' registration order is taken as the order they run in)."""
    if upto is not None:
        model.get_submodule(upto)  # AttributeError for a name the model does not have
    total, reached = 0, False
    for name, module in model.named_modules():
        inside = upto is not None and (name == upto or name.startswith(f"{upto}."))
        if reached and not inside:
            break
        reached = reached or inside
        if not any(True for _ in module.children()):
            total += fan_in(module)
    return passes * total


def magnitude(op: Callable[..., torch.Tensor], *args: Any, **kwargs: Any) -> float:
    """``Σ|term|`` of a sum of products such as a convolution, a matrix product or a sum
    pooling, for ``scale``: ``op`` on the absolute values of its positional tensor arguments,
    largest output. Other arguments (stride, padding, keywords) are passed as they are."""
    absolute = [a.detach().abs() if isinstance(a, torch.Tensor) else a for a in args]
    return float(op(*absolute, **kwargs).abs().max())
