"""Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra 2017, "Grad-CAM: Visual
Explanations from Deep Networks via Gradient-based Localization"), on any convolution layer.

For the layer's feature maps A_k (K channels of h×w) and the class logit y:

    α_k = mean over positions of ∂y / ∂A_k          (the channel's importance, eq. 1)
    L   = ReLU(Σ_k α_k A_k)                         (eq. 2)

then L is upsampled bilinearly to the input's size (§3). Captum: ``LayerGradCam(model,
layer).attribute(x, target, relu_attributions=True)`` followed by
``LayerAttribution.interpolate(..., (H, W), "bilinear")``.

The layer's output is made a leaf for the rest of the pass (``hooked(..., as_leaf=True)``),
so the backward pass runs through the layers after it only: nothing before the layer, the
input included, is differentiated. The last convolution of the network (with more than one
position) is the default, as in the paper; early layers give sharper, less class-specific maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from app.explain.convolutions import feature_layer, feature_layers
from app.explain.hooks import hooked
from app.explain.params import Param
from app.explain.progress import Progress, report
from app.explain.saliency.base import (
    Attribution,
    Explanation,
    OnePass,
    Target,
    network_layout,
    resolve_targets,
    target_scores,
)
from app.nets.network import Network


def default_layer(model: nn.Module, input_shape: tuple[int, int, int]) -> str:
    """The last convolution layer whose output has more than one position (for a block, the
    block: its feature maps after normalisation and activation)."""
    names = feature_layers(model)
    x = torch.zeros(1, *input_shape, device=next(model.parameters()).device)
    with torch.inference_mode(), hooked(model, names) as record:
        model(x)
    wide = [name for name in names if record.outputs[name].shape[-2:].numel() > 1]
    if not wide:
        raise ValueError("this network has no convolution layer with more than one position")
    last = wide[-1]
    parent = last.rsplit(".", 1)[0] if "." in last else ""
    return parent if parent in wide else last


class GradCam(OnePass):
    name = "grad-cam"
    title = "Grad-CAM"
    paper = (
        "R. R. Selvaraju, M. Cogswell, A. Das, R. Vedantam, D. Parikh, D. Batra. Grad-CAM: "
        "Visual Explanations from Deep Networks via Gradient-based Localization. ICCV 2017."
    )
    reduction = "one map: ReLU of the gradient-weighted feature maps, upsampled bilinearly"

    @classmethod
    def settings_for(cls, network: Network) -> tuple[Param, ...]:
        """The layer, by default the last convolution with more than one position."""
        layer = network.memo(
            "grad-cam layer", lambda: default_layer(network.module, network.input_shape)
        )
        return (Param("layer", str, layer, doc="the convolution layer whose maps are weighed"),)

    @classmethod
    def check_setting(cls, network: Network, param: Param, value: Any) -> Any:
        """The layer: any convolution, convolution block or layer after a block's
        convolution (``ValueError`` naming some otherwise)."""
        feature_layer(network.module, value)
        return value

    @classmethod
    def model_for(cls, network: Network, settings: Mapping[str, Any]) -> nn.Module:
        """The folded module unless the layer is a convolution that was folded (its output
        there is its BatchNorm's) or a BatchNorm it replaced."""
        folded, layer = network.folded, settings["layer"]
        if layer in folded.convs or layer not in feature_layers(folded.module):
            return network.module
        theirs = dict(folded.module.named_modules())[layer]
        return (
            folded.module
            if type(theirs) is type(feature_layer(network.module, layer))
            else network.module
        )

    @classmethod
    def build(
        cls, network: Network, x: torch.Tensor, settings: Mapping[str, Any]
    ) -> tuple[Attribution, dict[str, Any]]:
        """The method on the folded module, with its pass traced where tracing keeps the
        function (a layer called once: its name has no call number)."""
        model = cls.model_for(network, settings)
        method = cls(model, **settings)
        if model is network.folded.module and " (" not in settings["layer"]:
            method.traced = network.traced_with(settings["layer"])
        return method, {}

    def __init__(self, model: nn.Module, layer: str) -> None:
        super().__init__(model)
        self.module = feature_layer(model, layer)
        self.layer = layer
        #: the model's pass traced to return (logits, the layer's output), if any
        self.traced: nn.Module | None = None

    def _cam(self, x: torch.Tensor, target: Target | None) -> Explanation:
        """(N, 1, h, w) ReLU(Σ_k α_k A_k) at the layer's resolution, with the logits."""
        x = self.prepare(x)
        if self.traced is not None:  # the same operations, without Python between them
            with torch.enable_grad():
                logits, features = self.traced(network_layout(x).requires_grad_())
                targets = resolve_targets(logits, target)
                (grads,) = torch.autograd.grad(target_scores(logits, targets).sum(), features)
        else:
            with torch.enable_grad(), hooked(self.model, [self.layer], as_leaf=True) as record:
                logits = self.model(network_layout(x))
                targets = resolve_targets(logits, target)
                features = record.outputs[self.layer]  # (N, K, h, w), a leaf requiring grad
                (grads,) = torch.autograd.grad(target_scores(logits, targets).sum(), features)
        weights = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1): α_k
        cam = (weights * features.detach()).sum(dim=1, keepdim=True)  # (N, 1, h, w)
        return Explanation(F.relu(cam).contiguous(), logits.detach(), targets)

    def layer_attribution(self, x: torch.Tensor, target: Target) -> torch.Tensor:
        """(N, 1, h, w) ReLU(Σ_k α_k A_k) at the layer's resolution (Captum's LayerGradCam)."""
        return self._cam(x, target).attribution

    def explained(
        self, x: torch.Tensor, target: Target | None, progress: Progress | None, options: Any
    ) -> Explanation:
        """The upsampled map and the logits of the same pass."""
        report(progress, 0.0)
        low = self._cam(x, target)
        report(progress, 1.0)
        size = tuple(x.shape[-2:])
        cam = F.interpolate(low.attribution, size=size, mode="bilinear", align_corners=False)
        return Explanation(cam, low.logits, low.target)

    @staticmethod
    def to_map(attribution: torch.Tensor) -> torch.Tensor:
        """(N, H, W): Grad-CAM has one channel already."""
        return attribution[:, 0]
