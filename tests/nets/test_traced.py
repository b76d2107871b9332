"""The traced passes (app.nets.traced): the same logits, input gradients and Grad-CAM as the
eager network; a forward that tracing would change keeps the eager module."""

from __future__ import annotations

import threading

import torch
from torch import nn

from app.explain.saliency import GradCam, VanillaGradient
from app.nets.registry import get_network
from app.nets.traced import TracedPass, run, trace
from tests.utils.samples import sample
from tests.utils.tolerance import assert_close, network_terms


def test_efficientnet_traced_computes_what_the_folded_network_computes():
    network = get_network("efficientnet-lite0")
    passes = network.for_passes
    assert isinstance(passes, TracedPass)
    folded = network.folded.module
    x = torch.stack([network.preprocess(sample(name)) for name in ("chelsea.png", "coffee.png")])
    terms = network_terms(network.module, passes=2)
    with torch.no_grad():
        eager = folded(x)
        assert_close(passes(x), eager, terms=terms, scale=float(eager.abs().max()))
    ours = VanillaGradient(passes).attribute(x, [285, 967])  # batch of two, traced at one
    theirs = VanillaGradient(folded).attribute(x, [285, 967])
    assert_close(ours, theirs, terms=terms)
    assert torch._C._get_graph_executor_optimize()  # run() left this thread's setting


def test_grad_cam_on_the_traced_pass_is_grad_cam_on_the_network():
    network = get_network("efficientnet-lite0")
    method, _ = GradCam.build(network, torch.empty(0), {"layer": "head"})
    assert isinstance(method, GradCam) and method.traced is not None
    x = network.preprocess(sample("chelsea.png"))[None]
    eager = GradCam(network.folded.module, "head")
    ours, theirs = method.attribute(x, 285), eager.attribute(x, 285)
    scale = float(theirs.abs().max())
    assert_close(ours, theirs, terms=network_terms(network.module, passes=2), scale=scale)
    on_conv, _ = GradCam.build(network, torch.empty(0), {"layer": "head.conv"})
    assert on_conv.traced is None  # a layer the fold changes: the network itself


class _DependsOnTheBatch(nn.Module):
    """A forward whose steps depend on its input: tracing would keep one branch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(1)
        return y * 2 if x.shape[0] == 1 else y


class _Untraceable(nn.Module):
    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"scores": x.flatten(1)}


def test_no_trace_where_tracing_would_change_the_function():
    device = torch.device("cpu")
    assert trace(_DependsOnTheBatch().eval(), (1, 8, 8), device) is None
    assert trace(_Untraceable().eval(), (1, 8, 8), device) is None
    plain = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten()).eval()
    traced = trace(plain, (1, 8, 8), device)
    assert traced is not None
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(run(traced, x), plain(x))


def test_the_layer_is_read_from_this_threads_pass_only():
    """Another thread running the shared module while a pass is traced does not lend it
    its layer output."""
    from app.nets.traced import _WithLayer

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
    other = torch.randn(1, 1, 8, 8)

    def meanwhile(_module: nn.Module, _args: object) -> None:
        thread = threading.Thread(target=lambda: model[0](other))
        thread.start()
        thread.join()

    model.register_forward_pre_hook(meanwhile)
    x = torch.randn(1, 1, 8, 8)
    with torch.no_grad():
        _, layer = _WithLayer(model, "0")(x)
        assert torch.equal(layer, model[0](x))
