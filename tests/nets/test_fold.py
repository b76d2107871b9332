"""BatchNorm folded into the convolution before it: the same outputs and input gradients as
``F.conv2d`` then ``F.batch_norm`` (property test over shapes and settings) and as the zoo's
EfficientNet-Lite0; the shared module untouched; no fold where it would change the function.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from app.explain.saliency import GradCam
from app.nets.fold import fold_batchnorm
from app.nets.network import Network
from app.nets.registry import get_model_spec, get_network
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, magnitude, network_terms, tolerance


@settings(max_examples=40, deadline=None)
@given(
    channels_in=st.integers(1, 4),
    per_group=st.integers(1, 3),
    groups=st.integers(1, 3),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    bias=st.booleans(),
    affine=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_folded_pair_is_conv_then_batchnorm(
    channels_in, per_group, groups, kernel, stride, padding, bias, affine, seed
):
    generator = torch.Generator().manual_seed(seed)
    c_in, c_out = channels_in * groups, per_group * groups
    conv = nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=bias)
    bn = nn.BatchNorm2d(c_out, eps=1e-3, affine=affine)
    with torch.no_grad():  # trained-looking statistics and scales
        bn.running_mean.normal_(0, 2, generator=generator)
        bn.running_var.uniform_(0.01, 4, generator=generator)
        if affine:
            bn.weight.normal_(1, 0.5, generator=generator)
            bn.bias.normal_(0, 1, generator=generator)
    model = nn.Sequential(conv, bn, nn.ReLU()).eval()
    x = torch.randn(2, c_in, kernel + 5, kernel + 6, generator=generator)
    folded = fold_batchnorm(model)
    assert folded.convs == {"0"} and isinstance(folded.module[1], nn.Identity)
    assert isinstance(model[1], nn.BatchNorm2d) and (conv.bias is None) == (not bias)

    def reference(z: torch.Tensor) -> torch.Tensor:  # float64, from the unfolded tensors
        y = F.conv2d(z.double(), conv.weight.double(), None if conv.bias is None else
                     conv.bias.double(), stride, padding, 1, groups)  # fmt: skip
        gamma = bn.weight.double() if affine else None
        beta = bn.bias.double() if affine else None
        y = F.batch_norm(y, bn.running_mean.double(), bn.running_var.double(), gamma, beta,
                         training=False, eps=bn.eps)  # fmt: skip
        return F.relu(y)

    scale = magnitude(F.conv2d, x, conv.weight, None, stride, padding, 1, groups)
    scale *= float((bn.weight.detach().abs() if affine else torch.ones(1)).max())
    scale /= float(torch.sqrt(bn.running_var.min() + bn.eps))
    scale += float(bn.running_mean.abs().max()) + (
        float(bn.bias.detach().abs().max()) if affine else 0
    )
    terms = c_in // groups * kernel * kernel + 8
    assert_close(folded.module(x), reference(x), terms=terms, scale=scale, dtype=torch.float32)
    ours = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(folded.module(ours).sum(), ours)
    theirs = x.double().requires_grad_()
    (expected,) = torch.autograd.grad(reference(theirs).sum(), theirs)
    assert_close(grad, expected, terms=2 * terms, scale=scale, dtype=torch.float32)


def test_efficientnet_folded_gives_the_same_logits_and_gradients():
    """In float64 the folded network's logits and input gradients are the network's; in
    float32 too, but for the rare pixel whose path crosses a ReLU6 at its kink (0 or 6)
    within a rounding, where the gradient switches on or off."""
    network = get_network("efficientnet-lite0")
    model = network.module
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = network.folded
    assert len(folded.convs) == 49 and "head.conv" in folded.convs  # every convolution
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.module.modules())
    x = network.preprocess(sample("chelsea.png"))[None]
    terms = network_terms(model, passes=2)
    with torch.no_grad():
        own = model(x)
        assert_close(folded.module(x), own, terms=terms, scale=float(own.abs().max()))

    def gradient(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
        leaf = z.clone().requires_grad_()
        return torch.autograd.grad(module(leaf)[0, 285], leaf)[0]

    exact = [copy.deepcopy(model).double()]
    exact.append(fold_batchnorm(exact[0]).module)  # folded in float64
    assert_close(gradient(exact[1], x.double()), gradient(exact[0], x.double()), terms=terms)
    ours, theirs = gradient(folded.module, x), gradient(model, x)
    bounds = tolerance(torch.float32, scale=float(theirs.abs().max()), terms=terms)
    close = torch.isclose(ours, theirs, rtol=bounds["rtol"], atol=bounds["atol"])
    assert close.float().mean() > 0.995  # measured: 77 of 150,528 elements off
    after = model.state_dict()  # the shared module is untouched
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_grad_cam_runs_folded_unless_its_layer_was_folded():
    network = get_network("efficientnet-lite0")
    assert GradCam.model_for(network, {"layer": "head"}) is network.folded.module
    assert GradCam.model_for(network, {"layer": "head.act"}) is network.folded.module
    assert GradCam.model_for(network, {"layer": "head.bn"}) is network.module  # now Identity
    assert GradCam.model_for(network, {"layer": "head.conv"}) is network.module
    x = network.preprocess(sample("chelsea.png"))[None]
    cams = [GradCam(m, "head").attribute(x, 285) for m in (network.module, network.folded.module)]
    scale = float(cams[0].abs().max())
    assert_close(cams[1], cams[0], terms=network_terms(network.module, passes=2), scale=scale)


class _ReadsTheConvolution(nn.Module):
    """A forward that uses its first convolution's output without its BatchNorm too."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.fc = nn.Linear(4 * 30 * 30 * 2, 10)  # LeNet-5's 32×32 input
        with torch.no_grad():
            self.features[1].running_mean.fill_(3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        both = torch.cat((self.features(x), self.features[0](x)), dim=1)
        return self.fc(both.flatten(1))


def test_no_fold_where_the_function_would_change():
    shared = nn.Conv2d(1, 4, 3)
    reused = nn.Sequential(nn.Sequential(shared, nn.BatchNorm2d(4)), nn.Sequential(shared))
    assert fold_batchnorm(reused).convs == frozenset()  # one convolution in two places
    spec = replace(get_model_spec("lenet5"), name="reads-its-convolution")
    network = Network(spec=spec, module=_ReadsTheConvolution().eval())
    assert fold_batchnorm(network.module).convs == {"features.0"}  # foldable by its shape,
    folded = network.folded  # but the logits would change: the module itself is used
    assert folded.module is network.module and folded.convs == frozenset()
