"""Every saliency method against Captum's implementation of it: same model, input and
settings (the same noise for SmoothGrad), within float tolerance; plus the properties the
papers state, progress and cancellation, and the shared models left untouched."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

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


def assert_matches(ours: torch.Tensor, theirs: torch.Tensor, floor: float = 0.0) -> None:
    """Equal within float32 rounding, relative to the largest value (or to ``floor``: an
    occlusion value is a difference of two logits, as precise as the logits are)."""
    theirs = theirs.detach()
    scale = float(theirs.abs().max()) or 1.0
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=max(1e-5 * scale, floor))


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
    assert_matches(ours, Saliency(model).attribute(captum_input(x), target=target, abs=False))
    absolute = Saliency(model).attribute(captum_input(x), target=target)  # Captum's default
    assert_matches(VanillaGradient.to_map(ours), absolute.amax(dim=1))


@pytest.mark.parametrize(("name", "image", "target"), MNIST)
def test_smoothgrad_is_captums_noise_tunnel_with_the_same_noise(name, image, target):
    model, x = zoo(name, image)
    method = SmoothGrad(model, samples=12, noise=0.2, seed=7, batch_size=5)
    ours = method.attribute(x, target)
    torch.manual_seed(7)  # Captum draws from the global generator; ours from one seeded alike
    theirs = NoiseTunnel(Saliency(model)).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=12,
        nt_samples_batch_size=5,
        stdevs=float(method.stdevs(x)[0]),
        target=target,
        abs=False,
    )
    assert_matches(ours, theirs)
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
    assert_matches(ours, theirs)


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
    assert_matches(ours, theirs)
    assert_matches(GradCam(model, layer).layer_attribution(x, target), cam)


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
    assert_matches(ours, theirs)


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
    assert_matches(ours, theirs)
    layer = data.draw(st.sampled_from(["conv1", "block", "block.conv", "block.bn", "block.act"]))
    cam = LayerGradCam(model, model.get_submodule(layer)).attribute(
        x, target=target, relu_attributions=True
    )
    theirs = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear")
    assert_matches(GradCam(model, layer).attribute(x, target), theirs)


@settings(max_examples=25, deadline=None)
@given(images, st.integers(1, 9), st.floats(0.0, 0.5), st.integers(1, 6), st.integers(0, 4))
def test_property_smoothgrad(shape, samples, noise, batch, target):
    x = random_input(*shape)
    model = tiny(shape[0])
    method = SmoothGrad(model, samples=samples, noise=noise, seed=shape[3], batch_size=batch)
    ours = method.attribute(x, target)
    torch.manual_seed(shape[3])
    theirs = NoiseTunnel(Saliency(in_our_layout(model))).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=samples,
        nt_samples_batch_size=batch,
        stdevs=float(method.stdevs(x)[0]),
        target=target,
        abs=False,
    )
    assert_matches(ours, theirs)


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
    assert_matches(ours, theirs)


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
    assert_matches(ours.attribute(x, 1, baseline=base), theirs, floor=1e-6)


# --- EfficientNet-Lite0 at 224×224 ------------------------------------------------------------


@pytest.fixture(scope="module")
def efficientnet():
    model, x = zoo("efficientnet-lite0", "chelsea.png")
    return model, x, in_our_layout(model)


EGYPTIAN_CAT, TIGER_CAT = 285, 282


@pytest.mark.slow
def test_efficientnet_gradient_and_grad_cam_match_captum(efficientnet):
    model, x, forward = efficientnet
    for target in (EGYPTIAN_CAT, TIGER_CAT):
        ours = VanillaGradient(model).attribute(x, target)
        assert_matches(ours, Saliency(forward).attribute(captum_input(x), target=target, abs=False))
        plain = Saliency(model).attribute(captum_input(x), target=target, abs=False)
        assert float((ours - plain).norm() / plain.norm()) < 1e-4  # the default layout too
        cam = LayerGradCam(forward, model.head).attribute(x, target=target, relu_attributions=True)
        theirs = LayerAttribution.interpolate(cam, (224, 224), "bilinear")
        assert_matches(GradCam(model, "head").attribute(x, target), theirs)


@pytest.mark.slow
def test_efficientnet_smoothgrad_integrated_gradients_and_occlusion_match_captum(efficientnet):
    model, x, forward = efficientnet
    method = SmoothGrad(model, samples=6, noise=0.1, seed=3, batch_size=3)
    torch.manual_seed(3)
    theirs = NoiseTunnel(Saliency(forward)).attribute(
        captum_input(x),
        nt_type="smoothgrad",
        nt_samples=6,
        nt_samples_batch_size=3,
        stdevs=float(method.stdevs(x)[0]),
        target=EGYPTIAN_CAT,
        abs=False,
    )
    assert_matches(method.attribute(x, EGYPTIAN_CAT), theirs)
    black = torch.full_like(x, -127 / 128)
    ours = IntegratedGradients(model, steps=6, batch_size=3).attribute(
        x, EGYPTIAN_CAT, baseline=black
    )
    theirs = CaptumIG(forward).attribute(
        captum_input(x), black, target=EGYPTIAN_CAT, n_steps=6, internal_batch_size=3
    )
    assert_matches(ours, theirs)
    ours = Occlusion(model, patch=64, stride=64).attribute(x, EGYPTIAN_CAT)
    theirs = CaptumOcclusion(forward).attribute(
        x, sliding_window_shapes=(3, 64, 64), strides=64, target=EGYPTIAN_CAT,
        perturbations_per_eval=8,
    )  # fmt: skip
    assert_matches(ours, theirs)


# --- what the papers say -------------------------------------------------------------------


def test_on_a_linear_model_the_methods_have_their_closed_forms():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 5, 3)).eval().requires_grad_(False)
    x = torch.randn(1, 2, 4, 5)
    weights = model[1].weight[1].view(1, 2, 4, 5)
    torch.testing.assert_close(VanillaGradient(model).attribute(x, 1), weights)
    torch.testing.assert_close(SmoothGrad(model, samples=5).attribute(x, 1), weights)
    baseline = torch.randn(1, 2, 4, 5)
    ig = IntegratedGradients(model, steps=3).attribute(x, 1, baseline=baseline)
    torch.testing.assert_close(ig, (x - baseline) * weights)  # exact for a linear function
    occluded = Occlusion(model, patch=1, stride=1).attribute(x, 1, baseline=0.0)
    torch.testing.assert_close(occluded, (x * weights).sum(1, keepdim=True).expand_as(x))


def test_integrated_gradients_add_up_to_the_score_difference():
    model, x = zoo("lenet5", "mnist-3.png")
    black = torch.full_like(x, -0.1)
    method = IntegratedGradients(model, steps=64)
    attribution = method.attribute(x, 3, baseline=black)
    delta = method.convergence_delta(attribution, x, 3, baseline=black)
    with torch.inference_mode():
        gap = float(model(x)[0, 3] - model(black)[0, 3])
    assert abs(float(delta[0])) < 0.01 * abs(gap)  # completeness (Sundararajan et al.)
    assert float(IntegratedGradients.to_map(attribution).sum()) == pytest.approx(
        float(attribution.sum()), rel=1e-5
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
        assert integral == pytest.approx(1 / (degree + 1), rel=1e-5)
    _, weights = quadrature("riemann_trapezoid", 10)
    assert float(weights.sum()) == pytest.approx(0.9)  # Captum's 1/n steps: 1 − 1/n in all


def test_the_maps_reduce_channels_as_the_papers_do():
    attribution = torch.tensor([[[[1.0, -3.0]], [[-2.0, 0.5]], [[0.0, 1.0]]]])  # (1, 3, 1, 2)
    assert VanillaGradient.to_map(attribution).tolist() == [[[2.0, 3.0]]]  # max |·|
    assert SmoothGrad.to_map(attribution).tolist() == [[[2.0, 3.0]]]
    assert IntegratedGradients.to_map(attribution).tolist() == [[[-1.0, -1.5]]]  # Σ, signed
    assert Occlusion.to_map(attribution).tolist() == [[[1.0, -3.0]]]
    assert GradCam.to_map(attribution[:, :1]).tolist() == [[[1.0, -3.0]]]


def test_batches_do_not_change_the_result():
    model, x = zoo("simple-cnn", "mnist-4.png")
    for method in (
        lambda b: SmoothGrad(model, samples=7, batch_size=b),
        lambda b: IntegratedGradients(model, steps=9, batch_size=b),
        lambda b: Occlusion(model, patch=4, stride=3, batch_size=b),
    ):
        torch.testing.assert_close(
            method(1).attribute(x, 4), method(100).attribute(x, 4), rtol=1e-5, atol=1e-6
        )


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
    x = torch.randn(1, 1, 12, 12)
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
    for i, (cam, grad) in enumerate(expected):
        torch.testing.assert_close(results[i][0], cam)
        torch.testing.assert_close(results[i][1], grad)


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


@pytest.mark.parametrize(
    "make",
    [
        lambda m: (VanillaGradient(m), {}),
        lambda m: (GradCam(m, "conv2"), {}),
        lambda m: (SmoothGrad(m, samples=4), {}),
        lambda m: (IntegratedGradients(m, steps=4), {"baseline": -0.1}),
        lambda m: (Occlusion(m, patch=8, stride=8), {"baseline": -0.1}),
    ],
)
def test_explain_defaults_to_the_top_class_and_returns_the_logits(make):
    model, x = zoo("lenet5", "mnist-3.png")
    x = torch.cat([x, zoo("lenet5", "mnist-8.png")[1]])  # two digits
    method, options = make(model)
    explained = method.explain(x, progress=None, **options)
    with torch.inference_mode():
        logits = model(x)
    torch.testing.assert_close(explained.logits, logits, rtol=1e-5, atol=1e-5)
    assert explained.target.tolist() == [3, 8]
    torch.testing.assert_close(explained.attribution, method.attribute(x, [3, 8], **options))
    chosen = method.explain(x, [5, 5], **options)
    assert chosen.target.tolist() == [5, 5]
    torch.testing.assert_close(chosen.attribution, method.attribute(x, 5, **options))
