"""Every saliency method against Captum's implementation of it: same model, input and
settings (the same noise for SmoothGrad), within float tolerance; plus the properties the
papers state, progress and cancellation, and the shared models left untouched."""

from __future__ import annotations

import copy
import threading
import warnings
from collections import OrderedDict
from math import ceil

import pytest
import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.attr import LayerAttribution, LayerGradCam, NoiseTunnel, Saliency
from captum.attr import Occlusion as CaptumOcclusion
from captum.attr._utils.approximation_methods import approximation_parameters
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from app.explain.progress import Cancelled
from app.explain.saliency import (
    METHODS,
    GradCam,
    IntegratedGradients,
    Occlusion,
    SmoothGrad,
    VanillaGradient,
)
from app.explain.saliency.integrated import RULES, quadrature
from app.nets.registry import get_model, get_model_spec
from tests.utils.samples import sample
from tests.utils.tolerance import approx, assert_close, epsilon, network_terms

warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")


def tiny(channels: int, seed: int = 0) -> nn.Module:
    """A small frozen network with the layers the zoo has: conv, ReLU, BatchNorm, ReLU6."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(channels, 4, 3, padding=1),
            relu1=nn.ReLU(),
            block=nn.Sequential(
                OrderedDict(conv=nn.Conv2d(4, 6, 3, stride=2), bn=nn.BatchNorm2d(6), act=nn.ReLU6())
            ),
            pool=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(6, 5),
        )
    )
    with torch.no_grad():
        model.block.bn.running_mean.uniform_(-0.2, 0.2)
        model.block.bn.running_var.uniform_(0.5, 2.0)
        model.block.bn.weight.uniform_(0.5, 3.0)
    return model.eval().requires_grad_(False)


def assert_matches(
    ours: torch.Tensor, theirs: torch.Tensor, *, terms: int, scale: float | None = None
) -> None:
    """Equal within float32 rounding of ``terms`` accumulated roundings (see
    tests/utils/tolerance.py), relative to the largest value or to ``scale``."""
    assert_close(ours, theirs.detach(), terms=terms, scale=scale)


def two_passes(model: nn.Module, x: torch.Tensor) -> int:
    """Roundings of two passes through ``model``: a forward and a backward one (a gradient)
    or two forward ones (a difference of logits). ``fan_in`` cannot know an adaptive pool's
    window (the input's size decides it), so a pass on ``x`` measures it."""
    windows: list[int] = []
    hooks = [
        m.register_forward_pre_hook(lambda m, a: windows.append(a[0].shape[-2] * a[0].shape[-1]))
        for m in model.modules()
        if isinstance(m, nn.AdaptiveAvgPool2d)
    ]
    try:
        if hooks:
            with torch.inference_mode():
                model(x[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return network_terms(model, passes=2) + 2 * sum(windows)


def smoothgrad_scale(forward, x, target, *, samples, batch, stdevs, seed) -> float:  # type: ignore[no-untyped-def]
    """Σ|gradient|/samples, largest over the pixels: what SmoothGrad's mean adds up (the
    noisy copies' gradients can cancel), bounded by their root mean square, from Captum's
    ``smoothgrad_sq`` with the same noise."""
    torch.manual_seed(seed)
    squares = NoiseTunnel(Saliency(forward)).attribute(
        captum_input(x),
        nt_type="smoothgrad_sq",
        nt_samples=samples,
        nt_samples_batch_size=batch,
        stdevs=stdevs,
        target=target,
        abs=False,
    )
    return float(squares.detach().sqrt().max())


def integrated_scale(model, x, baseline, target, *, rule="gausslegendre", steps) -> float:  # type: ignore[no-untyped-def]
    """|x − x'|·Σ w_k·|∇f(x' + α_k(x − x'))|, largest over the pixels: the magnitude of the
    weighted sum of gradients Integrated Gradients adds up (its terms can cancel)."""
    base = torch.as_tensor(baseline, dtype=x.dtype).expand_as(x)
    alphas, weights = quadrature(rule, steps)
    total = torch.zeros_like(x)
    for alpha, weight in zip(alphas.tolist(), weights.tolist(), strict=True):
        point = base + alpha * (x - base)
        total += abs(weight) * VanillaGradient(model).attribute(point, target).abs()
    return float(((x - base).abs() * total).max())


def grad_cam_bound(model: nn.Module, layer: str, x: torch.Tensor, target) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Grad-CAM's roundings beyond the gradient's (the spatial mean of the gradient, the sum
    over channels, the bilinear upsampling) and the magnitude Σ_c |α_c·A_c| of that sum,
    whose terms cancel."""
    saved: list[torch.Tensor] = []
    handle = model.get_submodule(layer).register_forward_hook(lambda m, i, out: saved.append(out))
    try:
        with torch.enable_grad():
            logits = model(x.detach().clone().requires_grad_())
            targets = torch.as_tensor(target).expand(len(x))
            (grad,) = torch.autograd.grad(logits[torch.arange(len(x)), targets].sum(), saved[0])
    finally:
        handle.remove()
    activation = saved[0].detach()
    alpha = grad.mean(dim=(2, 3), keepdim=True)
    channels, height, width = activation.shape[1:]
    terms = height * width + channels + 4  # mean, channel sum, 4-pixel interpolation
    return terms, float((alpha * activation).abs().sum(1).max())


def occlusion_scale(model, x, *, patch, stride, baseline=0.0) -> float:  # type: ignore[no-untyped-def]
    """The logits' magnitude over the image and every occluded copy of it: an occlusion
    value is a difference of two logits, as precise as they are."""
    height, width = x.shape[-2:]
    rows, cols = Occlusion(model, patch=patch, stride=stride).positions(height, width)
    copies = [x]
    for row in rows:
        for col in cols:
            hidden = x.clone()
            hidden[..., row : row + patch, col : col + patch] = baseline
            copies.append(hidden)
    with torch.inference_mode():
        return max(float(model(part).abs().max()) for part in torch.cat(copies).split(256))


def occlusion_terms(model: nn.Module, x: torch.Tensor, patch: int, stride: int) -> int:
    """Two forward passes (the difference of two logits) and the mean over the squares
    that cover a pixel."""
    return two_passes(model, x) + ceil(patch / stride) ** 2


def captum_input(x: torch.Tensor) -> torch.Tensor:
    return x.clone().requires_grad_()


def in_our_layout(model: nn.Module):  # type: ignore[no-untyped-def]
    """``model`` run on the memory layout ours runs it on (channels_last), for Captum: the
    same float rounding. Otherwise an input that lands within rounding of a ReLU's kink
    takes the other branch in one of the two, and its gradient differs by far more than
    rounding (Hypothesis found one: Integrated Gradients, riemann_right, 10 steps)."""

    def forward(z: torch.Tensor) -> torch.Tensor:
        return model(z.contiguous(memory_format=torch.channels_last))

    return forward


def zoo(name: str, image: str) -> tuple[nn.Module, torch.Tensor]:
    return get_model(name), get_model_spec(name).preprocess(sample(image))[None]


MNIST = [("lenet5", "mnist-3.png", 3), ("simple-cnn", "mnist-7.png", 7)]


# --- each method against Captum on the MNIST models ------------------------------------------


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
def test_vanilla_gradient_is_captums_saliency(name, image, target):
    model, x = zoo(name, image)
    ours = VanillaGradient(model).attribute(x, target)
    terms = two_passes(model, x)
    theirs = Saliency(model).attribute(captum_input(x), target=target, abs=False)
    assert_matches(ours, theirs, terms=terms)
    absolute = Saliency(model).attribute(captum_input(x), target=target)  # Captum's default
    assert_matches(VanillaGradient.to_map(ours), absolute.amax(dim=1), terms=terms)


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
def test_smoothgrad_is_captums_noise_tunnel_with_the_same_noise(name, image, target):
    model, x = zoo(name, image)
    method = SmoothGrad(model, samples=12, noise=0.2, seed=7, batch_size=5)
    ours = method.attribute(x, target)
    torch.manual_seed(7)  # Captum draws from the global generator; ours from one seeded alike
    stdevs = float(method.stdevs(x)[0])
    theirs = NoiseTunnel(Saliency(model)).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=12,
        nt_samples_batch_size=5,
        stdevs=stdevs,
        target=target,
        abs=False,
    )
    scale = smoothgrad_scale(model, x, target, samples=12, batch=5, stdevs=stdevs, seed=7)
    assert_matches(ours, theirs, terms=two_passes(model, x) + 12, scale=scale)
    plain = VanillaGradient(model).attribute(x, target)
    assert (ours - plain).abs().max() > 1e-3 * plain.abs().max()  # the noise did something


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_left"])
def test_integrated_gradients_is_captums(name, image, target, rule):
    model, x = zoo(name, image)
    baseline = torch.full_like(x, float(x.min()))  # the background
    ours = IntegratedGradients(model, steps=24, rule=rule, batch_size=10).attribute(
        x, target, baseline=baseline
    )
    theirs = CaptumIG(model).attribute(
        captum_input(x), baseline, target=target, n_steps=24, method=rule, internal_batch_size=10
    )
    # the gradients' passes, their weighted sum over the 24 steps, the product by x − x'
    scale = integrated_scale(model, x, baseline, target, rule=rule, steps=24)
    assert_matches(ours, theirs, terms=two_passes(model, x) + 24 + 1, scale=scale)


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
@pytest.mark.parametrize("layer", ["conv1", "conv2"])
def test_grad_cam_is_captums_layer_grad_cam_upsampled(name, image, target, layer):
    model, x = zoo(name, image)
    ours = GradCam(model, layer).attribute(x, target)
    cam = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=target, relu_attributions=True
    )
    theirs = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear")
    assert ours.shape == (1, 1, *x.shape[-2:])
    extra, scale = grad_cam_bound(model, layer, x, target)
    terms = two_passes(model, x) + extra
    assert_matches(ours, theirs, terms=terms, scale=scale)
    assert_matches(
        GradCam(model, layer).layer_attribution(x, target), cam, terms=terms, scale=scale
    )


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
@pytest.mark.parametrize(("patch", "stride"), [(4, 2), (5, 3), (7, 7), (6, 1)])
def test_occlusion_is_captums(name, image, target, patch, stride):
    model, x = zoo(name, image)
    ours = Occlusion(model, patch=patch, stride=stride, batch_size=64).attribute(
        x, target, baseline=-0.1
    )
    theirs = CaptumOcclusion(model).attribute(
        x,
        sliding_window_shapes=(1, patch, patch),
        strides=stride,
        baselines=-0.1,
        target=target,
        perturbations_per_eval=16,
    )
    scale = occlusion_scale(model, x, patch=patch, stride=stride, baseline=-0.1)
    assert_matches(ours, theirs, terms=occlusion_terms(model, x, patch, stride), scale=scale)


# --- property tests over shapes and settings (a small network, against Captum) ---------------

images = st.tuples(
    st.sampled_from([1, 3]),  # channels
    st.integers(5, 18),  # height
    st.integers(5, 18),  # width
    st.integers(0, 2**16),  # seed
)


def random_input(channels, height, width, seed, n=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, channels, height, width, generator=generator)


@settings(max_examples=25, deadline=None)
@given(images, st.integers(1, 3), st.data())
def test_property_gradient_and_grad_cam(shape, n, data):
    x = random_input(*shape, n=n)
    model = tiny(shape[0], seed=shape[3] % 7)
    target = data.draw(
        st.one_of(st.integers(0, 4), st.lists(st.integers(0, 4), min_size=n, max_size=n))
    )
    batch = data.draw(st.integers(1, 4))
    ours = VanillaGradient(model, batch_size=batch).attribute(x, target)
    theirs = Saliency(in_our_layout(model)).attribute(captum_input(x), target=target, abs=False)
    assert_matches(ours, theirs, terms=two_passes(model, x))
    layer = data.draw(st.sampled_from(["conv1", "block", "block.conv", "block.bn", "block.act"]))
    cam = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=target, relu_attributions=True
    )
    theirs = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear")
    extra, scale = grad_cam_bound(model, layer, x, target)
    ours = GradCam(model, layer).attribute(x, target)
    assert_matches(ours, theirs, terms=two_passes(model, x) + extra, scale=scale)


@settings(max_examples=25, deadline=None)
@given(images, st.integers(1, 9), st.floats(0.0, 0.5), st.integers(1, 6), st.integers(0, 4))
def test_property_smoothgrad(shape, samples, noise, batch, target):
    x = random_input(*shape)
    model = tiny(shape[0])
    method = SmoothGrad(model, samples=samples, noise=noise, seed=shape[3], batch_size=batch)
    ours = method.attribute(x, target)
    torch.manual_seed(shape[3])
    stdevs = float(method.stdevs(x)[0])
    forward = in_our_layout(model)
    theirs = NoiseTunnel(Saliency(forward)).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=samples,
        nt_samples_batch_size=batch,
        stdevs=stdevs,
        target=target,
        abs=False,
    )
    scale = smoothgrad_scale(
        forward, x, target, samples=samples, batch=batch, stdevs=stdevs, seed=shape[3]
    )
    assert_matches(ours, theirs, terms=two_passes(model, x) + samples, scale=scale)


@settings(max_examples=25, deadline=None)
@given(
    images,
    st.integers(1, 3),
    st.sampled_from(["gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_right"]),
    st.integers(2, 12),
    st.integers(1, 8),
    st.floats(-1.0, 1.0),
)
@example(
    shape=(3, 9, 7, 508), n=2, rule="riemann_right", steps=10, batch=1, base=0.4538390589220509
)
def test_property_integrated_gradients(shape, n, rule, steps, batch, base):
    x = random_input(*shape, n=n)
    model = tiny(shape[0])
    ours = IntegratedGradients(model, steps=steps, rule=rule, batch_size=batch * n).attribute(
        x, 2, baseline=base
    )
    theirs = CaptumIG(in_our_layout(model)).attribute(
        captum_input(x), base, target=2, n_steps=steps, method=rule, internal_batch_size=batch * n
    )
    scale = integrated_scale(model, x, base, 2, rule=rule, steps=steps)
    assert_matches(ours, theirs, terms=two_passes(model, x) + steps + 1, scale=scale)


@settings(max_examples=15, deadline=None)
@given(images, st.integers(1, 2), st.data())
def test_property_occlusion(shape, n, data):
    channels, height, width, _ = shape
    x = random_input(*shape, n=n)
    model = tiny(channels)
    patch = data.draw(st.integers(1, min(height, width)))
    stride = data.draw(st.integers(1, patch))
    base = data.draw(st.floats(-1.0, 1.0))
    ours = Occlusion(model, patch=patch, stride=stride, batch_size=data.draw(st.integers(1, 50)))
    theirs = CaptumOcclusion(model).attribute(
        x,
        sliding_window_shapes=(channels, patch, patch),
        strides=stride,
        baselines=base,
        target=1,
        perturbations_per_eval=7,
    )
    scale = occlusion_scale(model, x, patch=patch, stride=stride, baseline=base)
    terms = occlusion_terms(model, x, patch, stride)
    assert_matches(ours.attribute(x, 1, baseline=base), theirs, terms=terms, scale=scale)


# --- EfficientNet-Lite0 at 224×224 ------------------------------------------------------------


@pytest.fixture(scope="module")
def efficientnet():
    model, x = zoo("efficientnet-lite0", "chelsea.png")
    return model, x, in_our_layout(model)


EGYPTIAN_CAT, TIGER_CAT = 285, 282


@pytest.mark.slow
def test_efficientnet_gradient_and_grad_cam_match_captum(efficientnet):
    model, x, forward = efficientnet
    terms = two_passes(model, x)
    for target in (EGYPTIAN_CAT, TIGER_CAT):
        ours = VanillaGradient(model).attribute(x, target)
        theirs = Saliency(forward).attribute(captum_input(x), target=target, abs=False)
        assert_matches(ours, theirs, terms=terms)
        plain = Saliency(model).attribute(captum_input(x), target=target, abs=False)
        # the default layout too, as a whole: there a ReLU within rounding of its kink may
        # take the other branch, which changes a few pixels by more than rounding
        assert float((ours - plain).norm() / plain.norm()) < terms * epsilon(torch.float32)
        cam = LayerGradCam(forward, model.head).attribute(x, target=target, relu_attributions=True)
        theirs = LayerAttribution.interpolate(cam, (224, 224), "bilinear")
        extra, scale = grad_cam_bound(model, "head", x, target)
        ours = GradCam(model, "head").attribute(x, target)
        assert_matches(ours, theirs, terms=terms + extra, scale=scale)


@pytest.mark.slow
def test_efficientnet_smoothgrad_integrated_gradients_and_occlusion_match_captum(efficientnet):
    model, x, forward = efficientnet
    terms = two_passes(model, x)
    method = SmoothGrad(model, samples=6, noise=0.1, seed=3, batch_size=3)
    torch.manual_seed(3)
    stdevs = float(method.stdevs(x)[0])
    theirs = NoiseTunnel(Saliency(forward)).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=6,
        nt_samples_batch_size=3,
        stdevs=stdevs,
        target=EGYPTIAN_CAT,
        abs=False,
    )
    scale = smoothgrad_scale(forward, x, EGYPTIAN_CAT, samples=6, batch=3, stdevs=stdevs, seed=3)
    assert_matches(method.attribute(x, EGYPTIAN_CAT), theirs, terms=terms + 6, scale=scale)
    black = torch.full_like(x, -127 / 128)
    ours = IntegratedGradients(model, steps=6, batch_size=3).attribute(
        x, EGYPTIAN_CAT, baseline=black
    )
    theirs = CaptumIG(forward).attribute(
        captum_input(x), black, target=EGYPTIAN_CAT, n_steps=6, internal_batch_size=3
    )
    scale = integrated_scale(model, x, black, EGYPTIAN_CAT, steps=6)
    assert_matches(ours, theirs, terms=terms + 6 + 1, scale=scale)
    ours = Occlusion(model, patch=64, stride=64).attribute(x, EGYPTIAN_CAT)
    theirs = CaptumOcclusion(forward).attribute(
        x, sliding_window_shapes=(3, 64, 64), strides=64, target=EGYPTIAN_CAT,
        perturbations_per_eval=8,
    )  # fmt: skip
    scale = occlusion_scale(model, x, patch=64, stride=64)
    assert_matches(ours, theirs, terms=occlusion_terms(model, x, 64, 64), scale=scale)


# --- what the papers say -------------------------------------------------------------------


def test_on_a_linear_model_the_methods_have_their_closed_forms():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 5, 3)).eval().requires_grad_(False)
    x = torch.randn(1, 2, 4, 5)
    weights = model[1].weight[1].view(1, 2, 4, 5)
    # the gradient of a linear function is its weight row: 1·w plus zeros, exactly
    assert torch.equal(VanillaGradient(model).attribute(x, 1), weights)
    # the mean of 5 copies of it: 5 roundings of the sum and the division
    assert_close(SmoothGrad(model, samples=5).attribute(x, 1), weights, terms=5 + 1)
    baseline = torch.randn(1, 2, 4, 5)
    ig = IntegratedGradients(model, steps=3).attribute(x, 1, baseline=baseline)
    # exact for a linear function, up to float32: the 3 weights (Σ w_k = 1), their sum, ×
    assert_close(ig, (x - baseline) * weights, terms=3 + 3 + 1)
    occluded = Occlusion(model, patch=1, stride=1).attribute(x, 1, baseline=0.0)
    # a difference of two logits: two sums of 40 products and the bias, which cancel
    logit = float((x * weights).abs().sum() + model[1].bias[1].abs())
    expected = (x * weights).sum(1, keepdim=True).expand_as(x)
    assert_close(occluded, expected, terms=2 * network_terms(model), scale=logit)


def test_integrated_gradients_add_up_to_the_score_difference():
    model, x = zoo("lenet5", "mnist-3.png")
    black = torch.full_like(x, -0.1)
    method = IntegratedGradients(model, steps=64)
    attribution = method.attribute(x, 3, baseline=black)
    delta = method.convergence_delta(attribution, x, 3, baseline=black)
    with torch.inference_mode():
        gap = float(model(x)[0, 3] - model(black)[0, 3])
    assert abs(float(delta[0])) < 0.01 * abs(gap)  # completeness (Sundararajan et al.)
    # the same 1,024 signed values (one channel) summed in another shape: they cancel
    total = IntegratedGradients.to_map(attribution).sum()
    assert float(total) == approx(
        float(attribution.sum()), terms=attribution.numel(), scale=float(attribution.abs().sum())
    )


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("steps", [2, 5, 50, 300])
def test_quadrature_is_captums(rule, steps):
    sizes, alphas = approximation_parameters(rule)
    ours_alphas, ours_weights = quadrature(rule, steps)
    assert ours_alphas.tolist() == torch.tensor(alphas(steps)).float().tolist()
    assert ours_weights.tolist() == torch.tensor(sizes(steps)).float().tolist()


def test_gauss_legendre_is_exact_for_polynomials_and_captums_trapezoid_is_not():
    alphas, weights = quadrature("gausslegendre", 5)
    for degree in range(10):  # exact up to degree 2·5 − 1
        integral = float((weights.double() * alphas.double() ** degree).sum())
        # up to the float32 nodes and weights: α^d has d roundings' worth, w one
        assert integral == approx(1 / (degree + 1), terms=degree + 1)
    _, weights = quadrature("riemann_trapezoid", 10)
    # Captum's 1/n steps: 1 − 1/n in all, up to 10 float32 weights and their float32 sum
    assert float(weights.sum()) == approx(0.9, terms=10 + 1)


def test_the_maps_reduce_channels_as_the_papers_do():
    attribution = torch.tensor([[[[1.0, -3.0]], [[-2.0, 0.5]], [[0.0, 1.0]]]])  # (1, 3, 1, 2)
    assert VanillaGradient.to_map(attribution).tolist() == [[[2.0, 3.0]]]  # max |·|
    assert SmoothGrad.to_map(attribution).tolist() == [[[2.0, 3.0]]]
    assert IntegratedGradients.to_map(attribution).tolist() == [[[-1.0, -1.5]]]  # Σ, signed
    assert Occlusion.to_map(attribution).tolist() == [[[1.0, -3.0]]]
    assert GradCam.to_map(attribution[:, :1]).tolist() == [[[1.0, -3.0]]]


def test_batches_do_not_change_the_result():
    # in float64 (a copy of the shared model): a batch of 1 and one of 100 round alike
    # within float64's bound, which any batching mistake would exceed by far
    shared, x32 = zoo("simple-cnn", "mnist-4.png")
    model, x = copy.deepcopy(shared).double(), x32.double()
    terms = two_passes(model, x)
    cases = (
        (lambda b: SmoothGrad(model, samples=7, batch_size=b), terms + 7, None),
        (lambda b: IntegratedGradients(model, steps=9, batch_size=b), terms + 9 + 1, None),
        (
            lambda b: Occlusion(model, patch=4, stride=3, batch_size=b),
            occlusion_terms(model, x, 4, 3),
            occlusion_scale(model, x, patch=4, stride=3),
        ),
    )
    for method, count, scale in cases:
        one, hundred = method(1).attribute(x, 4), method(100).attribute(x, 4)
        assert one.dtype == hundred.dtype == torch.float64
        assert_close(one, hundred, terms=count, scale=scale)


# --- progress, cancellation, and the shared models ---------------------------------------------


class Counting(nn.Module):
    """A network that counts its forward passes."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.passes = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.passes += 1
        return self.inner(x)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: (SmoothGrad(m, samples=10, batch_size=2), {}),
        lambda m: (IntegratedGradients(m, steps=10, batch_size=2), {"baseline": 0.0}),
        lambda m: (Occlusion(m, patch=3, stride=3, batch_size=2), {"baseline": 0.0}),
    ],
)
def test_long_methods_report_progress_and_stop_when_cancelled(make):
    model = Counting(tiny(1))
    x = torch.randn(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    method, extra = make(model)
    seen: list[float] = []
    method.attribute(x, 0, progress=seen.append, **extra)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen) and len(seen) >= 6
    full = model.passes
    model.passes = 0

    def cancel_after_first(fraction: float) -> None:
        if fraction > 0:
            raise Cancelled

    with pytest.raises(Cancelled):
        method.attribute(x, 0, progress=cancel_after_first, **extra)
    assert 1 <= model.passes <= 2 < full  # one batch (and occlusion's reference pass)


def test_the_shared_model_is_left_as_it_was():
    model, x = zoo("lenet5", "mnist-5.png")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for method in (
        VanillaGradient(model),
        SmoothGrad(model, samples=3),
        IntegratedGradients(model, steps=3),
        GradCam(model, "conv2"),
        Occlusion(model, patch=8, stride=8),
    ):
        method.attribute(x, 5)
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())
    assert not any(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_no_hook_survives_a_failing_grad_cam():
    model, x = zoo("lenet5", "mnist-5.png")
    with pytest.raises(ValueError, match="class index must be from 0 to 9"):
        GradCam(model, "conv2").attribute(x, 10)
    assert all(not m._forward_hooks for m in model.modules())


def test_concurrent_maps_on_one_shared_model_do_not_mix():
    model = get_model("simple-cnn")
    inputs = [
        torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(i)) for i in range(6)
    ]
    expected = [
        (GradCam(model, "conv2").attribute(x, i), VanillaGradient(model).attribute(x, i))
        for i, x in enumerate(inputs)
    ]
    results: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    barrier = threading.Barrier(len(inputs))

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(5):
            results[i] = (
                GradCam(model, "conv2").attribute(inputs[i], i),
                VanillaGradient(model).attribute(inputs[i], i),
            )

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the same computations: within rounding (another thread may split a sum otherwise),
    # where a map of another input or class would be off by far more
    terms = two_passes(model, inputs[0])
    for i, (cam, grad) in enumerate(expected):
        extra, scale = grad_cam_bound(model, "conv2", inputs[i], i)
        assert_close(results[i][0], cam, terms=terms + extra, scale=scale)
        assert_close(results[i][1], grad, terms=terms)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda m: SmoothGrad(m, samples=101), "samples must be a whole number from 1 to 100"),
        (lambda m: SmoothGrad(m, samples=2.5), "samples must be a whole number"),
        (lambda m: SmoothGrad(m, noise=1.5), "noise must be a number from 0 to 1"),
        (lambda m: SmoothGrad(m, noise=float("nan")), "noise must be a number"),
        (lambda m: IntegratedGradients(m, steps=301), "steps must be a whole number from 1 to 300"),
        (lambda m: IntegratedGradients(m, steps=True), "steps must be a whole number"),
        (lambda m: IntegratedGradients(m, rule="simpson"), "rule must be one of gausslegendre"),
        (lambda m: IntegratedGradients(m, steps=1, rule="riemann_left"), "at least 2 steps"),
        (lambda m: Occlusion(m, patch=113), "patch must be a whole number from 1 to 112"),
        (lambda m: Occlusion(m, patch=4, stride=5), "must not exceed the patch"),
        (lambda m: Occlusion(m, patch=4, stride=0), "stride must be a whole number from 1"),
        (lambda m: GradCam(m, "conv9"), "Unknown layer 'conv9': the convolution layers are"),
        (lambda m: GradCam(m, "pool1"), "pool1 is a AvgPool2d layer, not a convolution"),
        (lambda m: GradCam(m, "fc1"), "fc1 is a Linear layer, not a convolution"),
        (lambda m: VanillaGradient(m, batch_size=0), "batch_size must be a whole number"),
    ],
)
def test_settings_over_their_caps_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make(get_model("lenet5"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x: VanillaGradient(m).attribute(x, 10), "class index must be from 0 to 9"),
        (lambda m, x: VanillaGradient(m).attribute(x, -1), "class index must be a whole number"),
        (lambda m, x: SmoothGrad(m).attribute(x, 12), "class index must be from 0 to 9"),
        (lambda m, x: VanillaGradient(m).attribute(x, [1, 2]), "one target class per image"),
        (lambda m, x: VanillaGradient(m).attribute(x[0], 1), "expected a float batch"),
        (lambda m, x: VanillaGradient(m).attribute(x * float("nan"), 1), "NaN"),
        (
            lambda m, x: Occlusion(m, patch=40, stride=4).attribute(x, 1),
            "patch must be a whole number from 1 to 112|larger than the 32×32 image",
        ),
        (lambda m, x: Occlusion(m, patch=33).attribute(x, 1), "larger than the 32×32 image"),
        (
            lambda m, x: IntegratedGradients(m).attribute(x, 1, baseline=torch.zeros(2, 5)),
            "does not fit the input",
        ),
    ],
)
def test_bad_input_is_refused_with_a_sentence(call, message):
    model, x = zoo("lenet5", "mnist-1.png")
    with pytest.raises(ValueError, match=message):
        call(model, x)


def test_too_many_occlusion_positions_are_refused_before_any_work():
    model = Counting(get_model("efficientnet-lite0"))
    with pytest.raises(ValueError, match=r"needs 50,176 positions .* at most 4,096"):
        Occlusion(model, patch=1, stride=1).attribute(torch.zeros(1, 3, 224, 224), 1)
    assert model.passes == 0


def test_every_method_describes_itself():
    for name, cls in METHODS.items():
        description = cls.describe()
        assert description["name"] == name
        assert set(description) == {"name", "title", "paper", "reduction", "signed", "params"}
        assert description["paper"].endswith(tuple("0123456789."))


# --- explain: the attribution with the logits of the input -----------------------------------


def grad_cam_terms(model: nn.Module, x: torch.Tensor, target) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    extra, scale = grad_cam_bound(model, "conv2", x, target)
    return two_passes(model, x) + extra, scale


@pytest.mark.parametrize(
    ("make", "bound"),
    [  # bound: how far explain's own pass may round otherwise; None: explain calls attribute
        (lambda m: (VanillaGradient(m), {}), lambda m, x, t: (two_passes(m, x), None)),
        (lambda m: (GradCam(m, "conv2"), {}), grad_cam_terms),
        (lambda m: (SmoothGrad(m, samples=4), {}), None),
        (lambda m: (IntegratedGradients(m, steps=4), {"baseline": -0.1}), None),
        (lambda m: (Occlusion(m, patch=8, stride=8), {"baseline": -0.1}), None),
    ],
)
def test_explain_defaults_to_the_top_class_and_returns_the_logits(make, bound):
    model, x = zoo("lenet5", "mnist-3.png")
    x = torch.cat([x, zoo("lenet5", "mnist-8.png")[1]])  # two digits
    method, options = make(model)
    explained = method.explain(x, progress=None, **options)
    with torch.inference_mode():
        logits = model(x)
    assert_close(explained.logits, logits, terms=network_terms(model))
    assert explained.target.tolist() == [3, 8]
    chosen = method.explain(x, [5, 5], **options)
    assert chosen.target.tolist() == [5, 5]
    for found, target in ((explained, [3, 8]), (chosen, 5)):
        attribution = method.attribute(x, target, **options)
        if bound is None:  # the same computation on the same tensors
            assert torch.equal(found.attribution, attribution)
        else:
            terms, scale = bound(model, x, target)
            assert_close(found.attribution, attribution, terms=terms, scale=scale)
