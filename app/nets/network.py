"""A network the app can explore: an ``nn.Module`` ready to run, and what is known about it.

Everything below the web layer (the explorer, filters, saliency, activation maximisation,
top digits) takes a :class:`Network`, never a model's name: the registry is consulted at
the edge (:func:`app.nets.registry.get_network`), so a network that is not in the zoo (a
user's own, one trained in the lab) runs through the same code.

A network is shared by every request: its module is in eval mode with its parameters
frozen, and what is derived from it once (the architecture table, the list of its
convolutions, a long scan over a data set) is kept on the network itself
(:meth:`Network.memo`), so it lives and dies with the network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import torch
from torch import nn

from app.nets.fold import Folded, fold_batchnorm
from app.nets.preprocess import Preprocess
from app.nets.summary import ArchitectureSummary, summarize
from app.nets.traced import TracedPass, trace

if TYPE_CHECKING:
    from app.nets.registry import ModelSpec

T = TypeVar("T")


@dataclass(eq=False)
class Network:
    """A model on a device (eval mode, parameters frozen) with its spec."""

    spec: ModelSpec
    module: nn.Module = field(repr=False)
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[Hashable, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    @property
    def num_classes(self) -> int:
        return self.spec.num_classes

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one input."""
        return self.spec.input_shape

    @property
    def preprocess(self) -> Preprocess:
        return self.spec.preprocess

    @property
    def device(self) -> torch.device:
        parameter = next(self.module.parameters(), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    @cached_property
    def summary(self) -> ArchitectureSummary:
        """The architecture table, traced on a private copy of the module without its data
        (``app.nets.graph``: hooks never touch the shared module while requests run it)."""
        return summarize(self.module, self.input_shape)

    @property
    def folded(self) -> Folded:
        """The module with BatchNorm folded into its convolutions (:mod:`app.nets.fold`),
        for computations that need the input-to-output function alone; the module itself
        (nothing folded) if the copy's logits for a random input do not match its own.
        Made once, on first use."""
        return self.memo("folded", self._fold)

    def _fold(self) -> Folded:
        found = fold_batchnorm(self.module)
        if not found.convs:
            return Folded(self.module, frozenset())
        x = torch.randn(2, *self.input_shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            own, theirs = self.module(x.to(self.device)), found.module(x.to(self.device))
        scale = max(1.0, float(own.abs().max()))
        if own.shape != theirs.shape or not torch.allclose(own, theirs, rtol=0, atol=1e-3 * scale):
            return Folded(self.module, frozenset())
        return found

    @property
    def for_passes(self) -> nn.Module:
        """The module input-gradient passes run (the vanilla gradient, SmoothGrad, Integrated
        Gradients): the folded copy, traced (:mod:`app.nets.traced`) where tracing keeps its
        function. Made once, on first use."""
        return self.memo(("passes", None), lambda: self._traced(None) or self.folded.module)

    def traced_with(self, layer: str) -> nn.Module | None:
        """The folded copy's pass traced to return its logits and the output of ``layer``
        (Grad-CAM), or ``None`` where tracing does not keep the function."""
        return self.memo(("passes", layer), lambda: self._traced(layer))

    def _traced(self, layer: str | None) -> nn.Module | None:
        found = trace(self.folded.module, self.input_shape, self.device, layer)
        return None if found is None else TracedPass(found)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, computed once per network and key, then kept with the network. Two
        callers of one key wait for one computation; other keys do not wait for it."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                self._memo[key] = make()
            return cast(T, self._memo[key])
