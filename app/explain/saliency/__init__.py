"""Saliency maps: which pixels a network's decision for a class depends on.

One small class per method, in Captum's shape (model and layer fixed in the constructor,
one verb ``attribute(x, target)``), each checked against Captum's implementation of the
same method in the tests:

========================  =============================  =====================================
name                      class                          paper
========================  =============================  =====================================
``gradient``              :class:`VanillaGradient`       Simonyan, Vedaldi, Zisserman 2014
``smoothgrad``            :class:`SmoothGrad`            Smilkov et al. 2017
``integrated-gradients``  :class:`IntegratedGradients`   Sundararajan, Taly, Yan 2017
``grad-cam``              :class:`GradCam`               Selvaraju et al. 2017
``occlusion``             :class:`Occlusion`             Zeiler and Fergus 2014
========================  =============================  =====================================

``METHODS`` maps the names (the enumerated ``method`` of the API) to the classes;
:mod:`app.services.saliency` runs one for a network and an image.
"""

from __future__ import annotations

from app.explain.params import Param
from app.explain.saliency.base import Attribution
from app.explain.saliency.gradcam import GradCam
from app.explain.saliency.gradient import SmoothGrad, VanillaGradient
from app.explain.saliency.integrated import IntegratedGradients
from app.explain.saliency.occlusion import Occlusion

METHODS: dict[str, type[Attribution]] = {
    cls.name: cls for cls in (VanillaGradient, SmoothGrad, IntegratedGradients, GradCam, Occlusion)
}

__all__ = [
    "METHODS",
    "Attribution",
    "GradCam",
    "IntegratedGradients",
    "Occlusion",
    "Param",
    "SmoothGrad",
    "VanillaGradient",
]
