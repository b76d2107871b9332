"""Vanilla gradient and SmoothGrad: how much each input pixel moves the class score.

- :class:`VanillaGradient` (Simonyan, Vedaldi and Zisserman 2014, "Deep Inside
  Convolutional Networks", §3.1): the gradient of the class logit with respect to the
  input; the map is max over colour channels of |gradient|. Captum: ``Saliency``
  (``abs=False`` gives the signed gradient returned here; its default is the absolute value).
- :class:`SmoothGrad` (Smilkov, Thorat, Kim, Viégas and Wattenberg 2017, "SmoothGrad:
  removing noise by adding noise"): the mean gradient over ``samples`` copies of the input
  with Gaussian noise of standard deviation σ = noise · (x_max − x_min), the paper's "noise
  level" (10–20% works best, §3.2). Same map as the vanilla gradient, so the two compare
  directly. Captum: ``NoiseTunnel(Saliency(model)).attribute(nt_type="smoothgrad",
  stdevs=σ, abs=False)``; both draw the noise as ``N(0, 1) · σ`` in (sample, C, H, W)
  order, so with the same seed and batch size they see the same noisy images.

SmoothGrad runs its samples in batches (``images_per_batch``), reporting progress before
each batch; the noise comes from a seeded CPU generator, so a request is reproducible (and
cacheable) and does not depend on the device.
"""

from __future__ import annotations

from typing import Any

import torch

from app.explain.params import Param
from app.explain.progress import Progress, batches
from app.explain.saliency.base import (
    Attribution,
    Explanation,
    OnePass,
    Target,
    as_targets,
    as_targets_or_top,
    forward_backward,
    input_gradients,
    resolve_targets,
)


def max_abs_over_channels(attribution: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) → (N, H, W): max_c |a| (Simonyan et al. 2014, §3.1)."""
    return attribution.abs().amax(dim=1)


class VanillaGradient(OnePass):
    name = "gradient"
    title = "Vanilla gradient"
    paper = (
        "K. Simonyan, A. Vedaldi, A. Zisserman. Deep Inside Convolutional Networks: "
        "Visualising Image Classification Models and Saliency Maps. ICLR workshop, 2014."
    )
    reduction = "max over colour channels of |∂ score / ∂ pixel|"
    cap_percentile = 99.0  # a few extreme pixels would leave the rest dark (Smilkov et al. §3.1)

    def explained(
        self, x: torch.Tensor, target: Target | None, progress: Progress | None, options: Any
    ) -> Explanation:
        """The gradient and the logits of the same pass (no extra forward pass)."""
        targets: Any = None if target is None else as_targets_or_top(target, x.shape[0])
        passes = [
            forward_backward(self.model, x[part], None if targets is None else targets[part])
            for part in batches(x.shape[0], self.images_per_batch(x), progress)
        ]
        logits = torch.cat([logits for _, logits in passes])
        return Explanation(
            torch.cat([grad for grad, _ in passes]), logits, resolve_targets(logits, targets)
        )

    to_map = staticmethod(max_abs_over_channels)


SAMPLES = Param("samples", int, 25, 1, 100, doc="noisy copies of the image averaged")
NOISE = Param("noise", float, 0.15, 0.0, 1.0, doc="σ as a fraction of the input's value range")
SEED = Param("seed", int, 0, 0, 2**31 - 1, doc="seed of the noise generator")


class SmoothGrad(Attribution):
    name = "smoothgrad"
    title = "SmoothGrad"
    paper = (
        "D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg. SmoothGrad: removing noise "
        "by adding noise. ICML workshop on visualization for deep learning, 2017."
    )
    reduction = "max over colour channels of |mean gradient over the noisy copies|"
    params = (SAMPLES, NOISE, SEED)
    cap_percentile = 99.0

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        samples: int = SAMPLES.default,
        noise: float = NOISE.default,
        seed: int = SEED.default,
        batch_size: int | None = None,
    ) -> None:
        super().__init__(model, batch_size=batch_size)
        self.samples = SAMPLES.check(samples)
        self.noise = NOISE.check(noise)
        self.seed = SEED.check(seed)

    def stdevs(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) σ of each image: the noise level times its value range (Smilkov et al.)."""
        flat = x.flatten(1)
        return self.noise * (flat.amax(1) - flat.amin(1))

    def attribute(
        self, x: torch.Tensor, target: Target, *, progress: Progress | None = None
    ) -> torch.Tensor:
        """(N, C, H, W) the mean gradient over ``samples`` noisy copies of each image."""
        x = self.prepare(x)
        n, shape = x.shape[0], x.shape[1:]
        generator = torch.Generator().manual_seed(self.seed)
        sigma = self.stdevs(x).cpu()
        per_batch = max(1, self.images_per_batch(x) // n)  # noisy copies of every image
        targets = as_targets(target, n)
        total = torch.zeros_like(x)
        for part in batches(self.samples, per_batch, progress):
            k = part.stop - part.start
            noise = torch.randn((n * k, *shape), generator=generator, dtype=x.dtype)
            noise *= sigma.repeat_interleave(k)[:, None, None, None].to(x.dtype)
            noisy = x.repeat_interleave(k, dim=0) + noise.to(x.device)  # (N·k, C, H, W)
            grads = input_gradients(self.model, noisy, targets.repeat_interleave(k))
            total += grads.view(n, k, *shape).sum(dim=1)
        return total / self.samples

    to_map = staticmethod(max_abs_over_channels)
