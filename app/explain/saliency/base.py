"""The shape every saliency method shares, after Captum: the model (and layer) fixed in the
constructor, one verb, ``attribute(x, target)``.

- :class:`Attribution`: the base class. ``attribute(x, target, progress=None)`` takes a
  batch ``x`` (N, C, H, W) and a class index (one for all, or one per image) and returns
  an attribution the shape of ``x`` (Grad-CAM: (N, 1, H, W)); ``to_map`` reduces it to the
  (N, H, W) map a page overlays on the image, the way the method's paper shows it.
  Each method owns its settings (:class:`~app.explain.params.Param` tables, checked in the
  constructor) and, for a whole network, their defaults and its construction
  (:meth:`Attribution.settings_for`, :meth:`~Attribution.resolve`,
  :meth:`~Attribution.build`): a subclass overrides only what differs.
- :func:`input_gradients`: one forward and backward pass for the gradient of the target
  logits with respect to the input: what vanilla gradient, SmoothGrad and Integrated
  Gradients are made of.

The models are shared between requests, with their parameters frozen and used under
``torch.inference_mode`` elsewhere. Gradient methods never touch the parameters: they run
under ``torch.enable_grad()`` with an input that requires grad (or, for Grad-CAM, a layer
output made a leaf), and ask ``torch.autograd.grad`` for that tensor's gradient only, so
no parameter gradient is computed or stored and threads never share any state.

Batches go through the network in ``channels_last`` memory format: oneDNN's convolutions
run on that layout natively, which saves a layout conversion around every convolution
(0.85–0.93× the time, ``python -m bench saliency``). Only float rounding changes: logits
by about 1e-6, which at a ReLU6 kink can move a single image's gradient by ~0.1%; the
tests against Captum on EfficientNet-Lite0 give Captum the same layout.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from app.explain.params import Param
from app.explain.progress import Progress
from app.nets.network import Network

#: Default batch size, in input elements: 8 EfficientNet-Lite0 inputs of 3×224×224 at a
#: time. Larger batches are slower on the CPU, not faster: a 25- or 32-image batch keeps
#: 2.5–3 GB of activations for the backward pass and takes about twice as long per image
#: (``python -m bench saliency``). MNIST-size inputs fit whole in one batch.
BATCH_ELEMENTS = 8 * 3 * 224 * 224

Target = int | Sequence[int] | Sequence[int | None] | torch.Tensor


BATCH_SIZE = Param("batch_size", int, None, 1, 4096, doc="images per forward/backward pass")


def as_batch(x: torch.Tensor) -> torch.Tensor:
    """``x`` if it is a floating (N, C, H, W) tensor of finite values, else a ``ValueError``."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"expected a float batch of images (N, C, H, W), got {shape}")
    if x.shape[0] < 1 or x[0].numel() == 0:
        raise ValueError(f"the batch of images is empty: shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("the input has NaN or infinite values")
    return x


def as_targets(target: Target, n: int, classes: int | None = None) -> torch.Tensor:
    """(n,) int64 class indices from one index (for every image) or one per image; each
    from 0 to ``classes`` − 1 (only checked to be whole numbers ≥ 0 when ``classes`` is
    not known yet: the forward pass checks them against the logits)."""
    items = target.tolist() if isinstance(target, torch.Tensor) else target
    if not isinstance(items, list | tuple):
        items = [items] * n
    if len(items) != n:
        raise ValueError(f"expected one target class per image: {n}, got {len(items)}")
    top = classes if classes is not None else math.inf
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < top:
            if classes is None:
                raise ValueError(f"the class index must be a whole number ≥ 0 (got {item!r})")
            raise ValueError(f"the class index must be from 0 to {classes - 1} (got {item!r})")
    return torch.tensor(items, dtype=torch.int64)


def as_baseline(baseline: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
    """The reference input of Integrated Gradients and occlusion: a number (for every
    element) or a tensor broadcastable to ``x``, on ``x``'s device and dtype."""
    if isinstance(baseline, int | float) and not isinstance(baseline, bool):
        if not math.isfinite(baseline):
            raise ValueError(f"the baseline must be a finite number (got {baseline!r})")
        return torch.tensor(float(baseline), dtype=x.dtype, device=x.device)
    if not isinstance(baseline, torch.Tensor):
        raise ValueError(f"the baseline must be a number or a tensor, not {baseline!r}")
    try:
        torch.broadcast_shapes(baseline.shape, x.shape)
    except RuntimeError:
        raise ValueError(
            f"the baseline's shape {tuple(baseline.shape)} does not fit the input's "
            f"{tuple(x.shape)}"
        ) from None
    if not torch.isfinite(baseline).all():
        raise ValueError("the baseline has NaN or infinite values")
    return baseline.to(x.device, x.dtype)


def network_layout(x: torch.Tensor) -> torch.Tensor:
    """``x`` in the memory layout the network runs fastest on (channels_last, see above)."""
    return x.contiguous(memory_format=torch.channels_last)


def as_targets_or_top(target: Target, n: int) -> torch.Tensor | list[int | None]:
    """:func:`as_targets`, except that a list with ``None`` for some images (their top
    class, found once the logits are known: :func:`resolve_targets`) stays a list."""
    if isinstance(target, list | tuple) and any(item is None for item in target):
        if len(target) != n:
            raise ValueError(f"expected one target class per image: {n}, got {len(target)}")
        return list(target)
    return as_targets(target, n)


def resolve_targets(logits: torch.Tensor, target: Target | None) -> torch.Tensor:
    """(N,) each image's class: ``target`` checked against the logits' classes, or, when it
    is ``None``, each image's top class (in a list of one class per image, ``None`` is that
    image's top class)."""
    top = logits.detach().argmax(dim=1)
    if target is None:
        return top
    if isinstance(target, list | tuple) and any(item is None for item in target):
        given = [0 if item is None else item for item in target]
        chosen = as_targets(given, logits.shape[0], logits.shape[1]).to(logits.device)
        unset = torch.tensor([item is None for item in target], device=logits.device)
        return torch.where(unset, top, chosen)
    return as_targets(target, logits.shape[0], logits.shape[1]).to(logits.device)


def target_scores(logits: torch.Tensor, target: Target | None) -> torch.Tensor:
    """(N,) the logit of each image's target class, after checking the indices."""
    return logits.gather(1, resolve_targets(logits, target)[:, None])[:, 0]


def forward_backward(
    model: nn.Module, x: torch.Tensor, target: Target | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """((N, C, H, W) ∂ logit[target] / ∂ x, (N, classes) logits) for each image of ``x``,
    in one forward and backward pass (the images are independent, so the gradient of the
    sum is each one's)."""
    with torch.enable_grad():
        leaf = network_layout(x).requires_grad_()
        logits = model(leaf)
        (grad,) = torch.autograd.grad(target_scores(logits, target).sum(), leaf)
    return grad.contiguous(), logits.detach()


def input_gradients(model: nn.Module, x: torch.Tensor, target: Target | None) -> torch.Tensor:
    """(N, C, H, W) ∂ logit[target] / ∂ x (see :func:`forward_backward`)."""
    return forward_backward(model, x, target)[0]


@dataclass(frozen=True)
class Explanation:
    """An attribution with the forward pass of the unchanged input it explains."""

    attribution: torch.Tensor  # what ``attribute`` returns
    logits: torch.Tensor  # (N, classes) for the input itself
    target: torch.Tensor  # (N,) the class each image's attribution is for


class Attribution:
    """A saliency method: ``attribute(x, target)`` → one value per input element."""

    #: The URL name of the method (``POST /api/models/{name}/saliency?method=...``).
    name: ClassVar[str]
    title: ClassVar[str]
    paper: ClassVar[str]
    #: How ``to_map`` turns the attribution into one value per pixel.
    reduction: ClassVar[str]
    #: True when the map has both signs (drawn on a diverging scale centred at 0).
    signed: ClassVar[bool] = False
    #: The settings the constructor takes besides the model (and ``batch_size``).
    params: ClassVar[tuple[Param, ...]] = ()
    #: Percentile of |map| where an overlay's colours stop (100: the maximum).
    cap_percentile: ClassVar[float] = 100.0

    def __init__(self, model: nn.Module, *, batch_size: int | None = None) -> None:
        self.model = model
        self.batch_size = None if batch_size is None else BATCH_SIZE.check(batch_size)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def images_per_batch(self, x: torch.Tensor) -> int:
        """How many images of ``x``'s size go through the network at once."""
        if self.batch_size is not None:
            return self.batch_size
        return max(1, BATCH_ELEMENTS // x[0].numel())

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` checked and on the model's device."""
        return as_batch(x).to(self.device)

    def attribute(
        self, x: torch.Tensor, target: Target, *, progress: Progress | None = None
    ) -> torch.Tensor:
        raise NotImplementedError

    def explain(
        self,
        x: torch.Tensor,
        target: Target | None = None,
        *,
        progress: Progress | None = None,
        **options: Any,
    ) -> Explanation:
        """``attribute`` plus the logits of ``x`` (for the predictions shown beside the map);
        with ``target=None`` each image's top class. Methods whose own pass runs on ``x``
        (vanilla gradient, Grad-CAM: :class:`OnePass`) take the logits from it; the others
        run one more forward pass, under ``torch.inference_mode``."""
        return self.explained(self.prepare(x), target, progress, options)

    def explained(
        self, x: torch.Tensor, target: Target | None, progress: Progress | None, options: Any
    ) -> Explanation:
        """:meth:`explain` of a prepared batch."""
        with torch.inference_mode():
            logits = self.model(network_layout(x))
        logits = logits.clone()  # an ordinary tensor again, outside inference mode
        targets = resolve_targets(logits, target)
        attribution = self.attribute(x, targets, progress=progress, **options)
        return Explanation(attribution, logits, targets)

    @staticmethod
    def to_map(attribution: torch.Tensor) -> torch.Tensor:
        """(N, H, W): one value per pixel, as the method's paper shows it."""
        raise NotImplementedError

    # --- on a whole network: settings with its defaults, and construction ------------------

    @classmethod
    def settings_for(cls, network: Network) -> tuple[Param, ...]:
        """The settings a request may give for ``network``, with this network's defaults."""
        return cls.params

    @classmethod
    def resolve(cls, network: Network, given: Mapping[str, Any]) -> dict[str, Any]:
        """Every setting with its value: the given ones checked, defaults for the rest (so a
        default given explicitly resolves the same); ``ValueError`` for a setting the method
        does not have, naming the ones it has."""
        table = {param.name: param for param in cls.settings_for(network)}
        unknown = sorted(set(given) - set(table))
        if unknown:
            known = ", ".join(table) or "none"
            raise ValueError(f"{unknown[0]} is not a setting of {cls.name} (its settings: {known})")
        return {
            name: cls.check_setting(network, param, given.get(name, param.default))
            for name, param in table.items()
        }

    @classmethod
    def check_setting(cls, network: Network, param: Param, value: Any) -> Any:
        """``value`` for ``param`` on ``network``, or a ``ValueError`` saying why not."""
        return param.check(value)

    @classmethod
    def build(
        cls, network: Network, x: torch.Tensor, settings: Mapping[str, Any]
    ) -> tuple[Attribution, dict[str, Any]]:
        """The method on ``network`` with resolved ``settings``, and the options its
        :meth:`explain` takes for the input ``x`` (N, C, H, W)."""
        return cls(cls.model_for(network, settings), **settings), {}

    @classmethod
    def model_for(cls, network: Network, settings: Mapping[str, Any]) -> nn.Module:
        """The module the method runs: the one with BatchNorm folded into the convolutions
        (the same function, a third less work: :mod:`app.nets.fold`), traced where that
        keeps its function (:mod:`app.nets.traced`)."""
        return network.for_passes

    def completeness(
        self, explained: Explanation, x: torch.Tensor, **options: Any
    ) -> dict[str, float] | None:
        """How far the map is from a property the method promises (None: it promises none)."""
        return None

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """What a page or the API documentation says about the method."""
        return {
            "name": cls.name,
            "title": cls.title,
            "paper": cls.paper,
            "reduction": cls.reduction,
            "signed": cls.signed,
            "params": [param.to_dict() for param in cls.params],
        }


class OnePass(Attribution):
    """A method whose own forward pass gives the logits (vanilla gradient, Grad-CAM): it
    implements :meth:`explained`, and :meth:`attribute` is that explanation's attribution."""

    def attribute(
        self, x: torch.Tensor, target: Target, *, progress: Progress | None = None
    ) -> torch.Tensor:
        return self.explain(x, target, progress=progress).attribution
